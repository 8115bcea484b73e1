#include "gateway/core/backoff.h"

#include <gtest/gtest.h>

#include <set>

namespace vcgate::core {
namespace {

using std::chrono::milliseconds;

BackoffPolicy policy(double jitter = 0.0) {
  BackoffPolicy p;
  p.initial = milliseconds(500);
  p.max = milliseconds(30'000);
  p.stable = milliseconds(60'000);
  p.jitter = jitter;
  return p;
}

TEST(Backoff, DoublesFromInitialUntilTheCap) {
  ManualClock clock;
  Backoff backoff(policy(), clock, 1);
  const int64_t expected[] = {500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000};
  for (int64_t ms : expected) EXPECT_EQ(backoff.onFailure().count(), ms);
  EXPECT_EQ(backoff.attempts(), 9);
}

TEST(Backoff, TheFirstConnectionFailingAlsoBacksOff) {
  ManualClock clock;
  Backoff backoff(policy(), clock, 1);
  EXPECT_EQ(backoff.onFailure(), milliseconds(500));  // never connected
  EXPECT_EQ(backoff.onFailure(), milliseconds(1000));
}

TEST(Backoff, JitterStaysWithinItsFractionAndVaries) {
  ManualClock clock;
  Backoff backoff(policy(0.3), clock, 42);
  std::set<int64_t> seen;
  for (int i = 0; i < 200; ++i) {
    const auto base = backoff.baseDelay(backoff.attempts());
    const auto d = backoff.onFailure();
    EXPECT_LE(d, base);
    EXPECT_GE(d.count(), static_cast<int64_t>(static_cast<double>(base.count()) * 0.7) - 1);
    seen.insert(d.count());
  }
  EXPECT_GT(seen.size(), 10u) << "jitter must spread reconnects of many cameras";
}

TEST(Backoff, AShortConnectionDoesNotResetTheSchedule) {
  ManualClock clock;
  Backoff backoff(policy(), clock, 1);
  backoff.onFailure();
  backoff.onFailure();
  backoff.onConnected();
  clock.advance(std::chrono::seconds(5));  // less than `stable`
  EXPECT_EQ(backoff.onFailure(), milliseconds(2000));
}

TEST(Backoff, AStableConnectionResetsTheSchedule) {
  ManualClock clock;
  Backoff backoff(policy(), clock, 1);
  for (int i = 0; i < 6; ++i) backoff.onFailure();
  backoff.onConnected();
  clock.advance(std::chrono::seconds(60));
  EXPECT_EQ(backoff.onFailure(), milliseconds(500));
  EXPECT_EQ(backoff.attempts(), 1);
}

TEST(Backoff, HugeAttemptCountsDoNotOverflow) {
  ManualClock clock;
  Backoff backoff(policy(), clock, 1);
  EXPECT_EQ(backoff.baseDelay(10'000), milliseconds(30'000));
}

}  // namespace
}  // namespace vcgate::core
