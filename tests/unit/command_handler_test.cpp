#include "gateway/control/command_handler.h"
#include "gateway/control/metrics.h"

#include <gtest/gtest.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <type_traits>

namespace vcgate::control {
namespace {

using nlohmann::json;

// handle() answers with the reply's JSON text, or a Reply that carries it.
template <class R>
json replyOf(const R& reply) {
  if constexpr (std::is_same_v<R, std::string>) return json::parse(reply);
  else return json::parse(reply.body);
}

// A handler over a real alarm engine with one camera, hall-a-1.
struct HandlerRig {
  HandlerRig() : alarms(makeConfig(), clock, 1), handler(makeContext(alarms, clock)) {}

  static config::Config makeConfig() {
    config::Config config;
    config.cameras.push_back(config::CameraConfig{.id = "hall-a-1", .uri = "test://hall-a-1"});
    return config;
  }
  static CommandContext makeContext(alarm::AlarmEngine& alarms, core::ManualClock& clock) {
    CommandContext context;
    context.site = "north";
    context.alarms = &alarms;
    context.clock = &clock;
    context.ack_events = [](const std::vector<uint64_t>& ids) -> core::Result<size_t> { return ids.size(); };
    return context;
  }
  // "ok", or the refusal's error code.
  std::string code(const std::string& request, const bus::RequestOrigin& origin) {
    const json reply = replyOf(handler.handle(request, origin));
    return reply.value("ok", false) ? std::string("ok") : reply["error"]["code"].get<std::string>();
  }

  core::ManualClock clock;
  alarm::AlarmEngine alarms;
  CommandHandler handler;
};

// Found by fuzz_control_requests: a version or an integer argument written as
// a float too large for its type (1e300) was a float-to-integer conversion
// with undefined behaviour (UBSan in the sanitizer build). Each is refused.
TEST(CommandHandler, IntegersOutOfRangeAreRefusedNotConverted) {
  HandlerRig rig;
  const auto code = [&](const std::string& request) { return rig.code(request, bus::RequestOrigin{"commands"}); };

  EXPECT_EQ(code(R"({"v":1e300,"cmd":"alarm.list"})"), "bad_request");
  EXPECT_EQ(code(R"({"v":-1e300,"cmd":"alarm.list"})"), "bad_request");
  EXPECT_EQ(code(R"({"v":true,"cmd":"alarm.list"})"), "bad_request");
  EXPECT_EQ(code(R"({"v":1.0,"cmd":"alarm.list"})"), "ok") << "a float that fits reads as before";
  EXPECT_EQ(code(R"({"v":1,"cmd":"alarm.raise","args":{"cameras":["hall-a-1"],"level":1e300,"type":"x"}})"),
            "invalid_argument");
  EXPECT_EQ(code(R"({"v":1,"cmd":"event.ack","args":{"event_ids":[1,-1e30]}})"), "invalid_argument");
  EXPECT_EQ(code(R"({"v":1,"cmd":"event.ack","args":{"event_ids":[1,2]}})"), "ok");
  EXPECT_EQ(code(R"({"v":1,"cmd":"alarm.raise","args":{"cameras":["hall-a-1"],"level":2,"type":"x"}})"), "ok");
}

// Every refusal is counted by its code, for "status" (bus.requests): a
// technician sees that a client keeps sending what the gateway turns away,
// and which client, without the request's arguments.
TEST(CommandHandler, RefusalsAreCountedByTheirCode) {
  HandlerRig rig;
  auto& alarms = rig.alarms;
  auto& handler = rig.handler;
  const bus::RequestOrigin wall{"commands", "wall", "viewer"};
  const bus::RequestOrigin room{"commands", "command-room", "operator"};
  const auto code = [&](const std::string& request, const bus::RequestOrigin& origin) { return rig.code(request, origin); };
  EXPECT_EQ(handler.counts().answered, 0u);

  const auto raised = alarms.raise({.source = "manual", .type = "intrusion", .level = 2, .cameras = {"hall-a-1"}});
  ASSERT_TRUE(raised.ok());
  const std::string clear = fmt::format(R"({{"v":1,"cmd":"alarm.clear","args":{{"id":"{}"}}}})", raised->id.hex());
  EXPECT_EQ(code(clear, wall), "forbidden") << "a viewer may not clear an alarm";
  EXPECT_EQ(handler.counts().last_refused, "forbidden: alarm.clear from client 'wall' (viewer) on commands");
  EXPECT_EQ(code("not json", wall), "bad_request");
  EXPECT_EQ(code(R"({"v":1,"cmd":"alarm.explode"})", wall), "unknown_command");
  EXPECT_EQ(code(R"({"v":1,"cmd":"alarm.list","args":{"pad":")" + std::string(70 * 1024, 'x') + "\"}}", room),
            "too_large");
  EXPECT_EQ(code(R"({"v":1,"cmd":"alarm.list"})", wall), "ok");
  EXPECT_EQ(code(clear, room), "ok") << "an operator may";
  EXPECT_EQ(code(R"({"v":1,"cmd":"alarm.raise","args":{"cameras":["nowhere"],"level":1,"type":"x"}})", room),
            "unknown_camera");

  const RequestCounts& counts = handler.counts();
  EXPECT_EQ(counts.answered, 7u);
  EXPECT_EQ(counts.refused, 5u);
  EXPECT_EQ(counts.refused_by_code, (std::map<std::string, uint64_t>{{"bad_request", 1},
                                                                     {"forbidden", 1},
                                                                     {"too_large", 1},
                                                                     {"unknown_camera", 1},
                                                                     {"unknown_command", 1}}));
  EXPECT_EQ(counts.last_refused, "unknown_camera: alarm.raise from client 'command-room' (operator) on commands")
      << "the command and who, never the arguments";
}

// The request counts reach Prometheus: a refused request shows as a sample
// of vcgate_requests_refused_total with its code, and with security.curve the
// ZAP handler's decisions as vcgate_bus_connections_*.
TEST(CommandHandler, RequestsAndConnectionsAppearInTheMetrics) {
  HandlerRig rig;
  const bus::RequestOrigin wall{"commands", "wall", "viewer"};
  EXPECT_EQ(rig.code(R"({"v":1,"cmd":"alarm.list"})", wall), "ok");
  EXPECT_EQ(rig.code(R"({"v":1,"cmd":"alarm.raise","args":{"cameras":["hall-a-1"],"level":1,"type":"x"}})", wall),
            "forbidden");
  EXPECT_EQ(rig.code("not json", wall), "bad_request");
  EXPECT_EQ(rig.code("still not json", wall), "bad_request");

  bus::StatusMessage status;
  status.site = "north";
  bus::AuthStats auth;
  auth.allowed();
  auth.denied("key Abc12345… from 10.0.0.7 (not on the allow-list)");
  auth.denied("key Def67890… from 10.0.0.8 (not on the allow-list)");
  const std::string text = renderMetrics(status, {}, BusMetrics{rig.handler.counts(), auth.snapshot()});
  EXPECT_NE(text.find("# TYPE vcgate_requests_answered_total counter\n"), std::string::npos) << text;
  EXPECT_NE(text.find("vcgate_requests_answered_total{site=\"north\"} 4\n"), std::string::npos) << text;
  EXPECT_NE(text.find("vcgate_requests_refused_total{site=\"north\",code=\"bad_request\"} 2\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("vcgate_requests_refused_total{site=\"north\",code=\"forbidden\"} 1\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("vcgate_bus_connections_allowed_total{site=\"north\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("vcgate_bus_connections_denied_total{site=\"north\"} 2\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("10.0.0.7"), std::string::npos) << "who was denied stays in status and the log";

  // Without security.curve there is nothing to count: no connection metrics.
  const std::string plain = renderMetrics(status, {}, BusMetrics{rig.handler.counts(), std::nullopt});
  EXPECT_EQ(plain.find("vcgate_bus_connections"), std::string::npos) << plain;
  EXPECT_NE(plain.find("vcgate_requests_answered_total"), std::string::npos);
}

}  // namespace
}  // namespace vcgate::control
