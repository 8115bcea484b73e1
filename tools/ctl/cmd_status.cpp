// status, ping, inputs: is the gateway there, and is it well?
#include <chrono>
#include <cmath>
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "tools/ctl/ctl.h"

namespace vcgate::ctl {
namespace {

std::string cameraAlarms(const json& c) {
  std::string out;
  for (const auto& t : c.value("alarms", json::array()))
    out += fmt::format("{}L{}:{}", out.empty() ? "" : " ", t.value("level", 0), t.value("id", "").substr(0, 8));
  if (c.value("live_view", false)) out += out.empty() ? "live" : " live";
  return out;
}

void printStorage(const json& disks) {
  bool first = true;
  for (const auto& d : disks) {
    std::string line = fmt::format("{} {}: ", d.value("role", ""), d.value("path", ""));
    if (d.contains("error")) {
      line += d["error"].get<std::string>();
    } else {
      line += fmt::format("{:.0f}% used, {} free of {}", d.value("used_percent", 0.0),
                          formatBytes(d.value("free_bytes", 0.0)), formatBytes(d.value("total_bytes", 0.0)));
      if (!d.value("exists", true))
        line += " (not created yet)";
      else if (!d.value("writable", true))
        line += " (NOT WRITABLE)";
    }
    fmt::print("{:<9} {}\n", first ? "storage" : "", line);
    first = false;
  }
  if (first) fmt::print("{:<9} {}\n", "storage", "unknown (this gateway does not report it)");
}

void printStatus(const json& s) {
  if (s.contains("health")) fmt::print("{}\n", s["health"].value("summary", ""));
  fmt::print("{:<9} {}  vcgated {}  up {}  boot {}\n", "site", s.value("site", "?"), s.value("version", "?"),
             formatDuration(s.value("uptime_s", 0.0)), s.value("boot", "?"));
  if (s.contains("bus")) {
    const json& b = s["bus"];
    std::string publish;
    for (const auto& e : b.value("publish", json::array()))
      publish += (publish.empty() ? "" : ", ") + e.get<std::string>();
    const json subscribers = b.value("subscribers", json(nullptr));
    fmt::print("{:<9} publish {}; subscribers {}\n", "bus", publish.empty() ? "-" : publish,
               subscribers.is_number() ? std::to_string(subscribers.get<int>()) : "not counted by this gateway");
    if (b.contains("security")) {
      const json& sec = b["security"];
      if (!sec.value("curve", false)) {
        fmt::print("{:<9} in the clear: security.curve is off (docs/security.md)\n", "security");
      } else {
        const uint64_t denied = sec.value("connections_denied", uint64_t{0});
        fmt::print("{:<9} CURVE, {} key(s) allowed; {} connection(s) let in, {} denied{}\n", "security",
                   sec.value("allowed_clients", 0), sec.value("connections_allowed", uint64_t{0}), denied,
                   denied ? ", last: " + sec.value("last_denied", std::string()) : std::string());
      }
    }
    if (b.contains("requests")) {
      const json& req = b["requests"];
      const uint64_t refused = req.value("refused", uint64_t{0});
      std::string codes;
      const json by_code = req.value("refused_by_code", json::object());
      for (const auto& [code, n] : by_code.items())
        codes += fmt::format("{}{} {}", codes.empty() ? "" : ", ", code, n.get<uint64_t>());
      fmt::print("{:<9} {} answered, {}\n", "requests", req.value("answered", uint64_t{0}),
                 refused ? fmt::format("{} refused ({}); last: {}", refused, codes, req.value("last_refused", ""))
                         : std::string("none refused"));
    }
  }
  if (s.contains("system")) {
    const json& sys = s["system"];
    printStorage(sys.value("storage", json::array()));
    const json clock = sys.value("clock", json::object());
    const json synced = clock.value("synchronized", json(nullptr));
    fmt::print("{:<9} {}\n", "clock",
               synced.is_null() ? std::string("unknown (adjtimex failed)")
               : synced.get<bool>()
                   ? fmt::format("synchronized (max error {:.1f} ms)", clock.value("max_error_ms", 0.0))
                   : std::string("NOT synchronized: check NTP (timedatectl timesync-status)"));
    const json temperature = sys.value("temperature", json::object());
    const json celsius = temperature.value("celsius", json(nullptr));
    std::string board = celsius.is_number()
                            ? fmt::format("{:.1f} °C ({})", celsius.get<double>(), temperature.value("sensor", ""))
                            : std::string("temperature unknown (no thermal sensor exposed)");
    if (temperature.contains("simulated_celsius"))
      board += fmt::format("; simulated board says {:.1f} °C", temperature["simulated_celsius"].get<double>());
    fmt::print("{:<9} {}\n", "board", board);
  }
  fmt::print("{:<9} {} active", "alarms", s.value("active_alarms", 0));
  if (s.contains("journal_backlog"))
    fmt::print("; {} event(s) in the journal not yet acknowledged by the platform",
               s.value("journal_backlog", uint64_t{0}));
  fmt::print("\n\n");
  fmt::print("{:<16} {:<10} {:>6} {:>8} {:>8} {:>9} {:>7} {:>9} {}\n", "CAMERA", "STATE", "FPS", "KBIT/S", "FRAMES",
             "PUBLISHED", "DROPPED", "BUFFER", "ALARMS");
  for (const auto& c : s.value("cameras", json::array())) {
    fmt::print("{:<16} {:<10} {:>6.1f} {:>8.0f} {:>8} {:>9} {:>7} {:>8.1f}s {}\n", c.value("id", ""),
               c.value("state", ""), c.value("fps", 0.0), c.value("bitrate_bps", 0.0) / 1000,
               c.value("frames", uint64_t{0}), c.value("published", uint64_t{0}), c.value("dropped", uint64_t{0}),
               c.value("buffered_s", 0.0), cameraAlarms(c));
  }
}

}  // namespace

void addStatusCommands(CLI::App& app, Ctl& ctl) {
  auto check = std::make_shared<bool>(false);
  auto* status = app.add_subcommand("status",
                                    "The gateway at a glance: verdict, uptime, bus, disks, clock, "
                                    "temperature, cameras");
  status->add_flag("--check", *check, "Exit 1 unless the verdict is OK (for monitoring scripts)");
  status->footer(
      "JSON: the gateway's status result (docs/protocol.md section 7).\n"
      "Exit codes: 0 answered (with --check: and the verdict is OK), 1 refused or (--check) not OK, "
      "2 usage, 3 gateway not reachable.");
  status->callback([&ctl, check] {
    Gateway gateway(ctl.options);
    auto result = ask(ctl, gateway, "status");
    if (!result) return;
    if (ctl.options.json)
      printJson(*result);
    else
      printStatus(*result);
    const std::string verdict = result->contains("health") ? (*result)["health"].value("verdict", "ok") : "ok";
    ctl.exit_code = *check && verdict != "ok" ? kExitProblem : kExitOk;
  });

  auto* ping = app.add_subcommand("ping",
                                  "Is the gateway there? Its site, version, boot id, publish endpoints and "
                                  "the round trip");
  ping->footer(
      "JSON: {site, version, boot, time_us, publish[], round_trip_ms}.\n"
      "Exit codes: 0 answered, 2 usage, 3 gateway not reachable.");
  ping->callback([&ctl] {
    Gateway gateway(ctl.options);
    const auto sent = std::chrono::steady_clock::now();
    auto result = gateway.call("ping");
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - sent).count();
    if (!result) {
      ctl.exit_code = reportError(ctl.options, result.error());
      return;
    }
    (*result)["round_trip_ms"] = std::round(ms * 100) / 100;
    if (ctl.options.json) {
      printJson(*result);
      return;
    }
    std::string publish;
    for (const auto& e : result->value("publish", json::array()))
      publish += (publish.empty() ? "" : ", ") + e.get<std::string>();
    fmt::print("site {}  vcgated {}  boot {}  publish {}  answered in {:.1f} ms\n", result->value("site", "?"),
               result->value("version", "?"), result->value("boot", "?"), publish.empty() ? "-" : publish, ms);
  });

  auto* inputs = app.add_subcommand("inputs",
                                    "Board inputs (panic buttons, door contacts) and outputs (LED, "
                                    "relays), as the gateway sees them");
  inputs->footer(
      "JSON: {board, inputs[{id, active, level, since_us, changes}], outputs[{id, on, changes}], "
      "temperature_c}.\n"
      "Exit codes: 0 ok, 1 no board (none configured, failed to start, or no board layer in this "
      "build), 2 usage, 3 gateway not reachable.");
  inputs->callback([&ctl] {
    Gateway gateway(ctl.options);
    auto result = gateway.call("inputs");
    if (!result) {
      core::Error error = result.error();
      // Never invent a reading: a gateway without the command has no board layer.
      if (error.code == "unknown_command")
        error = core::makeCodedError("not_available", "no board layer in this build");
      ctl.exit_code = reportError(ctl.options, error);
      return;
    }
    ctl.exit_code = kExitOk;
    if (ctl.options.json) {
      printJson(*result);
      return;
    }
    const json temperature = result->value("temperature_c", json(nullptr));
    fmt::print("board {}{}\n\n", result->value("board", "?"),
               temperature.is_number() ? fmt::format(", {:.1f} °C", temperature.get<double>()) : "");
    fmt::print("{:<20} {:<9} {:<6} {:<13} {}\n", "INPUT", "STATE", "LEVEL", "SINCE", "CHANGES");
    for (const auto& i : result->value("inputs", json::array()))
      fmt::print("{:<20} {:<9} {:<6} {:<13} {}\n", i.value("id", ""), i.value("active", false) ? "ACTIVE" : "inactive",
                 i.value("level", false) ? "high" : "low", formatClock(i.value("since_us", int64_t{0}), true),
                 i.value("changes", uint64_t{0}));
    if (result->value("inputs", json::array()).empty()) fmt::print("(no input configured)\n");
    fmt::print("\n{:<20} {:<9} {}\n", "OUTPUT", "STATE", "CHANGES");
    for (const auto& o : result->value("outputs", json::array()))
      fmt::print("{:<20} {:<9} {}\n", o.value("id", ""), o.value("on", false) ? "ON" : "off",
                 o.value("changes", uint64_t{0}));
    if (result->value("outputs", json::array()).empty()) fmt::print("(no output configured)\n");
  });
}

}  // namespace vcgate::ctl
