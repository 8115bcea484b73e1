#include "gateway/media/camera_stats.h"

#include <algorithm>
#include <iterator>

namespace vcgate::media {

std::string_view stateName(CameraState state) {
  switch (state) {
    case CameraState::kDisabled: return "disabled";
    case CameraState::kConnecting: return "connecting";
    case CameraState::kStreaming: return "streaming";
    case CameraState::kBackoff: return "backoff";
    case CameraState::kStalled: return "stalled";
    case CameraState::kFinished: return "finished";
  }
  return "unknown";
}

CameraStats::CameraStats(std::string id, const core::Clock& clock) : clock_(clock) {
  totals_.id = std::move(id);
}

void CameraStats::onFrame(const AccessUnit& unit) {
  const auto now = clock_.now();
  std::lock_guard lock(mutex_);
  ++totals_.frames;
  totals_.bytes += unit.data.size();
  totals_.codec = std::string(core::codecName(unit.codec));
  if (unit.width > 0) totals_.width = unit.width;
  if (unit.height > 0) totals_.height = unit.height;
  if (unit.keyframe) {
    ++totals_.keyframes;
    if (have_keyframe_) {
      totals_.keyframe_interval_s = std::chrono::duration<double>(now - last_keyframe_).count();
      totals_.keyframe_interval_frames = static_cast<int>(totals_.frames - last_keyframe_index_);
    }
    have_keyframe_ = true;
    last_keyframe_ = now;
    last_keyframe_index_ = totals_.frames;
  }
  window_.push_back({now, static_cast<uint32_t>(unit.data.size())});
  trimWindow(now);
  last_frame_ = now;
  have_frame_ = true;
}

void CameraStats::onDropped() {
  std::lock_guard lock(mutex_);
  ++totals_.dropped;
}

void CameraStats::setState(CameraState state) {
  std::lock_guard lock(mutex_);
  totals_.state = state;
  // A new connection starts a new keyframe interval measurement.
  if (state == CameraState::kConnecting) have_keyframe_ = false;
}

void CameraStats::setError(std::string message) {
  std::lock_guard lock(mutex_);
  totals_.last_error = std::move(message);
}

void CameraStats::countReconnect() {
  std::lock_guard lock(mutex_);
  ++totals_.reconnects;
}

CameraState CameraStats::state() const {
  std::lock_guard lock(mutex_);
  return totals_.state;
}

core::Duration CameraStats::silenceSince(core::TimePoint since) const {
  std::lock_guard lock(mutex_);
  const auto from = have_frame_ ? std::max(last_frame_, since) : since;
  return clock_.now() - from;
}

void CameraStats::trimWindow(core::TimePoint now) const {
  while (!window_.empty() && now - window_.front().at > kRateWindow) window_.pop_front();
}

CameraStatsSnapshot CameraStats::snapshot() const {
  const auto now = clock_.now();
  std::lock_guard lock(mutex_);
  CameraStatsSnapshot out = totals_;
  trimWindow(now);
  // Rates over the frames still in the window: a camera that went silent decays
  // to 0 once its last frame leaves the window. The first frame only opens the span.
  if (window_.size() > 1) {
    uint64_t bytes = 0;
    for (auto it = std::next(window_.begin()); it != window_.end(); ++it) bytes += it->bytes;
    const double span = std::chrono::duration<double>(window_.back().at - window_.front().at).count();
    if (span > 0) {
      out.fps = static_cast<double>(window_.size() - 1) / span;
      out.bitrate_bps = static_cast<double>(bytes) * 8 / span;
    }
  }
  out.last_frame_age_ms =
      have_frame_ ? std::chrono::duration_cast<std::chrono::milliseconds>(now - last_frame_).count() : -1;
  return out;
}

}  // namespace vcgate::media
