// Camera: one configured camera and the supervisor that keeps it streaming.
//
//   disabled                       (enabled: false)
//   connecting --first frame--> streaming --no frame for stall_timeout--> stalled
//       |  error, or no frame within connect_timeout       |  error / end of stream
//       v                                                  v
//   backoff --delay elapsed--> connecting           (stalled also waits its delay)
//   file without loop: streaming --end--> finished; with loop it restarts at once.
//
// Delays follow core::Backoff (exponential, jittered, capped, reset after a
// stable period), also when the very first connection fails.
// Thread rules: everything but the frame path runs on the main thread, which
// calls tick() often (every 100 ms is plenty); frames arrive on the
// pipeline's streaming thread and leave through the FrameDispatcher.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "gateway/config/config.h"
#include "gateway/core/backoff.h"
#include "gateway/core/clock.h"
#include "gateway/media/camera_stats.h"
#include "gateway/media/frame_dispatcher.h"
#include "gateway/media/ingest_pipeline.h"
#include "gateway/media/pipeline_reaper.h"

namespace vcgate::media {

class Camera {
 public:
  Camera(config::CameraConfig config, FrameDispatcher& dispatcher, PipelineReaper& reaper, const core::Clock& clock);
  ~Camera();
  Camera(const Camera&) = delete;
  Camera& operator=(const Camera&) = delete;

  void start();
  void stop();
  void tick();

  const config::CameraConfig& config() const { return config_; }
  const CameraId& id() const { return id_; }
  CameraState state() const { return stats_.state(); }
  CameraStatsSnapshot stats() const { return stats_.snapshot(); }

 private:
  void connect();
  void fail(const std::string& reason, CameraState next);
  void onError(const std::string& error);
  void onEndOfStream();
  void onAccessUnit(AccessUnit&& unit);  // streaming thread

  const config::CameraConfig config_;
  const CameraId id_;
  const bool is_file_;
  FrameDispatcher& dispatcher_;
  PipelineReaper& reaper_;
  const core::Clock& clock_;
  core::Backoff backoff_;
  CameraStats stats_;
  std::unique_ptr<IngestPipeline> pipeline_;
  core::TimePoint attempt_started_{};
  core::TimePoint retry_at_{};
  std::atomic<bool> got_frame_{false};

  // Frame path state: written by the streaming thread of the current session,
  // reset by connect() before the next session's pipeline starts.
  uint32_t session_ = 0;
  bool session_started_ = false;
  bool waiting_for_keyframe_ = true;
  bool after_gap_ = true;  // the next delivered unit follows a gap
  int64_t timestamp_offset_ = 0;
  int64_t last_dts_ = -1;
  int64_t last_capture_us_ = 0;
};

}  // namespace vcgate::media
