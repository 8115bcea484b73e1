// UplinkBudget: which alarm video fits a configured uplink budget
// (bus.uplink.budget_kbps), by alarm level. docs/protocol.md section 6.1 is
// the public description; this is its policy.
//
// The publisher tells it, for every access unit of a covered camera (sent or
// not), how big it is and whether it is a keyframe, and for every alarm event
// and heartbeat how big it is. From that it measures, over the last
// kWindow of capture time, each stream's demand in full and in keyframes
// only. Every kReevaluate (and whenever the set of streams or a level
// changes) it decides each stream's mode, in priority order — level 1 first,
// then 2, then 3, then live view without an alarm; within a level, in the
// order they started being published:
//
//   budget left = budget - events and heartbeats (they always go)
//   full demand fits       -> kFull,       budget left -= full demand
//   else keyframes fit     -> kKeyframes,  budget left -= keyframe demand
//   else                   -> kHeld (nothing of it goes out)
//
// A level-1 stream is never held: at worst it goes out as keyframes only, so
// the platform keeps a picture of the most urgent alarm. So level 3 degrades
// first, then 2, and level 1 only when level 1 alone does not fit. To keep a
// stream from flapping between modes, a better mode than the current one
// needs its demand to fit in 90 % of what is left.
//
// Owned by one thread (the publisher's worker); not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/core/clock.h"

namespace vcgate::bus {

enum class UplinkMode : uint8_t { kFull, kKeyframes, kHeld };
std::string_view toString(UplinkMode mode);

class UplinkBudget {
 public:
  static constexpr std::chrono::milliseconds kWindow{2000};
  static constexpr std::chrono::milliseconds kReevaluate{500};
  static constexpr int kLiveViewLevel = 4;  // live view without an alarm: after level 3

  // budget_bps 0 = unlimited: every stream is kFull and nothing is measured.
  UplinkBudget(uint64_t budget_bps, const core::Clock& clock) : budget_bps_(budget_bps), clock_(clock) {}

  // A new budget (a reload); decided again at the next unit.
  void setBudget(uint64_t budget_bps) {
    budget_bps_ = budget_bps;
    dirty_ = true;
  }
  bool limited() const { return budget_bps_ > 0; }
  uint64_t budgetBps() const { return budget_bps_; }

  // Every unit of every camera, covered or not, so that a camera's demand is
  // known the moment an alarm covers it (and its pre-roll goes out).
  // `capture_us` is its wall-clock capture time: demand is measured on the
  // camera's own timeline, so a burst counts at its real rate.
  void noteUnit(const std::string& stream, int64_t capture_us, size_t bytes, bool keyframe);
  // The stream is published, for an alarm of this level (1 most urgent, 2, 3,
  // kLiveViewLevel), or not at all (0): only published streams take budget.
  void setLevel(const std::string& stream, int level);
  // An alarm event or heartbeat that went out.
  void noteControl(size_t bytes);

  // The stream's mode now (re-decided when due). kFull when not limited or unknown.
  UplinkMode mode(const std::string& stream);

  // Measured demand, bits per second, for status and metrics.
  struct StreamDemand {
    std::string stream;
    int level = 0;
    double full_bps = 0;
    double keyframe_bps = 0;
    UplinkMode mode = UplinkMode::kFull;
  };
  std::vector<StreamDemand> demand() const;
  double controlBps() const;
  // Sum of the covered streams' full demand plus events and heartbeats.
  double totalDemandBps() const;

 private:
  struct Sample {
    int64_t capture_us;
    uint32_t bytes;
    bool keyframe;
  };
  struct Stream {
    int level = 0;       // 0: not published
    uint64_t order = 0;  // when it was last published first, for the order within a level
    std::deque<Sample> samples;
    UplinkMode mode = UplinkMode::kFull;
  };
  static double fullBps(const Stream& s);
  static double keyframeBps(const Stream& s);
  void reevaluate();
  void trimControl(core::TimePoint now) const;

  uint64_t budget_bps_;
  const core::Clock& clock_;
  std::map<std::string, Stream, std::less<>> streams_;
  uint64_t next_order_ = 0;
  bool dirty_ = true;
  core::TimePoint next_evaluation_{};
  mutable std::deque<std::pair<core::TimePoint, uint32_t>> control_;
};

}  // namespace vcgate::bus
