// CameraManager: every configured camera, the shared frame hand-over and the
// reaper, and the main-loop timer that drives the cameras' supervisors.
// Main thread only (it owns GLib timers on the default main context).
// Destruction order is the shutdown order: cameras stop (their pipelines go
// to the reaper, no frame arrives after that), the dispatcher delivers what
// is queued and joins, the reaper takes every pipeline to NULL (all at once)
// and joins.
#pragma once

#include <chrono>
#include <memory>
#include <vector>

#include "gateway/config/config.h"
#include "gateway/core/clock.h"
#include "gateway/media/camera.h"
#include "gateway/media/frame_dispatcher.h"
#include "gateway/media/pipeline_reaper.h"

namespace vcgate::media {

class CameraManager {
 public:
  explicit CameraManager(const core::Clock& clock = core::SystemClock::instance(),
                         std::chrono::milliseconds tick = std::chrono::milliseconds(100));
  ~CameraManager();
  CameraManager(const CameraManager&) = delete;
  CameraManager& operator=(const CameraManager&) = delete;

  // Consumers of access units register here before start().
  FrameDispatcher& dispatcher() { return dispatcher_; }

  // Starts the given cameras, replacing whatever ran before. A camera whose
  // config is unchanged keeps streaming; changed, added and removed ones are
  // restarted, started and stopped.
  void apply(const std::vector<config::CameraConfig>& cameras);
  // Stops every camera, lets the dispatcher deliver what it holds and join,
  // then waits up to `timeout` for the cameras' pipelines to be down.
  // False if some pipeline did not go down in time (the reaper keeps at it;
  // destroying the manager then waits for it).
  bool stop(std::chrono::milliseconds timeout);
  // Pipelines handed to the reaper and not down yet.
  size_t pipelinesGoingDown() const;

  std::vector<CameraStatsSnapshot> stats() const;
  const Camera* find(const std::string& id) const;

 private:
  static int onTick(void* self);

  const core::Clock& clock_;
  PipelineReaper reaper_;         // outlives the cameras: their pipelines end there
  FrameDispatcher dispatcher_;
  std::vector<std::unique_ptr<Camera>> cameras_;
  unsigned tick_source_ = 0;
};

// A fixed-width table of camera stats for logs and terminals.
std::string formatStatsTable(const std::vector<CameraStatsSnapshot>& stats);

}  // namespace vcgate::media
