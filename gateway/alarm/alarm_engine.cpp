#include "gateway/alarm/alarm_engine.h"

#include <algorithm>

#include <fmt/format.h>

namespace vcgate::alarm {
namespace {

constexpr size_t kMaxTypeLength = 64;
constexpr size_t kMaxDescriptionLength = 1024;
constexpr double kMaxRollS = 300;

}  // namespace

AlarmEngine::AlarmEngine(const config::Config& config, const core::Clock& clock, uint64_t seed)
    : clock_(clock), rng_(seed) {
  reconfigure(config);
}

void AlarmEngine::reconfigure(const config::Config& config) {
  camera_pre_roll_.clear();
  for (const auto& camera : config.cameras) camera_pre_roll_[camera.id] = camera.buffering.pre_roll_s;
  post_roll_s_ = config.alarms.post_roll_s;
}

core::Result<Alarm> AlarmEngine::raise(const RaiseRequest& request) {
  if (!validLevel(request.level))
    return core::makeCodedError("invalid_argument",
                                fmt::format("level {} is not 1, 2 or 3 (1 is the most urgent)", request.level));
  if (request.type.empty() || request.type.size() > kMaxTypeLength)
    return core::makeCodedError("invalid_argument",
                                fmt::format("an alarm needs a type of 1 to {} characters", kMaxTypeLength));
  if (request.description.size() > kMaxDescriptionLength)
    return core::makeCodedError("invalid_argument",
                                fmt::format("the description is longer than {} characters", kMaxDescriptionLength));
  if (request.cameras.empty())
    return core::makeCodedError("invalid_argument", "an alarm must cover at least one camera");
  for (const auto* roll : {&request.pre_roll_s, &request.post_roll_s})
    if (*roll && (**roll < 0 || **roll > kMaxRollS))
      return core::makeCodedError("invalid_argument", fmt::format("pre/post roll must be 0 to {} s", kMaxRollS));

  Alarm alarm;
  double pre_roll = 0;
  for (const auto& camera : request.cameras) {
    auto it = camera_pre_roll_.find(camera);
    if (it == camera_pre_roll_.end()) {
      std::string known;
      for (const auto& [id, _] : camera_pre_roll_) known += (known.empty() ? "" : ", ") + id;
      return core::makeCodedError("unknown_camera", fmt::format("no camera '{}' (known: {})", camera, known));
    }
    pre_roll = std::max(pre_roll, it->second);
    if (std::find(alarm.cameras.begin(), alarm.cameras.end(), camera) == alarm.cameras.end())
      alarm.cameras.push_back(camera);
  }
  alarm.id = AlarmId::random(rng_);
  alarm.source = request.source;
  alarm.type = request.type;
  alarm.level = request.level;
  alarm.description = request.description;
  alarm.rule = request.rule;
  alarm.trigger = request.trigger;
  alarm.raised_us = alarm.updated_us = clock_.wallMicros();
  alarm.pre_roll_s = request.pre_roll_s.value_or(pre_roll);
  alarm.post_roll_s = request.post_roll_s.value_or(post_roll_s_);
  active_[alarm.id] = alarm;
  emit(AlarmEventKind::kRaised, alarm);
  return alarm;
}

core::Result<AlarmId> AlarmEngine::parseId(const std::string& text) const {
  auto id = AlarmId::fromHex(text);
  if (!id) return core::makeCodedError("invalid_argument", fmt::format("'{}' is not an alarm id (32 hex digits)", text));
  return *id;
}

core::Result<Alarm> AlarmEngine::update(const std::string& text, const UpdateRequest& request) {
  auto id = parseId(text);
  if (!id) return id.error();
  auto it = active_.find(*id);
  if (it == active_.end()) return core::makeCodedError("unknown_alarm", fmt::format("no active alarm {}", text));
  if (request.level && !validLevel(*request.level))
    return core::makeCodedError("invalid_argument", fmt::format("level {} is not 1, 2 or 3", *request.level));
  if (request.description && request.description->size() > kMaxDescriptionLength)
    return core::makeCodedError("invalid_argument", "the description is too long");
  Alarm& alarm = it->second;
  const bool changed = (request.level && *request.level != alarm.level) ||
                       (request.description && *request.description != alarm.description);
  if (!changed) return alarm;  // nothing new: no event, and asking twice is harmless
  if (request.level) alarm.level = *request.level;
  if (request.description) alarm.description = *request.description;
  alarm.updated_us = clock_.wallMicros();
  emit(AlarmEventKind::kUpdated, alarm);
  return alarm;
}

core::Result<Alarm> AlarmEngine::clear(const std::string& text) {
  auto id = parseId(text);
  if (!id) return id.error();
  auto it = active_.find(*id);
  if (it == active_.end()) {
    auto done = std::find_if(recent_.begin(), recent_.end(), [&](const Alarm& a) { return a.id == *id; });
    if (done != recent_.end()) return *done;  // already cleared: idempotent
    return core::makeCodedError("unknown_alarm", fmt::format("no active alarm {}", text));
  }
  Alarm alarm = std::move(it->second);
  active_.erase(it);
  alarm.state = AlarmState::kCleared;
  alarm.cleared_us = alarm.updated_us = clock_.wallMicros();
  recent_.push_back(alarm);
  if (recent_.size() > kRecentKept) recent_.pop_front();
  emit(AlarmEventKind::kCleared, alarm);
  return alarm;
}

core::Result<Alarm> AlarmEngine::acknowledge(const std::string& text, const std::string& by) {
  auto id = parseId(text);
  if (!id) return id.error();
  Alarm* alarm = nullptr;
  if (auto it = active_.find(*id); it != active_.end()) alarm = &it->second;
  for (auto& a : recent_)
    if (a.id == *id) alarm = &a;
  if (!alarm) return core::makeCodedError("unknown_alarm", fmt::format("no alarm {}", text));
  if (alarm->acknowledged) return *alarm;
  alarm->acknowledged = true;
  alarm->acknowledged_by = by;
  alarm->updated_us = clock_.wallMicros();
  emit(AlarmEventKind::kAcknowledged, *alarm);
  return *alarm;
}

void AlarmEngine::restore(const std::vector<Alarm>& alarms) {
  for (const auto& alarm : alarms)
    if (alarm.state == AlarmState::kActive) active_[alarm.id] = alarm;
}

std::vector<Alarm> AlarmEngine::active() const {
  std::vector<Alarm> out;
  for (const auto& [_, alarm] : active_) out.push_back(alarm);
  std::sort(out.begin(), out.end(), [](const Alarm& a, const Alarm& b) { return a.raised_us < b.raised_us; });
  return out;
}

void AlarmEngine::emit(AlarmEventKind kind, const Alarm& alarm) {
  const AlarmEvent event{kind, alarm};
  for (const auto& listener : listeners_) listener(event);
}

}  // namespace vcgate::alarm
