#include "gateway/media/pre_alarm_buffer.h"

namespace vcgate::media {

PreAlarmBuffer::PreAlarmBuffer(double pre_roll_s, uint64_t max_bytes)
    : pre_roll_us_(static_cast<int64_t>(pre_roll_s * 1e6)), max_bytes_(max_bytes) {}

void PreAlarmBuffer::push(const AccessUnitPtr& unit) {
  if (units_.empty() && !unit->keyframe) return;  // a replay must start at a keyframe
  if (unit->keyframe) keyframes_.push_back(dropped_ + units_.size());
  units_.push_back(unit);
  bytes_ += costOf(*unit);

  // Time bound: drop the oldest GOP while the next keyframe alone still reaches
  // back to (newest − pre_roll).
  const int64_t wanted_from = unit->capture_us - pre_roll_us_;
  while (keyframes_.size() >= 2 && units_[keyframes_[1] - dropped_]->capture_us <= wanted_from) dropOldestGop();
  // Byte bound: drop whole GOPs; a single GOP larger than the cap is dropped too
  // (then the buffer restarts at the next keyframe).
  while (bytes_ > max_bytes_ && !units_.empty()) dropOldestGop();
}

void PreAlarmBuffer::dropOldestGop() {
  const size_t end = keyframes_.size() >= 2 ? keyframes_[1] - dropped_ : units_.size();
  for (size_t i = 0; i < end; ++i) {
    bytes_ -= costOf(*units_.front());
    units_.pop_front();
  }
  dropped_ += end;
  keyframes_.pop_front();
}

void PreAlarmBuffer::clear() {
  dropped_ += units_.size();
  units_.clear();
  keyframes_.clear();
  bytes_ = 0;
}

std::vector<AccessUnitPtr> PreAlarmBuffer::since(int64_t from_us) const {
  if (units_.empty()) return {};
  size_t start = keyframes_.front() - dropped_;
  for (size_t k : keyframes_) {
    if (units_[k - dropped_]->capture_us > from_us) break;
    start = k - dropped_;
  }
  return {units_.begin() + static_cast<std::ptrdiff_t>(start), units_.end()};
}

std::vector<AccessUnitPtr> PreAlarmBuffer::fromLastKeyframe() const {
  if (units_.empty()) return {};
  return {units_.begin() + static_cast<std::ptrdiff_t>(keyframes_.back() - dropped_), units_.end()};
}

double PreAlarmBuffer::seconds() const {
  if (units_.size() < 2) return 0;
  return static_cast<double>(units_.back()->capture_us - units_.front()->capture_us) / 1e6;
}

}  // namespace vcgate::media
