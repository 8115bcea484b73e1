// vcgate-sub's pure parts under an injected clock: the latency histogram's
// percentiles, and the session's heartbeat timers, de-duplication and
// sequence tracking, without sockets or child processes.
#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "gateway/core/clock.h"
#include "tools/sub/latency.h"
#include "tools/sub/output.h"
#include "tools/sub/session.h"

namespace vcgate::sub {
namespace {

using namespace std::chrono_literals;

TEST(LatencyHistogramTest, EmptyIsZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.percentile(0.5), 0);
  EXPECT_EQ(h.max(), 0);
}

TEST(LatencyHistogramTest, SmallValuesAreExact) {
  LatencyHistogram h;
  for (int v = 1; v <= 100; ++v) h.add(v);
  EXPECT_EQ(h.percentile(0.50), 50);
  EXPECT_EQ(h.percentile(0.99), 99);
  EXPECT_EQ(h.percentile(1.0), 100);
  EXPECT_EQ(h.min(), 1);
  EXPECT_EQ(h.max(), 100);
}

TEST(LatencyHistogramTest, LargeValuesWithinTwoPercentAndExactMax) {
  LatencyHistogram h;
  for (int64_t v = 1; v <= 100'000; ++v) h.add(v * 10);  // 10 µs .. 1 s
  const auto near = [](int64_t got, int64_t want) {
    return std::abs(static_cast<double>(got - want)) <= 0.02 * static_cast<double>(want);
  };
  EXPECT_TRUE(near(h.percentile(0.50), 500'000)) << h.percentile(0.50);
  EXPECT_TRUE(near(h.percentile(0.99), 990'000)) << h.percentile(0.99);
  EXPECT_EQ(h.max(), 1'000'000);
  EXPECT_LE(h.percentile(1.0), h.max());
}

TEST(LatencyHistogramTest, NegativeValuesFromClockSkewAreKeptInMin) {
  LatencyHistogram h;
  h.add(-250);
  h.add(40);
  EXPECT_EQ(h.min(), -250);
  EXPECT_EQ(h.percentile(0.5), 0);
  EXPECT_EQ(h.max(), 40);
}

class SessionTest : public ::testing::Test {
 protected:
  SessionTest() : output_(true, [this](const std::string& line) { lines_.push_back(nlohmann::json::parse(line)); }) {}

  bus::StatusMessage heartbeat(uint64_t seq, double interval_s = 1.0, uint64_t boot = 1) {
    bus::StatusMessage s;
    s.site = "north";
    s.boot_id = boot;
    s.seq = seq;
    s.interval_s = interval_s;
    s.version = "0.1.0";
    return s;
  }
  bus::VideoMessage video(uint64_t seq, bool keyframe, uint64_t boot = 1) {
    bus::VideoMessage m;
    m.topic = {bus::TopicKind::kVideo, "north", "cam1"};
    m.header.boot_id = boot;
    m.header.seq = seq;
    m.header.flags = keyframe ? bus::kFlagKeyframe : 0;
    m.header.capture_us = 1000;
    m.header.publish_us = 1400;
    m.receive_us = 1500;
    m.payload = {0, 0, 0, 1, 0x65};
    return m;
  }
  std::vector<nlohmann::json> ofType(const std::string& type) const {
    std::vector<nlohmann::json> out;
    for (const auto& l : lines_)
      if (l["type"] == type) out.push_back(l);
    return out;
  }

  core::ManualClock clock_;
  std::vector<nlohmann::json> lines_;
  Output output_;
};

TEST_F(SessionTest, GatewayIsUnreachableAfterThreeIntervalsAndBackWithTheNextHeartbeat) {
  Session session({}, output_, clock_);
  session.onStatus(heartbeat(1, 0.5));
  ASSERT_EQ(ofType("gateway").size(), 1u);
  EXPECT_EQ(ofType("gateway")[0]["state"], "up");
  clock_.advance(1400ms);
  session.tick();
  EXPECT_EQ(ofType("gateway").size(), 1u) << "2.8 intervals is not yet unreachable";
  clock_.advance(200ms);
  session.tick();
  ASSERT_EQ(ofType("gateway").size(), 2u);
  EXPECT_EQ(ofType("gateway")[1]["state"], "unreachable");
  EXPECT_EQ(ofType("gateway")[1]["message"], "gateway north unreachable: no heartbeat for 1.6 s");
  clock_.advance(5s);
  session.tick();
  EXPECT_EQ(ofType("gateway").size(), 2u) << "said once";
  session.onStatus(heartbeat(2, 0.5));
  ASSERT_EQ(ofType("gateway").size(), 3u);
  EXPECT_EQ(ofType("gateway")[2]["state"], "back");
  EXPECT_NEAR(ofType("gateway")[2]["silent_s"].get<double>(), 6.6, 0.01);
  session.onStatus(heartbeat(0, 0.5, 2));
  ASSERT_EQ(ofType("gateway").size(), 4u);
  EXPECT_EQ(ofType("gateway")[3]["state"], "restarted");
  const auto summary = session.summary({}, 1);
  EXPECT_EQ(summary["gateways"][0]["heartbeats"], 3);
  EXPECT_EQ(summary["gateways"][0]["unreachable"], 1);
  EXPECT_EQ(summary["gateways"][0]["restarts"], 1);
}

TEST_F(SessionTest, SequenceGapsDuplicatesAndResync) {
  Session session({}, output_, clock_);
  session.onVideo(video(10, false));  // joined mid-GOP: discarded
  session.onVideo(video(11, true));
  session.onVideo(video(12, false));
  session.onVideo(video(12, false));  // duplicate
  session.onVideo(video(15, false));  // gap: 13, 14 lost; discarded until a keyframe
  session.onVideo(video(16, true));
  session.onVideo(video(17, false));
  ASSERT_EQ(ofType("gap").size(), 1u);
  EXPECT_EQ(ofType("gap")[0]["expected"], 13);
  EXPECT_EQ(ofType("gap")[0]["got"], 15);
  EXPECT_EQ(ofType("gap")[0]["lost"], 2);
  const auto cam = session.summary({}, 1)["cameras"][0];
  EXPECT_EQ(cam["received"], 7);
  EXPECT_EQ(cam["duplicates"], 1);
  EXPECT_EQ(cam["gaps"], 1);
  EXPECT_EQ(cam["lost"], 2);
  EXPECT_EQ(cam["discarded_until_keyframe"], 2);
  EXPECT_EQ(cam["keyframes"], 2);
  EXPECT_EQ(cam["latency_capture_us"]["p50"], 500);
  EXPECT_EQ(cam["latency_gateway_us"]["max"], 100);
  EXPECT_EQ(cam["latency_capture_us"]["count"], 7);
}

TEST_F(SessionTest, PreRollUnitsAreCountedButNotInTheLatency) {
  Session session({}, output_, clock_);
  auto old = video(1, true);
  old.header.flags |= bus::kFlagPreRoll;
  old.header.capture_us = old.receive_us - 8'000'000;  // 8 s of pre-roll
  session.onVideo(old);
  session.onVideo(video(2, false));
  const auto cam = session.summary({}, 1)["cameras"][0];
  EXPECT_EQ(cam["received"], 2);
  EXPECT_EQ(cam["pre_roll"], 1);
  EXPECT_EQ(cam["latency_capture_us"]["count"], 1);
  EXPECT_EQ(cam["latency_capture_us"]["max"], 500);
}

TEST_F(SessionTest, AlarmEventsAreDeduplicatedByIdEventAndUpdateTime) {
  Session session({}, output_, clock_);
  bus::AlarmEventMessage m;
  m.site = "north";
  m.boot_id = 1;
  m.event.alarm.id.bytes[0] = 0xab;
  m.event.alarm.level = 1;
  m.event.alarm.updated_us = 100;
  m.seq = 1;
  session.onAlarm(m);
  session.onAlarm(m);  // resent
  m.event.kind = alarm::AlarmEventKind::kUpdated;
  m.event.alarm.updated_us = 200;
  m.seq = 2;
  session.onAlarm(m);
  m.event.alarm.updated_us = 300;  // another update of the same alarm is a new event
  m.seq = 3;
  session.onAlarm(m);
  EXPECT_EQ(ofType("alarm").size(), 3u);
  const auto summary = session.summary({}, 1);
  EXPECT_EQ(summary["alarm_events"]["unique"], 3);
  EXPECT_EQ(summary["alarm_events"]["duplicates"], 1);
}

}  // namespace
}  // namespace vcgate::sub
