// ServiceNotifier: tells systemd how the service is doing (Type=notify):
// READY=1 once the cameras and the bus are up, RELOADING=1/READY=1 around a
// reload, STOPPING=1 at shutdown, STATUS= with a one-line summary, and
// WATCHDOG=1 at half the WatchdogSec interval — but only while the daemon is
// healthy: the main loop runs (the ping comes from a main-loop timer) and the
// publishing thread answers (a task posted to it ran since the last ping).
// A stuck publishing thread therefore gets the daemon restarted by systemd.
// Outside systemd (no NOTIFY_SOCKET) every call is a cheap no-op.
// Main thread only.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace vcgate::daemon {

class ServiceNotifier {
 public:
  // `probe` posts `done` to the thread whose liveness matters; it must call it when it runs.
  using LivenessProbe = std::function<void(std::function<void()> done)>;
  explicit ServiceNotifier(LivenessProbe probe);
  ~ServiceNotifier();

  void ready(const std::string& status);
  void reloading();
  void stopping();
  void status(const std::string& status);
  // The WatchdogSec interval systemd asked for, or zero when it asked for none.
  std::chrono::microseconds watchdogInterval() const { return interval_; }
  uint64_t watchdogPings() const { return pings_; }

 private:
  void tick();

  LivenessProbe probe_;
  std::chrono::microseconds interval_{0};
  unsigned timer_ = 0;
  std::shared_ptr<std::atomic<bool>> answered_;
  uint64_t pings_ = 0;
};

}  // namespace vcgate::daemon
