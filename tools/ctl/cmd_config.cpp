// check-config FILE: the same diagnostics as vcgated --check-config.
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "gateway/config/config.h"
#include "gateway/core/uri.h"
#include "tools/ctl/ctl.h"

namespace vcgate::ctl {

void addConfigCommands(CLI::App& app, Ctl& ctl) {
  auto file = std::make_shared<std::string>();
  auto* check = app.add_subcommand("check-config",
                                   "Validate a config file without starting anything (like vcgated "
                                   "--check-config)");
  check->add_option("file", *file, "The YAML file, e.g. /etc/vcgate/vcgate.yaml")->required();
  check->footer(
      "Prints every problem as FILE:LINE:COLUMN: error: WHY, like a compiler.\n"
      "JSON: {file, valid, site, cameras[{id, uri}], publish[], control, problems[{file, line, column, "
      "message, text}]}.\n"
      "Exit codes: 0 valid, 1 invalid or unreadable, 2 usage.");
  check->callback([&ctl, file] {
    const auto loaded = config::loadConfigFile(*file);
    json problems = json::array();
    for (const auto& d : loaded.diagnostics)
      problems.push_back(
          {{"file", d.file}, {"line", d.line}, {"column", d.column}, {"message", d.message}, {"text", d.format()}});
    if (ctl.options.json) {
      json out = {{"file", *file}, {"valid", loaded.ok()}, {"problems", problems}};
      if (loaded.ok()) {
        json cameras = json::array();
        for (const auto& c : loaded.config->cameras) cameras.push_back({{"id", c.id}, {"uri", core::redactUri(c.uri)}});
        out["site"] = loaded.config->site.id;
        out["cameras"] = cameras;
        out["publish"] = loaded.config->bus.publish;
        out["control"] = loaded.config->bus.control;
      }
      printJson(out);
    } else if (loaded.ok()) {
      const auto& c = *loaded.config;
      fmt::print("{}: valid ({} camera(s))\n", *file, c.cameras.size());
      fmt::print("  site     {}{}\n", c.site.id, c.site.name.empty() ? "" : " (" + c.site.name + ")");
      for (const auto& camera : c.cameras)
        fmt::print("  camera   {:<14} {}{}\n", camera.id, core::redactUri(camera.uri),
                   camera.enabled ? "" : " (disabled)");
      std::string publish;
      for (const auto& e : c.bus.publish) publish += (publish.empty() ? "" : ", ") + e;
      fmt::print("  publish  {}\n  control  {}\n", publish, c.bus.control);
    } else {
      for (const auto& d : loaded.diagnostics) fmt::print("{}\n", d.format());
      fmt::print("{} problem(s) found\n", loaded.diagnostics.size());
    }
    ctl.exit_code = loaded.ok() ? kExitOk : kExitProblem;
  });
}

}  // namespace vcgate::ctl
