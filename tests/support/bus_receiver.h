// BusReceiver: the platform's side of the bus inside a test process. A
// bus::Subscriber receives on its own thread (a SUB socket belongs to one
// thread) and keeps every video message, alarm event and heartbeat; the test
// thread reads copies under the mutex. pause() stops reading, as a
// subscriber that hangs would.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gateway/bus/subscriber.h"

namespace vcgate::testing {

class BusReceiver {
 public:
  struct Options {
    std::vector<std::string> prefixes{""};  // "" = everything
    int receive_hwm = 10000;                // bus::SubscriberOptions
    int receive_buffer_bytes = 0;
  };
  explicit BusReceiver(const std::string& endpoint) : BusReceiver(endpoint, Options{}) {}
  BusReceiver(const std::string& endpoint, Options options);
  ~BusReceiver();
  BusReceiver(const BusReceiver&) = delete;
  BusReceiver& operator=(const BusReceiver&) = delete;

  void pause(bool paused) { paused_ = paused; }

  // Video of one camera ("" = all), in the order received.
  std::vector<bus::VideoMessage> video(const std::string& camera = "") const;
  std::vector<bus::AlarmEventMessage> events() const;
  std::vector<bus::StatusMessage> statuses() const;
  size_t statusCount() const;
  bus::StatusMessage lastStatus() const;  // only after statusCount() > 0

  // From the alarm events: distinct journal event ids, the alarms seen
  // raised, whether `alarm` had an event of `kind`.
  std::set<uint64_t> eventIds() const;
  std::set<std::string> raisedAlarms() const;
  bool hasEvent(const std::string& alarm, alarm::AlarmEventKind kind) const;
  // A heartbeat arrived within `timeout`: the subscription is up.
  bool waitConnected(std::chrono::milliseconds timeout) const;

 private:
  std::atomic<bool> stop_{false};
  std::atomic<bool> paused_{false};
  mutable std::mutex mutex_;
  std::vector<bus::VideoMessage> video_;
  std::vector<bus::AlarmEventMessage> events_;
  std::vector<bus::StatusMessage> status_;
  std::thread thread_;
};

}  // namespace vcgate::testing
