// VideoLossMonitor: raises a video_loss alarm for a camera that has not been
// streaming for alarms.video_loss.after_s (disconnected, failing to connect,
// or stalled), and clears it when video is back. The daemon feeds it each
// camera's state on every tick. Main thread only.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "gateway/alarm/alarm_engine.h"
#include "gateway/config/config.h"
#include "gateway/core/clock.h"

namespace vcgate::alarm {

class VideoLossMonitor {
 public:
  VideoLossMonitor(AlarmEngine& engine, const core::Clock& clock, config::VideoLossConfig config);
  void reconfigure(config::VideoLossConfig config) { config_ = config; }

  // `streaming`: frames are arriving. `reason`: the camera's last error, for the description.
  void observe(const std::string& camera, bool streaming, const std::string& reason);
  // Forget a camera that was removed from the config (its alarm is cleared).
  void forget(const std::string& camera);
  // After a restart, with the alarms the AlarmEngine restored: a video loss
  // alarm of a camera is this monitor's again, so it is cleared when video
  // is back and not raised a second time while it is not. Returns how many.
  size_t adopt(const std::vector<Alarm>& restored);

 private:
  struct Watch {
    core::TimePoint healthy_at;  // last time it was streaming (or first seen)
    std::string alarm_id;        // empty while no alarm is raised
  };

  AlarmEngine& engine_;
  const core::Clock& clock_;
  config::VideoLossConfig config_;
  std::map<std::string, Watch> cameras_;
};

}  // namespace vcgate::alarm
