// PreAlarmBuffer: the last seconds of one camera's access units, so that an
// alarm's video can start before the alarm (pre-roll). Bounded twice: it keeps
// no more than needed to start at the keyframe at or before (newest − pre_roll)
// and never more than max_bytes (then the pre-roll gets shorter, never the
// memory bigger). It always begins with a keyframe, so any replay decodes.
// Not thread-safe: owned by the publishing thread.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "gateway/media/access_unit.h"

namespace vcgate::media {

class PreAlarmBuffer {
 public:
  PreAlarmBuffer(double pre_roll_s, uint64_t max_bytes);

  void push(const AccessUnitPtr& unit);
  void clear();

  // The units from the last keyframe captured at or before `from_us` (or the
  // oldest keyframe when the buffer does not reach back that far) to the newest.
  std::vector<AccessUnitPtr> since(int64_t from_us) const;
  // The units from the newest keyframe on: the quickest decodable picture.
  std::vector<AccessUnitPtr> fromLastKeyframe() const;

  uint64_t bytes() const { return bytes_; }  // payload bytes plus per-unit bookkeeping
  double seconds() const;                    // capture-time span held
  size_t size() const { return units_.size(); }
  double preRollSeconds() const { return pre_roll_us_ / 1e6; }

  // Memory accounted per unit beyond its payload: the AccessUnit and the shared_ptr control block.
  static constexpr uint64_t kUnitOverhead = sizeof(AccessUnit) + 32;

 private:
  void dropOldestGop();
  static uint64_t costOf(const AccessUnit& unit) { return unit.data.size() + kUnitOverhead; }

  int64_t pre_roll_us_;
  uint64_t max_bytes_;
  std::deque<AccessUnitPtr> units_;
  std::deque<size_t> keyframes_;  // positions in units_ (offset by dropped_) of the keyframes
  size_t dropped_ = 0;            // units dropped from the front, so positions stay stable
  uint64_t bytes_ = 0;
};

}  // namespace vcgate::media
