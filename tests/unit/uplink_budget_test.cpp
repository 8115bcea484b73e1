// The uplink budget's policy, driven by hand with a ManualClock: which
// alarm streams go out in full, as keyframes only, or not at all, by level.
// The same policy on a real ZeroMQ socket: tests/integration/budget_publish_test.cpp.
#include "gateway/bus/uplink_budget.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vcgate::bus {
namespace {

using namespace std::chrono_literals;

// A camera at 25 fps with a keyframe every 25 frames: 20 kB keyframes and
// 2 kB other frames make 68 kB/s = 544 kbit/s in full, 160 kbit/s as
// keyframes only.
constexpr size_t kKeyBytes = 20'000;
constexpr size_t kDeltaBytes = 2'000;
constexpr double kFullBps = 544'000;
constexpr double kKeyBps = 160'000;

struct Camera {
  std::string id;
  int level;
  int frame = 0;
};

class UplinkBudgetTest : public ::testing::Test {
 protected:
  // Every camera delivers one frame per 40 ms for `duration`; returns how many
  // units of each camera the budget let out, like the publisher asks it.
  // With `publish` false the cameras are only measured (covered by no alarm yet).
  std::vector<int> run(UplinkBudget& budget, std::vector<Camera>& cameras, std::chrono::milliseconds duration,
                       std::vector<int>* keyframes_out = nullptr, bool publish = true) {
    std::vector<int> sent(cameras.size(), 0);
    if (keyframes_out) keyframes_out->assign(cameras.size(), 0);
    for (auto t = 0ms; t < duration; t += 40ms) {
      clock_.advance(40ms);
      for (size_t i = 0; i < cameras.size(); ++i) {
        auto& c = cameras[i];
        const bool key = c.frame++ % 25 == 0;
        if (publish) budget.setLevel(c.id, c.level);
        budget.noteUnit(c.id, clock_.wallMicros(), key ? kKeyBytes : kDeltaBytes, key);
        const auto mode = budget.mode(c.id);
        const bool go = mode == UplinkMode::kFull || (mode == UplinkMode::kKeyframes && key);
        sent[i] += publish && go;
        if (keyframes_out && go && key) ++(*keyframes_out)[i];
      }
    }
    return sent;
  }
  UplinkMode modeOf(UplinkBudget& budget, const std::string& id) { return budget.mode(id); }
  // The cameras stream for 2 s before an alarm covers them, as in the gateway.
  void warmUp(UplinkBudget& budget, std::vector<Camera>& cameras) { run(budget, cameras, 2s, nullptr, false); }

  core::ManualClock clock_;
};

TEST_F(UplinkBudgetTest, UnlimitedLetsEverythingOutAndMeasuresNothing) {
  UplinkBudget budget(0, clock_);
  std::vector<Camera> cameras{{"a", 3}, {"b", 1}};
  const auto sent = run(budget, cameras, 4s);
  EXPECT_EQ(sent, (std::vector<int>{100, 100}));
  EXPECT_TRUE(budget.demand().empty());
}

TEST_F(UplinkBudgetTest, DemandIsKnownBeforeTheStreamIsPublished) {
  // Unpublished cameras are measured too: a camera's pre-roll burst at the
  // raise is priced at its real rate from the first unit.
  UplinkBudget budget(800'000, clock_);
  for (int i = 0; i < 75; ++i) {
    clock_.advance(40ms);
    for (const char* id : {"l1", "l3"})
      budget.noteUnit(id, clock_.wallMicros(), i % 25 == 0 ? kKeyBytes : kDeltaBytes, i % 25 == 0);
  }
  EXPECT_TRUE(budget.demand().empty()) << "nothing published yet";
  budget.setLevel("l3", 3);
  budget.setLevel("l1", 1);
  EXPECT_EQ(budget.mode("l3"), UplinkMode::kKeyframes);
  EXPECT_EQ(budget.mode("l1"), UplinkMode::kFull);
  EXPECT_NEAR(budget.totalDemandBps(), 2 * kFullBps, kFullBps * 0.02);
}

TEST_F(UplinkBudgetTest, MeasuresFullAndKeyframeDemandPerStream) {
  UplinkBudget budget(10'000'000, clock_);
  std::vector<Camera> cameras{{"a", 2}};
  run(budget, cameras, 4s);
  const auto demand = budget.demand();
  ASSERT_EQ(demand.size(), 1u);
  EXPECT_NEAR(demand[0].full_bps, kFullBps, kFullBps * 0.01);
  EXPECT_NEAR(demand[0].keyframe_bps, kKeyBps, kKeyBps * 0.01);
  EXPECT_EQ(demand[0].mode, UplinkMode::kFull);
}

TEST_F(UplinkBudgetTest, LevelThreeDegradesToKeyframesWhileLevelOneStaysComplete) {
  // Room for one full stream and the keyframes of another.
  UplinkBudget budget(800'000, clock_);
  std::vector<Camera> cameras{{"l3", 3}, {"l1", 1}};  // level 3 first: the order of arrival does not matter
  warmUp(budget, cameras);
  run(budget, cameras, 1s);
  std::vector<int> keyframes;
  const auto sent = run(budget, cameras, 4s, &keyframes);
  EXPECT_EQ(sent[1], 100) << "level 1: every unit";
  EXPECT_EQ(sent[0], 4) << "level 3: only its keyframes, one a second";
  EXPECT_EQ(keyframes[0], 4);
  EXPECT_EQ(modeOf(budget, "l1"), UplinkMode::kFull);
  EXPECT_EQ(modeOf(budget, "l3"), UplinkMode::kKeyframes);
}

TEST_F(UplinkBudgetTest, LevelThreeIsHeldWhenEvenItsKeyframesDoNotFit) {
  UplinkBudget budget(600'000, clock_);  // level 1 full leaves 56 kbit/s: less than level 3's keyframes
  std::vector<Camera> cameras{{"l1", 1}, {"l3", 3}};
  warmUp(budget, cameras);
  run(budget, cameras, 1s);
  const auto sent = run(budget, cameras, 4s);
  EXPECT_EQ(sent[0], 100);
  EXPECT_EQ(sent[1], 0);
  EXPECT_EQ(modeOf(budget, "l3"), UplinkMode::kHeld);
}

TEST_F(UplinkBudgetTest, LevelsDegradeInOrderThreeThenTwoThenOne) {
  std::vector<Camera> cameras{{"l1", 1}, {"l2", 2}, {"l3", 3}};
  struct Case {
    double budget;
    UplinkMode l1, l2, l3;
  } cases[] = {
      {2'000'000, UplinkMode::kFull, UplinkMode::kFull, UplinkMode::kFull},
      {1'300'000, UplinkMode::kFull, UplinkMode::kFull, UplinkMode::kKeyframes},   // 1088 + 160 fit
      {1'150'000, UplinkMode::kFull, UplinkMode::kFull, UplinkMode::kHeld},        // 1088 + 62 left
      {800'000, UplinkMode::kFull, UplinkMode::kKeyframes, UplinkMode::kHeld},     // 544 + 160, 96 left
      {600'000, UplinkMode::kFull, UplinkMode::kHeld, UplinkMode::kHeld},
      // Level 1 alone exceeds the budget: it degrades too, and is never held.
      {400'000, UplinkMode::kKeyframes, UplinkMode::kKeyframes, UplinkMode::kHeld},
      {50'000, UplinkMode::kKeyframes, UplinkMode::kHeld, UplinkMode::kHeld},
  };
  for (const auto& c : cases) {
    UplinkBudget budget(static_cast<uint64_t>(c.budget), clock_);
    warmUp(budget, cameras);
    run(budget, cameras, 1s);
    EXPECT_EQ(modeOf(budget, "l1"), c.l1) << "budget " << c.budget;
    EXPECT_EQ(modeOf(budget, "l2"), c.l2) << "budget " << c.budget;
    EXPECT_EQ(modeOf(budget, "l3"), c.l3) << "budget " << c.budget;
  }
}

TEST_F(UplinkBudgetTest, EventsAndHeartbeatsAreCountedFirst) {
  UplinkBudget budget(800'000, clock_);
  std::vector<Camera> cameras{{"l1", 1}, {"l3", 3}};
  run(budget, cameras, 3s);
  EXPECT_EQ(modeOf(budget, "l3"), UplinkMode::kKeyframes);
  // 50 kB of events within the window (200 kbit/s): level 3's keyframes no longer fit.
  for (int i = 0; i < 50; ++i) budget.noteControl(1000);
  clock_.advance(UplinkBudget::kReevaluate);
  EXPECT_NEAR(budget.controlBps(), 200'000, 1);
  EXPECT_EQ(modeOf(budget, "l3"), UplinkMode::kHeld);
  EXPECT_EQ(modeOf(budget, "l1"), UplinkMode::kFull);
  // They leave the window, and level 3 comes back.
  run(budget, cameras, 3s);
  EXPECT_EQ(modeOf(budget, "l3"), UplinkMode::kKeyframes);
}

TEST_F(UplinkBudgetTest, AStreamThatIsNoLongerCoveredGivesItsShareBack) {
  UplinkBudget budget(800'000, clock_);
  std::vector<Camera> both{{"l1", 1}, {"l3", 3}};
  run(budget, both, 3s);
  ASSERT_EQ(modeOf(budget, "l3"), UplinkMode::kKeyframes);
  budget.setLevel("l1", 0);  // its alarm's post-roll ended
  EXPECT_EQ(modeOf(budget, "l3"), UplinkMode::kFull) << "re-decided at once, not at the next interval";
  std::vector<Camera> only{{"l3", 3, both[1].frame}};
  const auto sent = run(budget, only, 2s);
  EXPECT_EQ(sent[0], 50);
}

TEST_F(UplinkBudgetTest, DecisionsWaitForTheReevaluationIntervalAndHaveHeadroom) {
  UplinkBudget budget(800'000, clock_);
  std::vector<Camera> cameras{{"l1", 1}, {"l3", 3}};
  run(budget, cameras, 3s);
  ASSERT_EQ(modeOf(budget, "l3"), UplinkMode::kKeyframes);
  // Level 1 goes quiet (its camera sends tiny frames now): level 3 would fit
  // in full, but only after the old samples left the window and the next
  // evaluation came.
  auto feed = [&](std::chrono::milliseconds d) {
    for (auto t = 0ms; t < d; t += 40ms) {
      clock_.advance(40ms);
      budget.noteUnit("l1", clock_.wallMicros(), 100, false);
      const bool key = cameras[1].frame++ % 25 == 0;
      budget.noteUnit("l3", clock_.wallMicros(), key ? kKeyBytes : kDeltaBytes, key);
    }
  };
  feed(400ms);
  EXPECT_EQ(modeOf(budget, "l3"), UplinkMode::kKeyframes) << "the window still holds level 1's big frames";
  feed(2500ms);
  EXPECT_EQ(modeOf(budget, "l3"), UplinkMode::kFull);

  // Headroom: a stream whose demand is 95 % of what is left is not upgraded.
  UplinkBudget tight(static_cast<uint64_t>(kFullBps / 0.95), clock_);
  std::vector<Camera> one{{"l3", 3}};
  tight.setLevel("l3", 3);
  tight.noteUnit("l3", clock_.wallMicros(), kKeyBytes * 10, true);  // a burst: starts degraded
  EXPECT_NE(modeOf(tight, "l3"), UplinkMode::kFull);
  run(tight, one, 4s);
  EXPECT_EQ(modeOf(tight, "l3"), UplinkMode::kKeyframes) << "fits, but without 10 % headroom";
}

TEST_F(UplinkBudgetTest, ModeNames) {
  EXPECT_EQ(toString(UplinkMode::kFull), "full");
  EXPECT_EQ(toString(UplinkMode::kKeyframes), "keyframes");
  EXPECT_EQ(toString(UplinkMode::kHeld), "held");
}

}  // namespace
}  // namespace vcgate::bus
