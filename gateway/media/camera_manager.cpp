#include "gateway/media/camera_manager.h"

#include <glib.h>

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace vcgate::media {

CameraManager::CameraManager(const core::Clock& clock, std::chrono::milliseconds tick) : clock_(clock) {
  tick_source_ = g_timeout_add(static_cast<guint>(tick.count()), &CameraManager::onTick, this);
}

CameraManager::~CameraManager() {
  stop(std::chrono::seconds(5));
  if (tick_source_) g_source_remove(tick_source_);
}

int CameraManager::onTick(void* data) {
  for (auto& camera : static_cast<CameraManager*>(data)->cameras_) camera->tick();
  return G_SOURCE_CONTINUE;
}

void CameraManager::apply(const std::vector<config::CameraConfig>& cameras) {
  dispatcher_.start();
  std::vector<std::unique_ptr<Camera>> next;
  for (const auto& wanted : cameras) {
    auto same = std::find_if(cameras_.begin(), cameras_.end(), [&](const auto& c) {
      return c && c->config() == wanted;
    });
    if (same != cameras_.end()) {
      next.push_back(std::move(*same));
      continue;
    }
    auto camera = std::make_unique<Camera>(wanted, dispatcher_, reaper_, clock_);
    camera->start();
    next.push_back(std::move(camera));
  }
  for (auto& old : cameras_)
    if (old) spdlog::info("camera {}: stopped (removed or changed)", old->config().id);
  cameras_ = std::move(next);  // the remaining old cameras stop here
}

bool CameraManager::stop(std::chrono::milliseconds timeout) {
  // Each camera lets go of its pipeline: after this no frame arrives, even
  // from a pipeline that is still going down, so the dispatcher can deliver
  // what it holds and stop while the reaper works.
  cameras_.clear();
  dispatcher_.stop();
  // The reaper may be stuck on a camera that does not answer its TEARDOWN;
  // the caller decides what to do then.
  return reaper_.drain(timeout);
}

size_t CameraManager::pipelinesGoingDown() const { return reaper_.pending(); }

std::vector<CameraStatsSnapshot> CameraManager::stats() const {
  std::vector<CameraStatsSnapshot> out;
  out.reserve(cameras_.size());
  for (const auto& camera : cameras_) out.push_back(camera->stats());
  return out;
}

const Camera* CameraManager::find(const std::string& id) const {
  for (const auto& camera : cameras_)
    if (camera->config().id == id) return camera.get();
  return nullptr;
}

std::string formatStatsTable(const std::vector<CameraStatsSnapshot>& stats) {
  std::string out = fmt::format("{:<16} {:<10} {:<5} {:>9} {:>6} {:>8} {:>6} {:>8} {:>6} {:>7} {}\n", "CAMERA",
                                "STATE", "CODEC", "SIZE", "FPS", "KBIT/S", "GOP", "FRAMES", "RECONN", "AGE", "LAST ERROR");
  for (const auto& s : stats) {
    const std::string size = s.width ? fmt::format("{}x{}", s.width, s.height) : "-";
    const std::string age = s.last_frame_age_ms < 0 ? "-"
                            : s.last_frame_age_ms < 10'000 ? fmt::format("{}ms", s.last_frame_age_ms)
                                                           : fmt::format("{}s", s.last_frame_age_ms / 1000);
    out += fmt::format("{:<16} {:<10} {:<5} {:>9} {:>6.1f} {:>8.0f} {:>6} {:>8} {:>6} {:>7} {}\n", s.id,
                       stateName(s.state), s.codec.empty() ? "-" : s.codec, size, s.fps, s.bitrate_bps / 1000,
                       s.keyframe_interval_frames, s.frames, s.reconnects, age, s.last_error);
  }
  return out;
}

}  // namespace vcgate::media
