// vcgatectl: the field technician's tool. Talks to the running vcgated over
// its local control socket (docs/protocol.md section 7) and prints what it
// says for a person, or with --json exactly the reply's result.
// Exit codes: 0 ok, 1 the gateway refused (the reason is printed),
// 2 usage error, 3 the gateway could not be reached.
#include <cstdio>
#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "gateway/bus/command_server.h"
#include "gateway/config/config.h"

namespace {

using nlohmann::json;

constexpr const char* kDefaultConfig = "/etc/vcgate/vcgate.yaml";
constexpr const char* kDefaultEndpoint = "ipc:///run/vcgate/control.sock";

struct Options {
  std::string config;
  std::string endpoint;
  bool json = false;
  int timeout_ms = 3000;
};

std::string resolveEndpoint(const Options& options) {
  if (!options.endpoint.empty()) return options.endpoint;
  if (const char* env = std::getenv("VCGATE_CONTROL")) return env;
  const std::string path = options.config.empty() ? kDefaultConfig : options.config;
  if (std::filesystem::exists(path)) {
    auto loaded = vcgate::config::loadConfigFile(path);
    if (loaded.ok()) return loaded.config->bus.control;
    std::cerr << "vcgatectl: " << path << " is not valid, using " << kDefaultEndpoint << "\n";
  }
  return kDefaultEndpoint;
}

std::string formatTime(int64_t us) {
  if (us <= 0) return "-";
  const time_t seconds = static_cast<time_t>(us / 1'000'000);
  struct tm local;
  localtime_r(&seconds, &local);
  char text[32];
  strftime(text, sizeof text, "%H:%M:%S", &local);
  return text;
}

void printAlarm(const json& a) {
  std::string cameras;
  for (const auto& c : a["cameras"]) cameras += (cameras.empty() ? "" : ",") + c.get<std::string>();
  fmt::print("{}  L{}  {:<7} {:<12} {:<10} raised {}{}  cameras {}{}\n", a["id"].get<std::string>(),
             a["level"].get<int>(), a["state"].get<std::string>(), a["type"].get<std::string>(),
             a["source"].get<std::string>(), formatTime(a["raised_us"].get<int64_t>()),
             a["cleared_us"].get<int64_t>() ? " cleared " + formatTime(a["cleared_us"].get<int64_t>()) : "",
             cameras, a["acknowledged"].get<bool>() ? "  (acknowledged by " + a["acknowledged_by"].get<std::string>() + ")" : "");
  if (!a["description"].get<std::string>().empty()) fmt::print("    {}\n", a["description"].get<std::string>());
}

void printStatus(const json& s) {
  fmt::print("site {}  vcgated {}  up {:.0f} s  active alarms {}\n", s["site"].get<std::string>(),
             s["version"].get<std::string>(), s["uptime_s"].get<double>(), s["active_alarms"].get<int>());
  fmt::print("{:<16} {:<10} {:>6} {:>8} {:>8} {:>9} {:>7} {:>9} {}\n", "CAMERA", "STATE", "FPS", "KBIT/S", "FRAMES",
             "PUBLISHED", "DROPPED", "BUFFER", "ALARMS");
  for (const auto& c : s["cameras"]) {
    std::string alarms;
    for (const auto& t : c["alarms"])
      alarms += fmt::format("{}L{}:{}", alarms.empty() ? "" : " ", t["level"].get<int>(), t["id"].get<std::string>().substr(0, 8));
    if (c["live_view"].get<bool>()) alarms += alarms.empty() ? "live" : " live";
    fmt::print("{:<16} {:<10} {:>6.1f} {:>8.0f} {:>8} {:>9} {:>7} {:>8.1f}s {}\n", c["id"].get<std::string>(),
               c["state"].get<std::string>(), c["fps"].get<double>(), c["bitrate_bps"].get<double>() / 1000,
               c["frames"].get<uint64_t>(), c["published"].get<uint64_t>(), c["dropped"].get<uint64_t>(),
               c["buffered_s"].get<double>(), alarms);
  }
}

// Sends one command; prints the result (human or JSON); returns the exit code.
int run(const Options& options, const std::string& cmd, const json& args, void (*print)(const json&)) {
  const json request = {{"v", 1}, {"id", "vcgatectl"}, {"cmd", cmd}, {"args", args}};
  const std::string endpoint = resolveEndpoint(options);
  vcgate::bus::CommandClient client(endpoint);
  auto reply_text = client.request(request.dump(), options.timeout_ms);
  if (!reply_text) {
    std::cerr << "vcgatectl: " << reply_text.error().message << "\n";
    return 3;
  }
  const json reply = json::parse(reply_text.value(), nullptr, false);
  if (reply.is_discarded() || !reply.is_object()) {
    std::cerr << "vcgatectl: the gateway sent a malformed reply\n";
    return 3;
  }
  if (!reply.value("ok", false)) {
    const auto& error = reply["error"];
    if (options.json) std::cout << error.dump() << "\n";
    std::cerr << "vcgatectl: refused (" << error.value("code", "?") << "): " << error.value("message", "") << "\n";
    return 1;
  }
  const json& result = reply["result"];
  if (options.json) {
    std::cout << result.dump() << "\n";
  } else if (print) {
    try {
      print(result);
    } catch (const json::exception&) {
      std::cout << result.dump(2) << "\n";  // a newer gateway's shape: show it raw
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vcgatectl: look after a vcgate gateway from the box's shell"};
  app.require_subcommand(1);
  Options options;
  app.add_option("-c,--config", options.config, std::string("Read the control endpoint from this config (default ") +
                                                     kDefaultConfig + ")");
  app.add_option("-e,--endpoint", options.endpoint, "Control endpoint, e.g. ipc:///run/vcgate/control.sock "
                                                    "(also $VCGATE_CONTROL)");
  app.add_flag("--json", options.json, "Print the reply as one JSON object");
  app.add_option("--timeout-ms", options.timeout_ms, "How long to wait for the gateway")->check(CLI::Range(100, 60000));
  app.footer("Exit codes: 0 ok, 1 refused by the gateway, 2 usage error, 3 gateway not reachable.");

  int code = 0;
  auto* status = app.add_subcommand("status", "Gateway, cameras and alarms at a glance");
  status->callback([&] { code = run(options, "status", json::object(), printStatus); });

  auto* ping = app.add_subcommand("ping", "Is the gateway there? Prints its site, version and boot id");
  ping->callback([&] {
    code = run(options, "ping", json::object(), [](const json& r) {
      fmt::print("site {} vcgated {} boot {}\n", r["site"].get<std::string>(), r["version"].get<std::string>(),
                 r["boot"].get<std::string>());
    });
  });

  auto* alarm = app.add_subcommand("alarm", "Raise, update, clear, acknowledge and list alarms");
  alarm->require_subcommand(1);
  std::vector<std::string> cameras;
  int level = 0;
  std::string type = "manual", description, id, by = "vcgatectl";
  auto* raise = alarm->add_subcommand("raise", "Raise an alarm covering one or more cameras");
  raise->add_option("cameras", cameras, "Camera ids")->required();
  raise->add_option("-l,--level", level, "1 (most urgent), 2 or 3")->required()->check(CLI::Range(1, 3));
  raise->add_option("-t,--type", type, "What happened, e.g. intrusion (default: manual)");
  raise->add_option("-d,--description", description, "Text for the operators");
  raise->callback([&] {
    code = run(options, "alarm.raise",
               {{"cameras", cameras}, {"level", level}, {"type", type}, {"description", description}},
               [](const json& r) { printAlarm(r["alarm"]); });
  });
  auto* update = alarm->add_subcommand("update", "Change an active alarm's level (escalate) or description");
  update->add_option("id", id, "Alarm id")->required();
  update->add_option("-l,--level", level, "New level")->check(CLI::Range(1, 3));
  update->add_option("-d,--description", description, "New description");
  update->callback([&] {
    json args = {{"id", id}};
    if (level) args["level"] = level;
    if (!description.empty()) args["description"] = description;
    code = run(options, "alarm.update", args, [](const json& r) { printAlarm(r["alarm"]); });
  });
  auto* clear = alarm->add_subcommand("clear", "Clear an active alarm");
  clear->add_option("id", id, "Alarm id")->required();
  clear->callback([&] { code = run(options, "alarm.clear", {{"id", id}}, [](const json& r) { printAlarm(r["alarm"]); }); });
  auto* ack = alarm->add_subcommand("ack", "Acknowledge an alarm");
  ack->add_option("id", id, "Alarm id")->required();
  ack->add_option("--by", by, "Who acknowledges (default: vcgatectl)");
  ack->callback([&] {
    code = run(options, "alarm.ack", {{"id", id}, {"by", by}}, [](const json& r) { printAlarm(r["alarm"]); });
  });
  auto* list = alarm->add_subcommand("list", "Active and recently cleared alarms");
  list->callback([&] {
    code = run(options, "alarm.list", json::object(), [](const json& r) {
      fmt::print("active: {}\n", r["active"].size());
      for (const auto& a : r["active"]) printAlarm(a);
      fmt::print("recent: {}\n", r["recent"].size());
      for (const auto& a : r["recent"]) printAlarm(a);
    });
  });

  auto* live = app.add_subcommand("live", "Publish a camera's video for a while without an alarm");
  std::string camera;
  int lease = 60;
  bool stop = false;
  live->add_option("camera", camera, "Camera id")->required();
  live->add_option("--lease", lease, "Seconds (1-600)")->check(CLI::Range(1, 600));
  live->add_flag("--stop", stop, "End the live view now");
  live->callback([&] {
    code = stop ? run(options, "live.stop", {{"camera", camera}}, [](const json&) { fmt::print("live view stopped\n"); })
                : run(options, "live.start", {{"camera", camera}, {"lease_s", lease}}, [](const json& r) {
                    fmt::print("live view of {} until {}\n", r["camera"].get<std::string>(),
                               formatTime(r["until_us"].get<int64_t>()));
                  });
  });

  auto* reload = app.add_subcommand("reload", "Re-read the gateway's config (like SIGHUP), reporting refusals");
  reload->callback([&] { code = run(options, "reload", json::object(), [](const json&) { fmt::print("reloaded\n"); }); });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int exit = app.exit(e);
    return exit == 0 ? 0 : 2;
  }
  return code;
}
