// Backoff: how long a camera waits before the next connection attempt.
// Exponential from `initial`, doubling per consecutive failure, capped at `max`,
// with random jitter so that many cameras failing together (a switch reboot)
// do not reconnect in lockstep. A connection that stayed up for `stable`
// resets the schedule. Not thread-safe: owned by one camera supervisor.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>

#include "gateway/core/clock.h"

namespace vcgate::core {

struct BackoffPolicy {
  std::chrono::milliseconds initial{500};
  std::chrono::milliseconds max{30'000};
  std::chrono::milliseconds stable{60'000};
  // Fraction of the delay that is randomised: delay is drawn uniformly from
  // [base * (1 - jitter), base].
  double jitter = 0.3;
};

class Backoff {
 public:
  Backoff(BackoffPolicy policy, const Clock& clock, uint64_t seed = std::random_device{}());

  // The connection came up now.
  void onConnected();
  // The connection failed (or never came up); returns the delay before the next attempt.
  std::chrono::milliseconds onFailure();
  // Consecutive failures since the last stable connection.
  int attempts() const { return attempts_; }

  // The un-jittered delay for the given attempt number (0-based), exposed for tests and docs.
  std::chrono::milliseconds baseDelay(int attempt) const;

 private:
  BackoffPolicy policy_;
  const Clock& clock_;
  std::mt19937_64 rng_;
  int attempts_ = 0;
  std::optional<TimePoint> connected_at_;
};

}  // namespace vcgate::core
