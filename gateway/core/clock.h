// Clock: the time source every timer-driven decision reads (backoff, stall
// watchdog, stats windows), so that unit tests can drive time by hand.
// Any thread may call now(); ManualClock::advance() belongs to the test thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace vcgate::core {

using Duration = std::chrono::nanoseconds;
using TimePoint = std::chrono::steady_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time, for intervals and deadlines.
  virtual TimePoint now() const = 0;
  // Wall-clock time in microseconds since the Unix epoch, for capture times.
  virtual int64_t wallMicros() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
  int64_t wallMicros() const override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  static SystemClock& instance() {
    static SystemClock clock;
    return clock;
  }
};

class ManualClock final : public Clock {
 public:
  TimePoint now() const override { return TimePoint(Duration(ns_.load())); }
  int64_t wallMicros() const override { return 1'700'000'000'000'000 + ns_.load() / 1000; }
  void advance(Duration d) { ns_ += d.count(); }

 private:
  std::atomic<int64_t> ns_{1'000'000'000};
};

}  // namespace vcgate::core
