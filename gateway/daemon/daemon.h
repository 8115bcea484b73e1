// Daemon: composes the modules into the running gateway and owns the GLib
// main loop on the main thread. Signal handling follows mosquitto: the
// handlers (GLib unix signal sources) only act on the main loop.
//   SIGINT, SIGTERM  shut down, in this order: stop the timers, take every
//                    camera pipeline to NULL (via the reaper), let the frame
//                    dispatcher deliver what is queued and join, close sockets.
//   SIGHUP           reload the config file; an invalid file is refused with
//                    its diagnostics and the running config stays.
// Main thread only.
#pragma once

#include <memory>
#include <string>

#include "gateway/config/config.h"
#include "gateway/media/camera_manager.h"

typedef struct _GMainLoop GMainLoop;

namespace vcgate::daemon {

class Daemon {
 public:
  explicit Daemon(config::Config config);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Runs until SIGINT/SIGTERM. Returns the process exit code.
  int run();
  // Re-reads the config file; true if it was valid and applied.
  bool reload();
  void requestStop();

 private:
  void logStats() const;

  config::Config config_;
  GMainLoop* loop_;
  std::unique_ptr<media::CameraManager> cameras_;
  unsigned stats_timer_ = 0;
};

}  // namespace vcgate::daemon
