#include "gateway/alarm/video_loss_monitor.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace vcgate::alarm {

VideoLossMonitor::VideoLossMonitor(AlarmEngine& engine, const core::Clock& clock, config::VideoLossConfig config)
    : engine_(engine), clock_(clock), config_(config) {}

void VideoLossMonitor::observe(const std::string& camera, bool streaming, const std::string& reason) {
  const auto now = clock_.now();
  auto [it, inserted] = cameras_.try_emplace(camera, Watch{now, {}});
  Watch& watch = it->second;
  if (streaming) {
    watch.healthy_at = now;
    if (!watch.alarm_id.empty()) {
      if (auto cleared = engine_.clear(watch.alarm_id); !cleared)
        spdlog::warn("camera {}: clearing video loss alarm: {}", camera, cleared.error().message);
      watch.alarm_id.clear();
    }
    return;
  }
  if (!config_.enabled || !watch.alarm_id.empty() || now - watch.healthy_at < config_.after) return;
  RaiseRequest request;
  request.source = "video_loss";
  request.type = "video_loss";
  request.level = config_.level;
  request.cameras = {camera};
  const double seconds = std::chrono::duration<double>(now - watch.healthy_at).count();
  request.description = reason.empty() ? fmt::format("no video for {:.0f} s", seconds)
                                       : fmt::format("no video for {:.0f} s: {}", seconds, reason);
  if (auto raised = engine_.raise(request)) {
    watch.alarm_id = raised->id.hex();
  } else {
    spdlog::warn("camera {}: raising video loss alarm: {}", camera, raised.error().message);
  }
}

void VideoLossMonitor::forget(const std::string& camera) {
  auto it = cameras_.find(camera);
  if (it == cameras_.end()) return;
  if (!it->second.alarm_id.empty()) (void)engine_.clear(it->second.alarm_id);
  cameras_.erase(it);
}

size_t VideoLossMonitor::adopt(const std::vector<Alarm>& restored) {
  size_t adopted = 0;
  const auto now = clock_.now();
  for (const auto& alarm : restored) {
    if (alarm.state != AlarmState::kActive || alarm.source != "video_loss" || alarm.cameras.size() != 1) continue;
    auto [it, inserted] = cameras_.try_emplace(alarm.cameras.front(), Watch{now, {}});
    if (!it->second.alarm_id.empty()) continue;  // one per camera; a second stays as it is
    it->second.alarm_id = alarm.id.hex();
    ++adopted;
  }
  return adopted;
}

}  // namespace vcgate::alarm
