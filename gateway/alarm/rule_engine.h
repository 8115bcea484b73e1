// RuleEngine: turns triggers — analytics detections, board inputs — into
// alarms through the AlarmEngine, following the `rules:` of the config:
// which trigger raises which alarm type at which level covering which cameras,
// with debounce (the trigger must last), hold (the alarm outlasts the
// trigger), cool-down (no re-raise right after a clear), schedules in a time
// zone (a mall's opening hours) and escalation (after hours, level 1).
//
// Each (rule, triggering camera or input) pair is one small state machine:
//   idle --trigger on--> pending --debounce elapsed, schedule open--> raised
//   raised --trigger off--> holding --hold elapsed--> (clear) cooling --cooldown--> idle
//   holding --trigger on--> raised;  pending --trigger off--> idle
// With auto_clear: false a raised alarm stays until an operator clears it.
// A rule's alarm carries the rule's name and its trigger (Alarm::rule,
// Alarm::trigger), so that after a restart adopt() hands the restored alarm
// back to its state machine: one alarm stays one alarm.
// Main thread only; time comes from the injected Clock (tick() drives it).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "gateway/alarm/alarm_engine.h"
#include "gateway/config/config.h"
#include "gateway/core/clock.h"

namespace vcgate::alarm {

struct Trigger {
  std::string source;  // motion | blackout | scene_change | defocus | input
  std::string camera;  // the camera that saw it (analytics); empty for inputs
  std::string zone;    // motion zone name
  std::string input;   // board input id
  bool active = true;  // the condition started (true) or ended (false)
  std::string detail;  // for the alarm description, e.g. "score 0.42"
};

// True if the wall-clock time `unix_us` falls inside the schedule, in its time zone.
bool scheduleOpen(const config::ScheduleConfig& schedule, int64_t unix_us);

class RuleEngine {
 public:
  // An adopted alarm of an auto-clearing rule waits at least this long for
  // its trigger to come back after a restart (cameras reconnect, analytics
  // sees its first keyframes, the board reads its lines) before it clears.
  static constexpr std::chrono::seconds kAdoptGrace{15};

  RuleEngine(std::vector<config::RuleConfig> rules, AlarmEngine& alarms, const core::Clock& clock);
  // New rules after a reload; instances of removed or changed rules are dropped
  // (their alarms stay until cleared).
  void reconfigure(std::vector<config::RuleConfig> rules);

  void onTrigger(const Trigger& trigger);
  void tick();
  // An alarm cleared from outside (operator, platform): forget it.
  void onAlarmCleared(const std::string& alarm_id);
  // After a restart, with the alarms the AlarmEngine restored: each active
  // one that a current rule raised (same rule name, source, type and cameras)
  // is that rule's again for its trigger, so a trigger that is still on, or
  // comes back, keeps it instead of raising a second alarm, and the rule
  // clears it as before. An auto-clearing rule's alarm starts as if its
  // trigger had just ended: it clears after the rule's hold (at least
  // kAdoptGrace) unless the trigger comes back. Returns how many were adopted.
  size_t adopt(const std::vector<Alarm>& restored);

  size_t instances() const { return instances_.size(); }

 private:
  enum class Phase { kPending, kRaised, kHolding, kCooling };
  struct Instance {
    Phase phase = Phase::kPending;
    core::TimePoint since;  // when the current phase started (or its deadline base)
    std::string camera;     // the triggering camera, if any
    std::string alarm_id;
    std::string detail;
  };
  using Key = std::tuple<std::string, std::string>;  // rule name, camera or input id

  bool matches(const config::RuleConfig& rule, const Trigger& trigger) const;
  // The trigger (camera or input) under which `rule` raised `alarm`; nullopt if it did not.
  static std::optional<std::string> ownTrigger(const config::RuleConfig& rule, const Alarm& alarm);
  void raise(const config::RuleConfig& rule, Instance& instance);
  void clear(Instance& instance);

  std::vector<config::RuleConfig> rules_;
  AlarmEngine& alarms_;
  const core::Clock& clock_;
  std::map<Key, Instance> instances_;
};

}  // namespace vcgate::alarm
