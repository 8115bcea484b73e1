// AlarmEngine: the one place where alarms are raised, changed, cleared and
// acknowledged, whatever their source (technician, platform, video loss, and
// later analytics and board inputs). Every change becomes one AlarmEvent,
// handed to the listeners in order (the bus publishes it, the publisher
// starts or stops tagged video).
// Main thread only; listeners are called synchronously on it and must not block.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "gateway/alarm/alarm.h"
#include "gateway/config/config.h"
#include "gateway/core/clock.h"
#include "gateway/core/result.h"

namespace vcgate::alarm {

struct RaiseRequest {
  std::string source = "manual";
  std::string type;
  int level = 3;
  std::vector<std::string> cameras;
  std::string description;
  std::string rule;     // rule engine only: the rule's name and its trigger (Alarm::rule, Alarm::trigger)
  std::string trigger;
  std::optional<double> pre_roll_s;   // default: the longest pre-roll of the covered cameras
  std::optional<double> post_roll_s;  // default: alarms.post_roll_s
};

struct UpdateRequest {
  std::optional<int> level;
  std::optional<std::string> description;
};

class AlarmEngine {
 public:
  using Listener = std::function<void(const AlarmEvent&)>;
  static constexpr size_t kRecentKept = 100;

  AlarmEngine(const config::Config& config, const core::Clock& clock, uint64_t seed = std::random_device{}());

  // Cameras and defaults after a reload; active alarms on removed cameras stay
  // until cleared (their video simply stops).
  void reconfigure(const config::Config& config);
  void addListener(Listener listener) { listeners_.push_back(std::move(listener)); }

  // Errors carry a code: invalid_argument, unknown_camera, unknown_alarm.
  core::Result<Alarm> raise(const RaiseRequest& request);
  core::Result<Alarm> update(const std::string& id, const UpdateRequest& request);
  core::Result<Alarm> clear(const std::string& id);
  core::Result<Alarm> acknowledge(const std::string& id, const std::string& by);

  // Alarms that were active when the gateway stopped (read back from the
  // state directory): active again, without new events.
  void restore(const std::vector<Alarm>& alarms);

  std::vector<Alarm> active() const;
  const std::deque<Alarm>& recent() const { return recent_; }  // cleared, newest last

 private:
  void emit(AlarmEventKind kind, const Alarm& alarm);
  core::Result<AlarmId> parseId(const std::string& id) const;

  const core::Clock& clock_;
  std::mt19937_64 rng_;
  std::map<std::string, double> camera_pre_roll_;  // known cameras and their pre-roll
  double post_roll_s_ = 10;
  std::map<AlarmId, Alarm> active_;
  std::deque<Alarm> recent_;
  std::vector<Listener> listeners_;
};

}  // namespace vcgate::alarm
