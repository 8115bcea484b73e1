// Alarm: the unit of "something happened here". Level 1 is the most urgent
// (the city's three-level linkage response), 3 the least. An alarm covers one
// or more cameras; while it does, their published video carries its id and
// level (the alarm tag). Plain data, any thread.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace vcgate::alarm {

// 128 random bits: unique across gateways and restarts without coordination.
struct AlarmId {
  std::array<uint8_t, 16> bytes{};

  static AlarmId random(std::mt19937_64& rng);
  // 32 lower-case hex digits; nullopt for anything else.
  static std::optional<AlarmId> fromHex(std::string_view hex);
  std::string hex() const;
  bool operator==(const AlarmId&) const = default;
  auto operator<=>(const AlarmId&) const = default;
};

enum class AlarmState { kActive, kCleared };

inline constexpr int kMostUrgentLevel = 1;
inline constexpr int kLeastUrgentLevel = 3;
inline bool validLevel(int level) { return level >= kMostUrgentLevel && level <= kLeastUrgentLevel; }

struct Alarm {
  AlarmId id;
  std::string source;       // who raised it: "manual", "video_loss", "platform", ...
  std::string type;         // what happened: "intrusion", "video_loss", "panic", ...
  int level = 3;
  std::vector<std::string> cameras;
  std::string description;
  // For an alarm a rule raised (rules:): the rule's name and what set it off,
  // the camera (analytics) or the board input. Empty for every other alarm.
  // They let a restarted gateway give the alarm back to its rule.
  std::string rule;
  std::string trigger;
  AlarmState state = AlarmState::kActive;
  bool acknowledged = false;
  std::string acknowledged_by;
  int64_t raised_us = 0;    // wall clock, µs since the Unix epoch
  int64_t updated_us = 0;
  int64_t cleared_us = 0;   // 0 while active
  double pre_roll_s = 0;    // how much video before the raise the platform gets
  double post_roll_s = 0;   // how long after the clear video keeps flowing
};

// What happened to an alarm; each change is one event on the bus.
enum class AlarmEventKind { kRaised, kUpdated, kCleared, kAcknowledged };
std::string_view eventName(AlarmEventKind kind);
std::optional<AlarmEventKind> eventKindFromName(std::string_view name);

struct AlarmEvent {
  AlarmEventKind kind = AlarmEventKind::kRaised;
  Alarm alarm;  // the alarm as it is after the change
};

}  // namespace vcgate::alarm
