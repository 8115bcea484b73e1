// vcgated: the gateway daemon. Only composes: parse the command line, load the
// config, hand over to Daemon.
// Exit codes: 0 success (or a valid config with --check-config), 1 invalid
// config, 2 usage error, 3 runtime failure.
#include <gst/gst.h>

#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "gateway/config/config.h"
#include "gateway/core/log.h"
#include "gateway/daemon/daemon.h"

namespace {

int printDiagnostics(const vcgate::config::LoadResult& loaded) {
  for (const auto& d : loaded.diagnostics) std::cerr << d.format() << "\n";
  std::cerr << loaded.diagnostics.size() << " problem(s) found\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vcgated: video gateway daemon. Ingests the box's cameras and publishes alarm-tagged streams."};
  std::string config_path;
  std::string check_path;
  std::string log_level;
  bool version = false;
  app.add_option("-c,--config", config_path, "Run with this configuration file");
  app.add_option("-t,--check-config", check_path, "Validate this configuration file and exit (0 valid, 1 invalid)");
  app.add_option("-l,--log-level", log_level, "Override logging.level: trace, debug, info, warn, error, off");
  app.add_flag("-V,--version", version, "Print the version and exit");
  app.footer("Exit codes: 0 ok, 1 invalid configuration, 2 usage error, 3 runtime failure.\n"
             "Signals: SIGHUP reloads the configuration, SIGINT/SIGTERM stop (in well under 5 s; a camera\n"
             "that does not let go is abandoned after 10 s, exit 3).");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  if (version) {
    std::printf("vcgated %s\n", VCGATE_VERSION);
    return 0;
  }
  if (!check_path.empty()) {
    const auto loaded = vcgate::config::loadConfigFile(check_path);
    if (!loaded.ok()) return printDiagnostics(loaded);
    std::printf("%s: valid (%zu camera(s))\n", check_path.c_str(), loaded.config->cameras.size());
    return 0;
  }
  if (config_path.empty()) {
    std::cerr << "vcgated: --config FILE is required (see --help)\n";
    return 2;
  }

  auto loaded = vcgate::config::loadConfigFile(config_path);
  if (!loaded.ok()) return printDiagnostics(loaded);
  const std::string level_name = log_level.empty() ? loaded.config->logging.level : log_level;
  const auto level = vcgate::core::parseLogLevel(level_name);
  if (!level) {
    std::cerr << "vcgated: unknown log level '" << level_name << "'\n";
    return 2;
  }
  vcgate::core::setupLogging(*level);

  gst_init(&argc, &argv);
  int code = 0;
  {
    vcgate::daemon::Daemon daemon(std::move(*loaded.config));
    code = daemon.run();
  }
  gst_deinit();
  return code;
}
