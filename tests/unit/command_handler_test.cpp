#include "gateway/control/command_handler.h"

#include <gtest/gtest.h>

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

// Found by fuzz_control_requests: a version or an integer argument written as
// a float too large for its type (1e300) was a float-to-integer conversion
// with undefined behaviour (UBSan in the sanitizer build). Each is refused.
TEST(CommandHandler, IntegersOutOfRangeAreRefusedNotConverted) {
  config::Config config;
  config.cameras.push_back(config::CameraConfig{.id = "hall-a-1", .uri = "test://hall-a-1"});
  core::ManualClock clock;
  alarm::AlarmEngine alarms(config, clock, 1);
  CommandContext context;
  context.site = "north";
  context.alarms = &alarms;
  context.clock = &clock;
  context.ack_events = [](const std::vector<uint64_t>& ids) -> core::Result<size_t> { return ids.size(); };
  CommandHandler handler(std::move(context));
  const bus::RequestOrigin origin{"commands"};
  const auto code = [&](const std::string& request) {
    const json reply = replyOf(handler.handle(request, origin));
    return reply.value("ok", false) ? std::string("ok") : reply["error"]["code"].get<std::string>();
  };

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

}  // namespace
}  // namespace vcgate::control
