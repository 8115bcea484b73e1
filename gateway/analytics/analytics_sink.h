// AnalyticsSink: the analytics branch of the gateway. Added to the
// FrameDispatcher like any other sink, it keeps the newest due keyframe of
// each configured camera in a one-unit slot (latest wins) and returns at once;
// one worker thread takes the slots in turn, decodes each keyframe to a small
// grey frame (KeyframeDecoder, one pipeline per camera kept alive) and runs
// the camera's detectors (FrameAnalyzer). Memory is bounded: one pending
// access unit (a shared pointer, no copy) and one decoder per camera.
//
// Rate: a keyframe is due when its capture time is at least 0.9 x interval_s
// after the last one taken (the 10 % absorbs keyframe jitter), so a camera
// costs at most one decode per interval and per keyframe.
//
// Thread rules:
//   - constructor, start(), stop(), reconfigure(), destructor: the owner's
//     thread (the daemon's main thread).
//   - onAccessUnit(): the dispatcher thread; never blocks (one short mutex,
//     shared with the worker for a pointer swap only).
//   - stats(): any thread.
//   - the EventCallback runs on the worker thread, in event order per camera.
//     It must only hand the event off (MainContextForwarder in
//     main_context_forwarder.h posts it to the GLib main loop) and must not
//     call back into this object.
// Shutdown: stop() (or the destructor) joins the worker; no callback runs after it returns.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gateway/analytics/analytics_config.h"
#include "gateway/analytics/analytics_event.h"
#include "gateway/core/clock.h"
#include "gateway/media/frame_dispatcher.h"

namespace vcgate::analytics {

using EventCallback = std::function<void(const AnalyticsEvent&)>;

struct CameraAnalyticsStats {
  std::string camera;
  bool enabled = false;
  uint64_t keyframes_seen = 0;      // keyframes offered by the dispatcher
  uint64_t keyframes_taken = 0;     // due by the rate limit, put in the slot
  uint64_t keyframes_replaced = 0;  // taken but overwritten by a newer one before the worker got to it
  uint64_t frames_analysed = 0;
  uint64_t decode_failures = 0;     // keyframes that yielded an error (the decoder is then rebuilt)
  uint64_t decode_us = 0;           // worker time spent decoding and scaling, total
  uint64_t detect_us = 0;           // worker time spent in the detectors, total
  int64_t last_capture_us = 0;      // of the last analysed frame; 0 before the first
  std::string last_error;           // empty when the last keyframe decoded
  std::vector<std::string> active;  // "motion:<zone>", "blackout", "scene_change", "defocus"
};

class AnalyticsSink final : public media::FrameSink {
 public:
  AnalyticsSink(AnalyticsConfig config, EventCallback on_event, core::Clock& clock = core::SystemClock::instance());
  ~AnalyticsSink() override;
  AnalyticsSink(const AnalyticsSink&) = delete;
  AnalyticsSink& operator=(const AnalyticsSink&) = delete;

  void start();
  // Ends the worker; events still active are not ended (the owner shuts down). Idempotent.
  void stop();
  // Applies at the worker's next turn. Cameras whose analytics config changed
  // start afresh (their active events are ended first); others keep their state.
  void reconfigure(AnalyticsConfig config);

  void onAccessUnit(const media::CameraId& camera, const media::AccessUnitPtr& unit) override;

  std::vector<CameraAnalyticsStats> stats() const;

 private:
  struct Slot {  // guarded by mutex_
    bool enabled = true;
    int64_t min_gap_us = 0;
    int64_t last_taken_us = 0;
    bool has_taken = false;
    media::AccessUnitPtr pending;
    CameraAnalyticsStats stats;
  };
  struct Camera;  // worker-only state (decoder, analyzer); defined in the .cpp

  void run();
  void applyConfig(const AnalyticsConfig& config);
  void process(Camera& camera, const media::AccessUnitPtr& unit);
  void deliver(const std::vector<AnalyticsEvent>& events);
  void publishStats(const Camera& camera);

  EventCallback on_event_;
  core::Clock& clock_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::map<std::string, Slot, std::less<>> slots_;
  std::optional<AnalyticsConfig> pending_config_;
  bool stopping_ = false;
  std::thread worker_;

  // Worker thread only.
  std::map<std::string, std::unique_ptr<Camera>> cameras_;
  double stale_after_s_ = 15.0;
};

}  // namespace vcgate::analytics
