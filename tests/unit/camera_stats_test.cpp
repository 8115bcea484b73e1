#include "gateway/media/camera_stats.h"

#include <gtest/gtest.h>

namespace vcgate::media {
namespace {

AccessUnit unitOf(size_t bytes, bool keyframe) {
  AccessUnit unit;
  unit.keyframe = keyframe;
  unit.width = 640;
  unit.height = 360;
  unit.data.resize(bytes);
  return unit;
}

TEST(CameraStats, RatesOverTheWindow) {
  core::ManualClock clock;
  CameraStats stats("cam", clock);
  // 25 fps, 5000 bytes per frame (1 Mbit/s), a keyframe every 10 frames, for 4 s.
  for (int i = 0; i < 100; ++i) {
    stats.onFrame(unitOf(5000, i % 10 == 0));
    clock.advance(std::chrono::milliseconds(40));
  }
  const auto s = stats.snapshot();
  EXPECT_NEAR(s.fps, 25.0, 0.01);
  EXPECT_NEAR(s.bitrate_bps, 1'000'000, 1);
  EXPECT_EQ(s.frames, 100u);
  EXPECT_EQ(s.keyframes, 10u);
  EXPECT_EQ(s.bytes, 500'000u);
  EXPECT_EQ(s.keyframe_interval_frames, 10);
  EXPECT_NEAR(s.keyframe_interval_s, 0.4, 1e-9);
  EXPECT_EQ(s.width, 640);
  EXPECT_EQ(s.codec, "h264");
  EXPECT_EQ(s.last_frame_age_ms, 40);
}

TEST(CameraStats, ASilentCameraDecaysToZeroButKeepsItsCounters) {
  core::ManualClock clock;
  CameraStats stats("cam", clock);
  for (int i = 0; i < 50; ++i) {
    stats.onFrame(unitOf(1000, i == 0));
    clock.advance(std::chrono::milliseconds(40));
  }
  clock.advance(std::chrono::seconds(6));
  const auto s = stats.snapshot();
  EXPECT_EQ(s.fps, 0);
  EXPECT_EQ(s.bitrate_bps, 0);
  EXPECT_EQ(s.frames, 50u);
  EXPECT_EQ(s.last_frame_age_ms, 6040);
}

TEST(CameraStats, NoFrameYet) {
  core::ManualClock clock;
  CameraStats stats("cam", clock);
  const auto s = stats.snapshot();
  EXPECT_EQ(s.last_frame_age_ms, -1);
  EXPECT_EQ(s.fps, 0);
  EXPECT_EQ(s.codec, "");
}

TEST(CameraStats, SilenceCountsFromTheLaterOfLastFrameAndSince) {
  core::ManualClock clock;
  CameraStats stats("cam", clock);
  const auto start = clock.now();
  clock.advance(std::chrono::seconds(2));
  EXPECT_EQ(stats.silenceSince(start), std::chrono::seconds(2));
  stats.onFrame(unitOf(10, true));
  clock.advance(std::chrono::seconds(1));
  EXPECT_EQ(stats.silenceSince(start), std::chrono::seconds(1));
}

TEST(CameraStats, CountersAndStateNames) {
  core::ManualClock clock;
  CameraStats stats("cam", clock);
  stats.countReconnect();
  stats.countReconnect();
  stats.onDropped();
  stats.setState(CameraState::kBackoff);
  stats.setError("connection refused");
  const auto s = stats.snapshot();
  EXPECT_EQ(s.reconnects, 2u);
  EXPECT_EQ(s.dropped, 1u);
  EXPECT_EQ(stateName(s.state), "backoff");
  EXPECT_EQ(s.last_error, "connection refused");
}

}  // namespace
}  // namespace vcgate::media
