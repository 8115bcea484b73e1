#include "gateway/core/backoff.h"

#include <algorithm>

namespace vcgate::core {

Backoff::Backoff(BackoffPolicy policy, const Clock& clock, uint64_t seed)
    : policy_(policy), clock_(clock), rng_(seed) {}

void Backoff::onConnected() { connected_at_ = clock_.now(); }

std::chrono::milliseconds Backoff::baseDelay(int attempt) const {
  // Double until the cap; stop doubling early so the shift cannot overflow.
  auto delay = policy_.initial;
  for (int i = 0; i < attempt && delay < policy_.max; ++i) delay *= 2;
  return std::min(delay, policy_.max);
}

std::chrono::milliseconds Backoff::onFailure() {
  if (connected_at_ && clock_.now() - *connected_at_ >= policy_.stable) attempts_ = 0;
  connected_at_.reset();

  const auto base = baseDelay(attempts_);
  ++attempts_;
  const double jitter = std::clamp(policy_.jitter, 0.0, 1.0);
  std::uniform_real_distribution<double> dist(1.0 - jitter, 1.0);
  return std::chrono::milliseconds(static_cast<int64_t>(static_cast<double>(base.count()) * dist(rng_)));
}

}  // namespace vcgate::core
