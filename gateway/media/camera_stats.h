// CameraStats: what a technician wants to know about one camera: its state,
// rates over the last few seconds, counters since start, the last error.
// Thread rules: onFrame() is called from the camera's streaming thread; the
// other mutators and snapshot() from the main thread. A mutex makes each call
// atomic; none of them blocks or allocates more than a window entry.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>

#include "gateway/core/clock.h"
#include "gateway/media/access_unit.h"

namespace vcgate::media {

enum class CameraState {
  kDisabled,    // enabled: false in the config
  kConnecting,  // pipeline started, no frame yet
  kStreaming,   // frames arriving
  kBackoff,     // failed; waiting before the next attempt
  kStalled,     // was streaming, then no frame for stall_timeout; waiting to restart
  kFinished,    // a file without loop reached its end
};

std::string_view stateName(CameraState state);

struct CameraStatsSnapshot {
  std::string id;
  CameraState state = CameraState::kConnecting;
  std::string codec;  // "h264", "h265", or "" before the first frame
  int width = 0;
  int height = 0;
  double fps = 0;               // over the rate window
  double bitrate_bps = 0;       // over the rate window
  double keyframe_interval_s = 0;  // between the last two keyframes; 0 until two were seen
  int keyframe_interval_frames = 0;
  uint64_t frames = 0;
  uint64_t keyframes = 0;
  uint64_t bytes = 0;
  uint64_t dropped = 0;  // frames dropped because a consumer queue was full
  uint64_t reconnects = 0;
  int64_t last_frame_age_ms = -1;  // -1 when no frame has arrived yet
  std::string last_error;          // already redacted
};

class CameraStats {
 public:
  static constexpr core::Duration kRateWindow = std::chrono::seconds(5);

  CameraStats(std::string id, const core::Clock& clock);

  void onFrame(const AccessUnit& unit);
  void onDropped();
  void setState(CameraState state);
  void setError(std::string message);
  void countReconnect();

  CameraState state() const;
  // Time since the last frame, or since `since` when no frame arrived after it.
  core::Duration silenceSince(core::TimePoint since) const;
  CameraStatsSnapshot snapshot() const;

 private:
  struct WindowEntry {
    core::TimePoint at;
    uint32_t bytes;
  };
  void trimWindow(core::TimePoint now) const;

  const core::Clock& clock_;
  mutable std::mutex mutex_;
  CameraStatsSnapshot totals_;  // the counters and identity; rates are derived on snapshot
  mutable std::deque<WindowEntry> window_;
  core::TimePoint last_frame_{};
  bool have_frame_ = false;
  core::TimePoint last_keyframe_{};
  uint64_t last_keyframe_index_ = 0;
  bool have_keyframe_ = false;
};

}  // namespace vcgate::media
