#include "gateway/alarm/rule_engine.h"

#include <gtest/gtest.h>

#include "gateway/config/config.h"

namespace vcgate::alarm {
namespace {

using namespace std::chrono_literals;

// 2023-11-14 22:13:20 UTC is the ManualClock's wall-clock start (a Tuesday);
// these helpers compute unix µs for a given UTC day offset and time.
constexpr int64_t kTuesday0000Utc = 1'699'920'000'000'000;  // 2023-11-14 00:00:00 UTC
int64_t at(int day_offset, int hour, int minute) {
  return kTuesday0000Utc + ((int64_t{day_offset} * 24 + hour) * 60 + minute) * 60'000'000;
}

config::Config site() {
  config::Config config;
  for (const char* id : {"hall-b-1", "hall-b-2", "hall-b-3", "tracks"}) {
    config::CameraConfig camera;
    camera.id = id;
    config.cameras.push_back(camera);
  }
  return config;
}

class RuleEngineTest : public ::testing::Test {
 protected:
  void start(std::vector<config::RuleConfig> rules, uint64_t seed = 1) {
    engine_ = std::make_unique<AlarmEngine>(site(), clock_, seed);
    engine_->addListener([this](const AlarmEvent& e) { events_.push_back(e); });
    rules_ = std::make_unique<RuleEngine>(std::move(rules), *engine_, clock_);
  }
  void advance(std::chrono::milliseconds d) {
    clock_.advance(d);
    rules_->tick();
  }
  core::ManualClock clock_;
  std::unique_ptr<AlarmEngine> engine_;
  std::unique_ptr<RuleEngine> rules_;
  std::vector<AlarmEvent> events_;
};

config::RuleConfig panicRule() {
  config::RuleConfig rule;
  rule.name = "hall-b-panic";
  rule.source = "input";
  rule.input = "panic-hall-b";
  rule.type = "panic";
  rule.level = 1;
  rule.cameras = {"hall-b-1", "hall-b-2", "hall-b-3"};
  rule.auto_clear = false;
  return rule;
}

config::RuleConfig motionRule() {
  config::RuleConfig rule;
  rule.name = "tracks-motion";
  rule.source = "motion";
  rule.camera = "tracks";
  rule.zone = "platform-edge";
  rule.type = "intrusion";
  rule.level = 2;
  rule.debounce = 2s;
  rule.hold = 5s;
  rule.cooldown = 30s;
  return rule;
}

Trigger motion(bool active, std::string zone = "platform-edge") {
  return {.source = "motion", .camera = "tracks", .zone = std::move(zone), .input = "", .active = active, .detail = ""};
}

TEST_F(RuleEngineTest, APanicButtonRaisesOneAlarmCoveringItsCameras) {
  start({panicRule()});
  rules_->onTrigger({.source = "input", .camera = "", .zone = "", .input = "panic-hall-b", .active = true, .detail = ""});
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].alarm.type, "panic");
  EXPECT_EQ(events_[0].alarm.level, 1);
  EXPECT_EQ(events_[0].alarm.source, "input");
  EXPECT_EQ(events_[0].alarm.cameras, (std::vector<std::string>{"hall-b-1", "hall-b-2", "hall-b-3"}));
  // Released, pressed again: still the one alarm, never cleared by itself.
  rules_->onTrigger({.source = "input", .camera = "", .zone = "", .input = "panic-hall-b", .active = false, .detail = ""});
  rules_->onTrigger({.source = "input", .camera = "", .zone = "", .input = "panic-hall-b", .active = true, .detail = ""});
  advance(1h);
  EXPECT_EQ(events_.size(), 1u);
  EXPECT_EQ(engine_->active().size(), 1u);
}

TEST_F(RuleEngineTest, DebounceHoldAndCooldown) {
  start({motionRule()});
  // Shorter than the debounce: nothing.
  rules_->onTrigger(motion(true));
  advance(1500ms);
  rules_->onTrigger(motion(false));
  advance(10s);
  EXPECT_TRUE(events_.empty());
  // Lasting: raised once the debounce has passed, covering the camera that saw it.
  rules_->onTrigger(motion(true));
  advance(1999ms);
  EXPECT_TRUE(events_.empty());
  advance(1ms);
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].alarm.cameras, std::vector<std::string>{"tracks"});
  EXPECT_EQ(events_[0].alarm.source, "analytics");
  // Ends, comes back within the hold: the same alarm goes on.
  rules_->onTrigger(motion(false));
  advance(4s);
  rules_->onTrigger(motion(true));
  advance(10s);
  EXPECT_EQ(events_.size(), 1u);
  // Ends for longer than the hold: cleared.
  rules_->onTrigger(motion(false));
  advance(5s);
  ASSERT_EQ(events_.size(), 2u);
  EXPECT_EQ(events_[1].kind, AlarmEventKind::kCleared);
  // Cool-down: a new trigger within 30 s is ignored; after it, it counts again.
  rules_->onTrigger(motion(true));
  advance(10s);
  EXPECT_EQ(events_.size(), 2u);
  rules_->onTrigger(motion(false));
  advance(25s);
  rules_->onTrigger(motion(true));
  advance(2s);
  EXPECT_EQ(events_.size(), 3u);
}

TEST_F(RuleEngineTest, OtherZonesAndCamerasDoNotMatch) {
  start({motionRule()});
  rules_->onTrigger(motion(true, "concourse"));
  rules_->onTrigger({.source = "motion", .camera = "hall-b-1", .zone = "platform-edge", .input = "", .active = true, .detail = ""});
  rules_->onTrigger({.source = "blackout", .camera = "tracks", .zone = "", .input = "", .active = true, .detail = ""});
  advance(1min);
  EXPECT_TRUE(events_.empty());
}

Trigger panic(bool active) {
  return {.source = "input", .camera = "", .zone = "", .input = "panic-hall-b", .active = active, .detail = ""};
}

// A gateway restart: what was active goes back into a fresh AlarmEngine (as
// the daemon restores it from active-alarms.json) and a fresh RuleEngine
// adopts what its rules raised. The events recorded so far are dropped.
class RuleEngineRestartTest : public RuleEngineTest {
 protected:
  size_t restart(std::vector<config::RuleConfig> rules) {
    const auto saved = engine_->active();
    rules_.reset();
    events_.clear();
    start(std::move(rules), /*seed=*/2);  // new alarm ids, as after a real restart
    engine_->restore(saved);
    // As the daemon wires it: a clear from outside reaches the rules.
    engine_->addListener([this](const AlarmEvent& e) {
      if (e.kind == AlarmEventKind::kCleared) rules_->onAlarmCleared(e.alarm.id.hex());
    });
    return rules_->adopt(saved);
  }
  std::string raisedId(size_t i) const { return events_.at(i).alarm.id.hex(); }
};

TEST_F(RuleEngineRestartTest, AnAlarmRaisedByARuleIsStillOneAlarmAfterARestart) {
  start({panicRule(), motionRule()});
  rules_->onTrigger(panic(true));
  rules_->onTrigger(motion(true));
  advance(2s);
  ASSERT_EQ(events_.size(), 2u);
  const std::string panic_id = raisedId(0), motion_id = raisedId(1);
  EXPECT_EQ(events_[0].alarm.rule, "hall-b-panic");
  EXPECT_EQ(events_[0].alarm.trigger, "panic-hall-b");
  EXPECT_EQ(events_[1].alarm.rule, "tracks-motion");
  EXPECT_EQ(events_[1].alarm.trigger, "tracks");

  EXPECT_EQ(restart({panicRule(), motionRule()}), 2u);
  // The button is still held and the motion goes on: the same two alarms, no new ones.
  rules_->onTrigger(panic(true));
  rules_->onTrigger(motion(true));
  advance(1min);
  EXPECT_TRUE(events_.empty()) << "raised a duplicate: " << events_.front().alarm.rule;
  EXPECT_EQ(engine_->active().size(), 2u);

  // The motion ends: its rule clears the restored alarm after the hold.
  rules_->onTrigger(motion(false));
  advance(5s);
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].kind, AlarmEventKind::kCleared);
  EXPECT_EQ(events_[0].alarm.id.hex(), motion_id);

  // The panic alarm waits for an operator; once cleared, the button raises anew.
  rules_->onTrigger(panic(false));
  advance(1h);
  EXPECT_EQ(events_.size(), 1u);
  ASSERT_TRUE(engine_->clear(panic_id).ok());
  ASSERT_EQ(events_.size(), 2u);
  advance(1s);
  rules_->onTrigger(panic(true));
  ASSERT_EQ(events_.size(), 3u);
  EXPECT_EQ(events_[2].kind, AlarmEventKind::kRaised);
  EXPECT_NE(raisedId(2), panic_id);
  EXPECT_EQ(engine_->active().size(), 1u);
}

TEST_F(RuleEngineRestartTest, AnAdoptedAlarmWhoseTriggerDoesNotComeBackClears) {
  auto rule = motionRule();
  rule.hold = 0s;
  start({rule});
  rules_->onTrigger(motion(true));
  advance(2s);
  ASSERT_EQ(events_.size(), 1u);
  const std::string id = raisedId(0);
  ASSERT_EQ(restart({rule}), 1u);
  // Time for the cameras to come back and be seen, then cleared as if the motion had ended at the start.
  advance(std::chrono::duration_cast<std::chrono::milliseconds>(RuleEngine::kAdoptGrace) - 1ms);
  EXPECT_TRUE(events_.empty());
  advance(1ms);
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].kind, AlarmEventKind::kCleared);
  EXPECT_EQ(events_[0].alarm.id.hex(), id);
}

TEST_F(RuleEngineRestartTest, OnlyAlarmsTheCurrentRulesWouldRaiseAreAdopted) {
  start({panicRule(), motionRule()});
  rules_->onTrigger(panic(true));
  rules_->onTrigger(motion(true));
  advance(2s);
  RaiseRequest manual;  // a technician's alarm of the same type on the same camera
  manual.type = "intrusion";
  manual.cameras = {"tracks"};
  ASSERT_TRUE(engine_->raise(manual).ok());
  // The panic rule now covers other cameras, the motion rule is gone.
  auto edited = panicRule();
  edited.cameras = {"hall-b-1"};
  EXPECT_EQ(restart({edited}), 0u);
  rules_->onTrigger(panic(true));
  EXPECT_EQ(events_.size(), 1u) << "the edited rule raises its own alarm";
  EXPECT_EQ(engine_->active().size(), 4u);
}

// Alarms raised before they carried their rule's name: the rule's description says it.
TEST_F(RuleEngineRestartTest, AlarmsWithoutARuleNameAreKnownByTheirDescription) {
  start({motionRule()});
  rules_->onTrigger(motion(true));
  advance(2s);
  ASSERT_EQ(events_.size(), 1u);
  auto saved = engine_->active();
  ASSERT_EQ(saved.size(), 1u);
  EXPECT_EQ(saved[0].description, "rule tracks-motion: motion");
  saved[0].rule.clear();
  saved[0].trigger.clear();
  rules_.reset();
  events_.clear();
  start({motionRule()});
  engine_->restore(saved);
  EXPECT_EQ(rules_->adopt(saved), 1u);
  rules_->onTrigger(motion(true));
  advance(1min);
  EXPECT_TRUE(events_.empty());
}

TEST(Schedule, WindowsInATimeZoneAndAcrossMidnight) {
  config::ScheduleConfig mall;  // a mall's opening hours in Shanghai (UTC+8), every day
  mall.timezone = "Asia/Shanghai";
  mall.from_minute = 10 * 60;
  mall.to_minute = 22 * 60;
  EXPECT_TRUE(scheduleOpen(mall, at(0, 2, 0)));    // 10:00 local
  EXPECT_FALSE(scheduleOpen(mall, at(0, 1, 59)));  // 09:59 local
  EXPECT_FALSE(scheduleOpen(mall, at(0, 14, 0)));  // 22:00 local

  config::ScheduleConfig night;  // after hours, weekdays, crossing midnight, in UTC
  night.days = {0, 1, 2, 3, 4};
  night.from_minute = 22 * 60;
  night.to_minute = 6 * 60;
  EXPECT_TRUE(scheduleOpen(night, at(0, 23, 0)));   // Tuesday 23:00
  EXPECT_TRUE(scheduleOpen(night, at(1, 5, 0)));    // Wednesday 05:00, window began Tuesday
  EXPECT_FALSE(scheduleOpen(night, at(1, 7, 0)));   // Wednesday 07:00
  EXPECT_TRUE(scheduleOpen(night, at(3, 23, 30)));   // Friday 23:30
  EXPECT_TRUE(scheduleOpen(night, at(4, 3, 0)));     // Saturday 03:00: the window began on Friday
  EXPECT_FALSE(scheduleOpen(night, at(4, 23, 30)));  // Saturday 23:30: weekends are not listed
}

TEST_F(RuleEngineTest, SchedulesGateAndEscalate) {
  auto rule = motionRule();
  rule.debounce = 0ms;
  rule.cooldown = 0ms;
  config::ScheduleConfig after_hours;
  after_hours.from_minute = 22 * 60 + 13;  // the clock starts at 22:13:20 UTC
  after_hours.to_minute = 6 * 60;
  rule.escalate_schedule = after_hours;
  rule.escalate_level = 1;
  start({rule});
  rules_->onTrigger(motion(true));
  ASSERT_EQ(events_.size(), 1u);
  EXPECT_EQ(events_[0].alarm.level, 1) << "motion in the closed area after hours is level 1";
  rules_->onTrigger(motion(false));
  advance(5s);
  advance(8h);  // 06:13 UTC: daytime
  rules_->onTrigger(motion(true));
  ASSERT_EQ(events_.size(), 3u);
  EXPECT_EQ(events_[2].alarm.level, 2);

  // A schedule on the rule itself: outside it, nothing fires.
  auto gated = motionRule();
  gated.name = "gated";
  gated.debounce = 0ms;
  gated.schedule = after_hours;
  rules_->reconfigure({gated});
  rules_->onTrigger(motion(false));
  rules_->onTrigger(motion(true));
  EXPECT_EQ(events_.size(), 3u);
}

TEST(RuleConfig, LoadsRulesAndReportsMistakes) {
  const std::string cameras = "cameras:\n  - {id: hall-b-1, uri: test://a}\n  - {id: tracks, uri: test://b}\n";
  const auto good = config::loadConfigText("site: {id: s}\n" + cameras + R"(rules:
  - name: panic
    when: {source: input, input: panic-hall-b}
    raise: {type: panic, level: 1}
    cameras: [hall-b-1]
    auto_clear: false
  - name: tracks
    when: {source: motion, camera: tracks, zone: edge}
    debounce_s: 1.5
    hold_s: 20
    schedule: {timezone: Asia/Shanghai, days: [mon, tue], from: "22:00", to: "06:00"}
    escalate: {level: 1, schedule: {from: "00:00", to: "05:00"}}
)",
                                           "x.yaml");
  ASSERT_TRUE(good.ok()) << good.diagnostics.front().format();
  const auto& rules = good.config->rules;
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0].input, "panic-hall-b");
  EXPECT_FALSE(rules[0].auto_clear);
  EXPECT_EQ(rules[1].type, "motion");
  EXPECT_EQ(rules[1].debounce, 1500ms);
  ASSERT_TRUE(rules[1].schedule);
  EXPECT_EQ(rules[1].schedule->timezone, "Asia/Shanghai");
  EXPECT_EQ(rules[1].schedule->days, (std::vector<int>{0, 1}));
  EXPECT_EQ(rules[1].schedule->from_minute, 22 * 60);
  ASSERT_TRUE(rules[1].escalate_schedule);
  EXPECT_EQ(rules[1].escalate_level, 1);

  const auto bad = config::loadConfigText("site: {id: s}\n" + cameras + R"(rules:
  - name: one
    when: {source: motion, camera: trcks}
  - name: two
    when: {source: input, input: x}
  - name: three
    when: {source: sound}
    schedule: {timezone: Mars/Olympus, from: "25:00"}
)",
                                          "x.yaml");
  ASSERT_FALSE(bad.ok());
  std::string all;
  for (const auto& d : bad.diagnostics) all += d.format() + "\n";
  EXPECT_NE(all.find("x.yaml:7:36: error: rule 1 ('one'): no camera 'trcks' in this config: did you mean 'tracks'?"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("must list the cameras it covers"), std::string::npos) << all;
  EXPECT_NE(all.find("x.yaml:11:20:"), std::string::npos) << all;  // unknown source
  EXPECT_NE(all.find("unknown time zone 'Mars/Olympus'"), std::string::npos) << all;
  EXPECT_NE(all.find("'25:00' is not a time of day"), std::string::npos) << all;
}

}  // namespace
}  // namespace vcgate::alarm
