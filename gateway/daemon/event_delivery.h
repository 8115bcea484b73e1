// EventDelivery: "nothing is lost" for alarm events. Each event of the alarm
// engine is, in this order: appended to the journal (on disk, synced per its
// policy), written into the active-alarms file, then published. Events the
// platform has not acknowledged (event.ack) are published again, oldest first,
// with a growing delay (2 s, 4 s, ... at most 60 s), across uplink outages and
// restarts, until acknowledged or expired by the journal's policy.
// The active-alarms file lets a restarted gateway cover the same cameras again.
// Main thread only.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gateway/alarm/alarm.h"
#include "gateway/bus/publisher.h"
#include "gateway/core/clock.h"
#include "gateway/core/result.h"
#include "gateway/journal/journal.h"

namespace vcgate::daemon {

class EventDelivery {
 public:
  static constexpr std::chrono::seconds kFirstResend{2};
  static constexpr std::chrono::seconds kMaxResend{60};
  static constexpr size_t kResendBatch = 256;

  // `journal` may be null (the state directory is unusable): events are then
  // only published, and the status says so.
  EventDelivery(std::unique_ptr<journal::Journal> journal, bus::Publisher& publisher, std::string site,
                std::string active_file, const core::Clock& clock);

  void onEvent(const alarm::AlarmEvent& event, const std::vector<alarm::Alarm>& active_now);
  // Re-sends what is due, expires old entries, syncs per the fsync policy. Call about once a second.
  void tick();
  // The platform's acknowledgement; returns how many were outstanding.
  core::Result<size_t> acknowledge(const std::vector<uint64_t>& event_ids);

  size_t backlog() const { return journal_ ? journal_->backlogSize() : 0; }
  bool journaling() const { return journal_ != nullptr; }

  // The alarms that were active when the gateway last stopped; empty if none or unreadable.
  static std::vector<alarm::Alarm> loadActive(const std::string& path);

 private:
  void saveActive(const std::vector<alarm::Alarm>& active) const;

  std::unique_ptr<journal::Journal> journal_;
  bus::Publisher& publisher_;
  std::string site_;
  std::string active_file_;
  const core::Clock& clock_;
  std::map<uint64_t, core::TimePoint> next_send_;  // journal seq -> when to send it again
  core::TimePoint next_expiry_{};
};

}  // namespace vcgate::daemon
