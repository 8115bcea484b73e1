// alarm raise|update|clear|ack|list, alarms, tail: the alarms, now and live.
#include <chrono>
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "gateway/bus/protocol.h"
#include "gateway/bus/subscriber.h"
#include "tools/ctl/ctl.h"

namespace vcgate::ctl {
namespace {

std::string joinCameras(const json& cameras) {
  std::string out;
  for (const auto& c : cameras) out += (out.empty() ? "" : ",") + c.get<std::string>();
  return out;
}

void printAlarm(const json& a) {
  const int64_t cleared = a.value("cleared_us", int64_t{0});
  fmt::print("{}  L{}  {:<7} {:<12} {:<10} raised {}{}  cameras {}{}\n", a.value("id", ""), a.value("level", 0),
             a.value("state", ""), a.value("type", ""), a.value("source", ""),
             formatClock(a.value("raised_us", int64_t{0})), cleared ? " cleared " + formatClock(cleared) : "",
             joinCameras(a.value("cameras", json::array())),
             a.value("acknowledged", false) ? "  (acknowledged by " + a.value("acknowledged_by", "") + ")" : "");
  if (!a.value("description", "").empty()) fmt::print("    {}\n", a.value("description", ""));
}

// Sends one command and prints its result; the exit code.
int runSimple(Ctl& ctl, const std::string& cmd, const json& args, void (*print)(const json&)) {
  Gateway gateway(ctl.options);
  auto result = gateway.call(cmd, args);
  if (!result) return reportError(ctl.options, result.error());
  if (ctl.options.json) {
    printJson(*result);
  } else {
    try {
      print(*result);
    } catch (const json::exception&) {
      std::cout << result->dump(2) << "\n";  // a newer gateway's shape: show it raw
    }
  }
  return kExitOk;
}

void printEvent(const bus::AlarmEventMessage& m) {
  const auto& a = m.event.alarm;
  std::string cameras;
  for (const auto& c : a.cameras) cameras += (cameras.empty() ? "" : ",") + c;
  fmt::print("{}  {:<12} L{}  {:<12} {}  {:<10} {}{}\n", formatClock(m.time_us, true), alarm::eventName(m.event.kind),
             a.level, a.type, a.id.hex(), a.source, cameras,
             a.description.empty() ? "" : "  \"" + a.description + "\"");
  std::cout.flush();
}

}  // namespace

void addAlarmCommands(CLI::App& app, Ctl& ctl) {
  struct AlarmArgs {
    std::vector<std::string> cameras;
    int level = 0;
    std::string type = "manual", description, id, by = "vcgatectl";
  };
  auto args = std::make_shared<AlarmArgs>();
  const char* alarm_footer =
      "JSON: {alarm} as in docs/protocol.md section 4.\n"
      "Exit codes: 0 done, 1 refused (unknown camera or alarm, invalid), 2 usage, 3 gateway "
      "not reachable.";
  auto* alarm = app.add_subcommand("alarm", "Raise, update, clear, acknowledge and list alarms");
  alarm->require_subcommand(1);
  auto* raise = alarm->add_subcommand("raise", "Raise an alarm covering one or more cameras");
  raise->add_option("cameras", args->cameras, "Camera ids")->required();
  raise->add_option("-l,--level", args->level, "1 (most urgent), 2 or 3")->required()->check(CLI::Range(1, 3));
  raise->add_option("-t,--type", args->type, "What happened, e.g. intrusion (default: manual)");
  raise->add_option("-d,--description", args->description, "Text for the operators");
  raise->footer(alarm_footer);
  raise->callback([&ctl, args] {
    ctl.exit_code = runSimple(
        ctl, "alarm.raise",
        {{"cameras", args->cameras}, {"level", args->level}, {"type", args->type}, {"description", args->description}},
        [](const json& r) { printAlarm(r["alarm"]); });
  });
  auto* update = alarm->add_subcommand("update", "Change an active alarm's level (escalate) or description");
  update->add_option("id", args->id, "Alarm id")->required();
  update->add_option("-l,--level", args->level, "New level")->check(CLI::Range(1, 3));
  update->add_option("-d,--description", args->description, "New description");
  update->footer(alarm_footer);
  update->callback([&ctl, args] {
    json request = {{"id", args->id}};
    if (args->level) request["level"] = args->level;
    if (!args->description.empty()) request["description"] = args->description;
    ctl.exit_code = runSimple(ctl, "alarm.update", request, [](const json& r) { printAlarm(r["alarm"]); });
  });
  auto* clear = alarm->add_subcommand("clear", "Clear an active alarm");
  clear->add_option("id", args->id, "Alarm id")->required();
  clear->footer(alarm_footer);
  clear->callback([&ctl, args] {
    ctl.exit_code = runSimple(ctl, "alarm.clear", {{"id", args->id}}, [](const json& r) { printAlarm(r["alarm"]); });
  });
  auto* ack = alarm->add_subcommand("ack", "Acknowledge an alarm");
  ack->add_option("id", args->id, "Alarm id")->required();
  ack->add_option("--by", args->by, "Who acknowledges (default: vcgatectl)");
  ack->footer(alarm_footer);
  ack->callback([&ctl, args] {
    ctl.exit_code = runSimple(ctl, "alarm.ack", {{"id", args->id}, {"by", args->by}},
                              [](const json& r) { printAlarm(r["alarm"]); });
  });
  const auto printList = [](const json& r) {
    fmt::print("active: {}\n", r["active"].size());
    for (const auto& a : r["active"]) printAlarm(a);
    fmt::print("recent: {}\n", r["recent"].size());
    for (const auto& a : r["recent"]) printAlarm(a);
  };
  auto* list = alarm->add_subcommand("list", "Active and recently cleared alarms");
  list->footer("JSON: {active[], recent[]} of alarm objects.\nExit codes: 0 ok, 2 usage, 3 gateway not reachable.");
  list->callback([&ctl, printList] { ctl.exit_code = runSimple(ctl, "alarm.list", json::object(), printList); });

  auto recent = std::make_shared<int>(10);
  auto* alarms = app.add_subcommand("alarms", "Active alarms and the most recent cleared ones (alarm list, shorter)");
  alarms->add_option("-r,--recent", *recent, "How many cleared alarms to show (default 10; the gateway keeps 100)")
      ->check(CLI::Range(0, 100));
  alarms->footer(
      "JSON: {active[], recent[]} (recent cut to --recent, newest first).\n"
      "Exit codes: 0 ok, 2 usage, 3 gateway not reachable.");
  alarms->callback([&ctl, recent] {
    Gateway gateway(ctl.options);
    auto result = ask(ctl, gateway, "alarm.list");
    if (!result) return;
    json active = result->value("active", json::array());
    json all_recent = result->value("recent", json::array());
    // Newest first: a technician wants what just happened, not last week.
    std::sort(all_recent.begin(), all_recent.end(), [](const json& a, const json& b) {
      return a.value("cleared_us", int64_t{0}) > b.value("cleared_us", int64_t{0});
    });
    json shown = json::array();
    for (size_t i = 0; i < all_recent.size() && static_cast<int>(i) < *recent; ++i) shown.push_back(all_recent[i]);
    if (ctl.options.json) {
      printJson({{"active", active}, {"recent", shown}});
      return;
    }
    if (active.empty())
      fmt::print("no active alarm\n");
    else
      fmt::print("{} active alarm{}:\n", active.size(), active.size() == 1 ? "" : "s");
    for (const auto& a : active) printAlarm(a);
    if (!shown.empty()) fmt::print("\nrecently cleared ({} of {}):\n", shown.size(), all_recent.size());
    for (const auto& a : shown) printAlarm(a);
  });

  struct TailOptions {
    int count = 0;
    double for_s = 0;
    std::vector<std::string> connect;
  };
  auto tail_options = std::make_shared<TailOptions>();
  auto* tail = app.add_subcommand("tail", "Follow alarm events live, one line each, as the platform receives them");
  tail->add_option("-n,--count", tail_options->count, "Stop after this many events (default: until Ctrl-C)")
      ->check(CLI::NonNegativeNumber);
  tail->add_option("--for", tail_options->for_s, "Stop after this many seconds")->check(CLI::NonNegativeNumber);
  tail->add_option("--connect", tail_options->connect,
                   "Publish endpoint(s) to subscribe to (default: those the gateway reports in ping)");
  tail->footer(
      "Prints 'following ...' on stderr once the gateway's heartbeat arrives, and warns there when\n"
      "heartbeats stop. JSON: one alarm event per line, exactly as on the bus (docs/protocol.md section 4).\n"
      "Exit codes: 0 ok, 1 cannot subscribe, 2 usage, 3 gateway not reachable.");
  tail->callback([&ctl, tail_options] {
    installStopHandler();
    Gateway gateway(ctl.options);
    auto ping = ask(ctl, gateway, "ping");
    if (!ping) return;
    const std::string site = ping->value("site", "");
    std::vector<std::string> endpoints = tail_options->connect;
    if (endpoints.empty())
      for (const auto& e : ping->value("publish", json::array()))
        endpoints.push_back(localEndpoint(e.get<std::string>()));
    if (endpoints.empty()) {
      ctl.exit_code = reportError(ctl.options, core::makeCodedError("no_endpoint",
                                                                    "the gateway does not say where it "
                                                                    "publishes (an older vcgated?): "
                                                                    "give --connect ENDPOINT"));
      return;
    }
    bus::SubscriberOptions sub_options;
    sub_options.endpoints = endpoints;
    // Heartbeats too: they tell "no alarm" apart from "gateway gone".
    sub_options.prefixes = {bus::alarmTopic(site), bus::statusTopic(site)};
    auto subscriber = bus::Subscriber::create(sub_options);
    if (!subscriber) {
      ctl.exit_code = reportError(ctl.options, core::makeCodedError("subscribe", subscriber.error().message));
      return;
    }
    std::string where;
    for (const auto& e : endpoints) where += (where.empty() ? "" : ", ") + e;
    using Clock = std::chrono::steady_clock;
    const auto started = Clock::now();
    auto last_heartbeat = Clock::now();
    double interval_s = 1;
    bool following = false, silent = false;
    uint64_t boot = 0;
    int events = 0;
    while (!stopRequested().load()) {
      if (tail_options->for_s > 0 && Clock::now() - started >= std::chrono::duration<double>(tail_options->for_s))
        break;
      auto received = subscriber->receive(std::chrono::milliseconds(200));
      if (auto* status = std::get_if<bus::StatusMessage>(&received)) {
        last_heartbeat = Clock::now();
        interval_s = status->interval_s > 0 ? status->interval_s : 1;
        if (!following) {
          std::cerr << fmt::format("following alarm events of site {} on {}; Ctrl-C stops", site, where) << std::endl;
          following = true;
        } else if (boot && status->boot_id != boot) {
          std::cerr << fmt::format("the gateway restarted (boot {})", bus::bootIdHex(status->boot_id)) << std::endl;
        }
        if (silent) std::cerr << "heartbeats are back" << std::endl;
        silent = false;
        boot = status->boot_id;
      } else if (auto* event = std::get_if<bus::AlarmEventMessage>(&received)) {
        if (ctl.options.json)
          printJson(json::parse(bus::encodeAlarmEvent(*event)));
        else
          printEvent(*event);
        if (tail_options->count && ++events >= tail_options->count) break;
      }
      // Three missed heartbeats: the protocol's own rule for "gateway unreachable".
      if (!silent && Clock::now() - last_heartbeat > std::chrono::duration<double>(3 * interval_s)) {
        std::cerr << fmt::format("no heartbeat from site {} for {:.0f} s: the gateway stopped or {} is not reachable",
                                 site, std::chrono::duration<double>(Clock::now() - last_heartbeat).count(), where)
                  << std::endl;
        silent = true;
      }
    }
    ctl.exit_code = kExitOk;
  });
}

}  // namespace vcgate::ctl
