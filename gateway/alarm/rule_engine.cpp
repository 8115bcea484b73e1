#include "gateway/alarm/rule_engine.h"

#include <glib.h>

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace vcgate::alarm {

bool scheduleOpen(const config::ScheduleConfig& schedule, int64_t unix_us) {
  GTimeZone* zone = g_time_zone_new_identifier(schedule.timezone.c_str());
  if (!zone) zone = g_time_zone_new_utc();  // validated at load; stay defined if tzdata vanished
  GDateTime* utc = g_date_time_new_from_unix_utc(unix_us / 1'000'000);
  GDateTime* local = g_date_time_to_timezone(utc, zone);
  const int minute = g_date_time_get_hour(local) * 60 + g_date_time_get_minute(local);
  const int today = g_date_time_get_day_of_week(local) - 1;  // GLib: 1 = Monday
  g_date_time_unref(local);
  g_date_time_unref(utc);
  g_time_zone_unref(zone);

  const auto day_listed = [&](int day) {
    return std::find(schedule.days.begin(), schedule.days.end(), (day + 7) % 7) != schedule.days.end();
  };
  if (schedule.from_minute <= schedule.to_minute)
    return day_listed(today) && minute >= schedule.from_minute && minute < schedule.to_minute;
  // Crosses midnight: the evening part belongs to today, the morning part to the window that began yesterday.
  if (minute >= schedule.from_minute) return day_listed(today);
  if (minute < schedule.to_minute) return day_listed(today - 1);
  return false;
}

RuleEngine::RuleEngine(std::vector<config::RuleConfig> rules, AlarmEngine& alarms, const core::Clock& clock)
    : rules_(std::move(rules)), alarms_(alarms), clock_(clock) {}

void RuleEngine::reconfigure(std::vector<config::RuleConfig> rules) {
  std::erase_if(instances_, [&](const auto& item) {
    const auto& name = std::get<0>(item.first);
    const auto old_rule = std::find_if(rules_.begin(), rules_.end(), [&](const auto& r) { return r.name == name; });
    const auto new_rule = std::find_if(rules.begin(), rules.end(), [&](const auto& r) { return r.name == name; });
    return old_rule == rules_.end() || new_rule == rules.end() || !(*old_rule == *new_rule);
  });
  rules_ = std::move(rules);
}

bool RuleEngine::matches(const config::RuleConfig& rule, const Trigger& trigger) const {
  if (rule.source != trigger.source) return false;
  if (rule.source == "input") return rule.input == trigger.input;
  if (rule.camera != "*" && rule.camera != trigger.camera) return false;
  if (rule.source == "motion" && rule.zone != "*" && rule.zone != trigger.zone) return false;
  return true;
}

void RuleEngine::onTrigger(const Trigger& trigger) {
  const auto now = clock_.now();
  for (const auto& rule : rules_) {
    if (!matches(rule, trigger)) continue;
    const Key key{rule.name, rule.source == "input" ? trigger.input : trigger.camera};
    auto it = instances_.find(key);
    if (trigger.active) {
      if (it == instances_.end()) {
        Instance instance;
        instance.since = now;
        instance.camera = trigger.camera;
        instance.detail = trigger.detail;
        it = instances_.emplace(key, std::move(instance)).first;
      } else if (it->second.phase == Phase::kHolding) {
        it->second.phase = Phase::kRaised;  // back before the hold ran out: the same alarm goes on
      }
    } else if (it != instances_.end()) {
      Instance& instance = it->second;
      if (instance.phase == Phase::kPending) {
        instances_.erase(it);  // shorter than the debounce: never an alarm
      } else if (instance.phase == Phase::kRaised && rule.auto_clear) {
        instance.phase = Phase::kHolding;
        instance.since = now;
      }
    }
  }
  tick();  // a zero debounce raises at once
}

void RuleEngine::tick() {
  const auto now = clock_.now();
  for (auto it = instances_.begin(); it != instances_.end();) {
    const auto& name = std::get<0>(it->first);
    const auto rule = std::find_if(rules_.begin(), rules_.end(), [&](const auto& r) { return r.name == name; });
    Instance& instance = it->second;
    bool erase = rule == rules_.end();
    if (!erase) {
      switch (instance.phase) {
        case Phase::kPending:
          if (now - instance.since >= rule->debounce) {
            if (rule->schedule && !scheduleOpen(*rule->schedule, clock_.wallMicros())) {
              erase = true;  // outside the rule's hours: this trigger is ignored
            } else {
              raise(*rule, instance);
              erase = instance.alarm_id.empty();
            }
          }
          break;
        case Phase::kHolding:
          if (now - instance.since >= rule->hold) {
            clear(instance);
            instance.phase = Phase::kCooling;
            instance.since = now;
          }
          break;
        case Phase::kCooling:
          erase = now - instance.since >= rule->cooldown;
          break;
        case Phase::kRaised:
          break;
      }
    }
    it = erase ? instances_.erase(it) : std::next(it);
  }
}

void RuleEngine::raise(const config::RuleConfig& rule, Instance& instance) {
  RaiseRequest request;
  request.source = rule.source == "input" ? "input" : "analytics";
  request.type = rule.type;
  request.level = rule.level;
  if (rule.escalate_schedule && scheduleOpen(*rule.escalate_schedule, clock_.wallMicros()))
    request.level = rule.escalate_level;
  request.cameras = rule.cameras.empty() ? std::vector<std::string>{instance.camera} : rule.cameras;
  request.rule = rule.name;
  request.trigger = rule.source == "input" ? rule.input : instance.camera;
  request.description = rule.description.empty()
                            ? fmt::format("rule {}: {}{}", rule.name, rule.source,
                                          instance.detail.empty() ? "" : " (" + instance.detail + ")")
                            : rule.description;
  auto raised = alarms_.raise(request);
  if (!raised) {
    spdlog::warn("rule {}: cannot raise: {}", rule.name, raised.error().message);
    return;
  }
  instance.alarm_id = raised->id.hex();
  instance.phase = Phase::kRaised;
}

void RuleEngine::clear(Instance& instance) {
  if (instance.alarm_id.empty()) return;
  if (auto cleared = alarms_.clear(instance.alarm_id); !cleared)
    spdlog::warn("clearing alarm {}: {}", instance.alarm_id, cleared.error().message);
  instance.alarm_id.clear();
}

void RuleEngine::onAlarmCleared(const std::string& alarm_id) {
  for (auto& [key, instance] : instances_) {
    if (instance.alarm_id != alarm_id) continue;
    instance.alarm_id.clear();
    instance.phase = Phase::kCooling;
    instance.since = clock_.now();
  }
}

std::optional<std::string> RuleEngine::ownTrigger(const config::RuleConfig& rule, const Alarm& alarm) {
  if (alarm.state != AlarmState::kActive) return std::nullopt;
  const bool input = rule.source == "input";
  if (alarm.source != (input ? "input" : "analytics") || alarm.type != rule.type) return std::nullopt;
  if (!alarm.rule.empty()) {
    if (alarm.rule != rule.name) return std::nullopt;
  } else {
    // Raised before alarms named their rule: the description says which.
    const bool described = rule.description.empty() ? alarm.description.starts_with("rule " + rule.name + ": ")
                                                    : alarm.description == rule.description;
    if (!described) return std::nullopt;
  }
  std::string trigger = alarm.trigger;
  if (trigger.empty()) {  // the same: what the rule's own settings and the cameras say
    if (input)
      trigger = rule.input;
    else if (rule.cameras.empty() && alarm.cameras.size() == 1)
      trigger = alarm.cameras.front();
    else if (rule.camera != "*")
      trigger = rule.camera;
    else
      return std::nullopt;
  }
  if (input ? trigger != rule.input : (rule.camera != "*" && trigger != rule.camera)) return std::nullopt;
  // The cameras the rule would cover now (a rule edited since covers others: not its alarm any more).
  std::vector<std::string> expected = rule.cameras.empty() ? std::vector<std::string>{trigger} : rule.cameras;
  std::vector<std::string> covered = alarm.cameras;
  std::sort(expected.begin(), expected.end());
  expected.erase(std::unique(expected.begin(), expected.end()), expected.end());
  std::sort(covered.begin(), covered.end());
  if (covered != expected) return std::nullopt;
  return trigger;
}

size_t RuleEngine::adopt(const std::vector<Alarm>& restored) {
  const auto now = clock_.now();
  size_t adopted = 0;
  for (const auto& alarm : restored) {
    for (const auto& rule : rules_) {
      const auto trigger = ownTrigger(rule, alarm);
      if (!trigger) continue;
      const Key key{rule.name, *trigger};
      if (instances_.contains(key)) break;  // one alarm per rule and trigger; a second stays as it is
      Instance instance;
      instance.camera = rule.source == "input" ? "" : *trigger;
      instance.alarm_id = alarm.id.hex();
      if (rule.auto_clear) {
        // As if the trigger had just ended, with time for it to be seen again.
        instance.phase = Phase::kHolding;
        instance.since = now + std::max<core::Duration>(core::Duration::zero(), kAdoptGrace - rule.hold);
      } else {
        instance.phase = Phase::kRaised;
        instance.since = now;
      }
      instances_.emplace(key, std::move(instance));
      spdlog::info("rule {}: alarm {} ({}) is its own again after the restart", rule.name, alarm.id.hex(), *trigger);
      ++adopted;
      break;
    }
  }
  return adopted;
}

}  // namespace vcgate::alarm
