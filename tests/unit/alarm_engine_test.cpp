#include "gateway/alarm/alarm_engine.h"

#include <gtest/gtest.h>

#include "gateway/alarm/video_loss_monitor.h"

namespace vcgate::alarm {
namespace {

config::Config twoCameras() {
  config::Config config;
  config.site.id = "s";
  config::CameraConfig a;
  a.id = "a";
  a.buffering.pre_roll_s = 5;
  config::CameraConfig b;
  b.id = "b";
  b.buffering.pre_roll_s = 8;
  config.cameras = {a, b};
  config.alarms.post_roll_s = 3;
  return config;
}

class AlarmEngineTest : public ::testing::Test {
 protected:
  AlarmEngineTest() : engine_(twoCameras(), clock_, 1) {
    engine_.addListener([this](const AlarmEvent& e) { events_.push_back(e); });
  }
  RaiseRequest request(std::vector<std::string> cameras, int level = 2) {
    RaiseRequest r;
    r.type = "intrusion";
    r.level = level;
    r.cameras = std::move(cameras);
    return r;
  }
  core::ManualClock clock_;
  AlarmEngine engine_;
  std::vector<AlarmEvent> events_;
};

TEST_F(AlarmEngineTest, RaiseThenClearEmitsTwoEventsForOneId) {
  auto raised = engine_.raise(request({"a", "b"}));
  ASSERT_TRUE(raised.ok()) << raised.error().message;
  EXPECT_EQ(raised->pre_roll_s, 8) << "the longest pre-roll of the covered cameras";
  EXPECT_EQ(raised->post_roll_s, 3);
  EXPECT_EQ(engine_.active().size(), 1u);
  clock_.advance(std::chrono::seconds(2));
  auto cleared = engine_.clear(raised->id.hex());
  ASSERT_TRUE(cleared.ok());
  EXPECT_EQ(cleared->state, AlarmState::kCleared);
  EXPECT_EQ(cleared->cleared_us - cleared->raised_us, 2'000'000);
  ASSERT_EQ(events_.size(), 2u);
  EXPECT_EQ(events_[0].kind, AlarmEventKind::kRaised);
  EXPECT_EQ(events_[1].kind, AlarmEventKind::kCleared);
  EXPECT_EQ(events_[0].alarm.id, events_[1].alarm.id);
  EXPECT_TRUE(engine_.active().empty());
  EXPECT_EQ(engine_.recent().size(), 1u);
  // Clearing again is harmless and emits nothing.
  EXPECT_TRUE(engine_.clear(raised->id.hex()).ok());
  EXPECT_EQ(events_.size(), 2u);
}

TEST_F(AlarmEngineTest, EscalationIsAnUpdateOfTheSameAlarm) {
  auto raised = engine_.raise(request({"a"}, 3));
  auto escalated = engine_.update(raised->id.hex(), {.level = 1, .description = std::nullopt});
  ASSERT_TRUE(escalated.ok());
  EXPECT_EQ(escalated->level, 1);
  EXPECT_EQ(escalated->id, raised->id);
  ASSERT_EQ(events_.size(), 2u);
  EXPECT_EQ(events_[1].kind, AlarmEventKind::kUpdated);
  EXPECT_EQ(engine_.active().size(), 1u);
  // The same level again changes nothing.
  EXPECT_TRUE(engine_.update(raised->id.hex(), {.level = 1, .description = std::nullopt}).ok());
  EXPECT_EQ(events_.size(), 2u);
}

TEST_F(AlarmEngineTest, RefusalsCarryCodesAndSayWhy) {
  auto unknown_camera = engine_.raise(request({"a", "zz"}));
  ASSERT_FALSE(unknown_camera.ok());
  EXPECT_EQ(unknown_camera.error().code, "unknown_camera");
  EXPECT_NE(unknown_camera.error().message.find("no camera 'zz' (known: a, b)"), std::string::npos);
  auto bad_level = engine_.raise(request({"a"}, 4));
  EXPECT_EQ(bad_level.error().code, "invalid_argument");
  EXPECT_EQ(engine_.raise(request({})).error().code, "invalid_argument");
  auto no_type = request({"a"});
  no_type.type.clear();
  EXPECT_EQ(engine_.raise(no_type).error().code, "invalid_argument");
  EXPECT_EQ(engine_.clear("nonsense").error().code, "invalid_argument");
  EXPECT_EQ(engine_.clear(std::string(32, 'a')).error().code, "unknown_alarm");
  EXPECT_EQ(engine_.acknowledge(std::string(32, 'a'), "op").error().code, "unknown_alarm");
  EXPECT_TRUE(events_.empty());
}

TEST_F(AlarmEngineTest, AcknowledgeOnceActiveOrCleared) {
  auto raised = engine_.raise(request({"a"}));
  auto acked = engine_.acknowledge(raised->id.hex(), "operator-7");
  ASSERT_TRUE(acked.ok());
  EXPECT_TRUE(acked->acknowledged);
  EXPECT_EQ(acked->acknowledged_by, "operator-7");
  EXPECT_TRUE(engine_.acknowledge(raised->id.hex(), "again").ok());
  EXPECT_EQ(events_.size(), 2u) << "a second ack emits nothing";
}

TEST(VideoLossMonitor, RaisesAfterTheDelayAndClearsOnRecovery) {
  core::ManualClock clock;
  AlarmEngine engine(twoCameras(), clock, 1);
  std::vector<AlarmEvent> events;
  engine.addListener([&](const AlarmEvent& e) { events.push_back(e); });
  config::VideoLossConfig loss;
  loss.after = std::chrono::seconds(10);
  loss.level = 2;
  VideoLossMonitor monitor(engine, clock, loss);

  monitor.observe("a", true, "");
  clock.advance(std::chrono::seconds(9));
  monitor.observe("a", false, "connection refused");
  EXPECT_TRUE(events.empty());
  clock.advance(std::chrono::seconds(1));
  monitor.observe("a", false, "connection refused");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].alarm.type, "video_loss");
  EXPECT_EQ(events[0].alarm.source, "video_loss");
  EXPECT_EQ(events[0].alarm.level, 2);
  EXPECT_EQ(events[0].alarm.cameras, std::vector<std::string>{"a"});
  EXPECT_NE(events[0].alarm.description.find("connection refused"), std::string::npos);
  clock.advance(std::chrono::seconds(30));
  monitor.observe("a", false, "connection refused");
  EXPECT_EQ(events.size(), 1u) << "one alarm per outage";
  monitor.observe("a", true, "");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].kind, AlarmEventKind::kCleared);
}

// After a restart the restored video loss alarm is the monitor's again:
// not raised a second time while the camera stays dark, cleared when it is back.
TEST(VideoLossMonitor, ARestoredAlarmIsClearedWhenVideoIsBackAndNotRaisedTwice) {
  core::ManualClock clock;
  config::VideoLossConfig loss;
  loss.after = std::chrono::seconds(5);
  std::vector<Alarm> saved;
  {
    AlarmEngine engine(twoCameras(), clock, 1);
    VideoLossMonitor monitor(engine, clock, loss);
    monitor.observe("a", false, "");
    clock.advance(std::chrono::seconds(5));
    monitor.observe("a", false, "");
    saved = engine.active();
  }
  ASSERT_EQ(saved.size(), 1u);
  AlarmEngine engine(twoCameras(), clock, 2);
  std::vector<AlarmEvent> events;
  engine.addListener([&](const AlarmEvent& e) { events.push_back(e); });
  engine.restore(saved);
  VideoLossMonitor monitor(engine, clock, loss);
  EXPECT_EQ(monitor.adopt(saved), 1u);
  monitor.observe("a", false, "");
  clock.advance(std::chrono::seconds(30));
  monitor.observe("a", false, "");
  EXPECT_TRUE(events.empty()) << "raised a second video loss alarm";
  monitor.observe("a", true, "");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, AlarmEventKind::kCleared);
  EXPECT_EQ(events[0].alarm.id, saved[0].id);
  EXPECT_TRUE(engine.active().empty());
}

TEST(VideoLossMonitor, ACameraThatNeverConnectsAlsoCounts) {
  core::ManualClock clock;
  AlarmEngine engine(twoCameras(), clock, 1);
  config::VideoLossConfig loss;
  loss.after = std::chrono::seconds(5);
  VideoLossMonitor monitor(engine, clock, loss);
  monitor.observe("b", false, "");
  clock.advance(std::chrono::seconds(5));
  monitor.observe("b", false, "");
  EXPECT_EQ(engine.active().size(), 1u);
  monitor.forget("b");
  EXPECT_TRUE(engine.active().empty());
}

}  // namespace
}  // namespace vcgate::alarm
