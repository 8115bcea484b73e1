#include "gateway/daemon/service_notifier.h"

#include <glib.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <algorithm>

#include <spdlog/spdlog.h>

namespace vcgate::daemon {

ServiceNotifier::ServiceNotifier(LivenessProbe probe)
    : probe_(std::move(probe)), answered_(std::make_shared<std::atomic<bool>>(true)) {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    interval_ = std::chrono::microseconds(usec);
    timer_ = g_timeout_add(static_cast<guint>(std::max<uint64_t>(usec / 2000, 1)),
                           +[](gpointer self) -> gboolean {
                             static_cast<ServiceNotifier*>(self)->tick();
                             return G_SOURCE_CONTINUE;
                           },
                           this);
    spdlog::info("systemd watchdog: pinging every {} ms while healthy", usec / 2000);
  }
}

ServiceNotifier::~ServiceNotifier() {
  if (timer_) g_source_remove(timer_);
}

void ServiceNotifier::tick() {
  // The probe posted at the last tick must have run by now; otherwise the
  // publishing thread is stuck and systemd should find out.
  if (answered_->exchange(false)) {
    sd_notify(0, "WATCHDOG=1");
    ++pings_;
  } else {
    spdlog::error("watchdog: the publishing thread did not answer within {} ms; not pinging systemd",
                  interval_.count() / 2000);
  }
  auto answered = answered_;
  probe_([answered] { answered->store(true); });
}

void ServiceNotifier::ready(const std::string& text) {
  sd_notifyf(0, "READY=1\nSTATUS=%s\nMAINPID=%lu", text.c_str(), static_cast<unsigned long>(getpid()));
}

void ServiceNotifier::reloading() { sd_notify(0, "RELOADING=1"); }

void ServiceNotifier::stopping() { sd_notify(0, "STOPPING=1"); }

void ServiceNotifier::status(const std::string& text) { sd_notifyf(0, "STATUS=%s", text.c_str()); }

}  // namespace vcgate::daemon
