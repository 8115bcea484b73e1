#include "gateway/media/pre_alarm_buffer.h"

#include <gtest/gtest.h>

namespace vcgate::media {
namespace {

// A camera at 10 fps with a keyframe every `gop` frames; unit i is captured at i*100 ms.
AccessUnitPtr unitAt(int i, int gop, size_t bytes = 1000) {
  auto unit = std::make_shared<AccessUnit>();
  unit->keyframe = i % gop == 0;
  unit->capture_us = 1'000'000'000 + int64_t{i} * 100'000;
  unit->index = static_cast<uint64_t>(i) + 1;
  unit->data.resize(bytes);
  return unit;
}

TEST(PreAlarmBuffer, KeepsTheKeyframeAtOrBeforeThePreRoll) {
  PreAlarmBuffer buffer(/*pre_roll_s=*/3.0, /*max_bytes=*/100 << 20);
  for (int i = 0; i < 200; ++i) buffer.push(unitAt(i, 10));
  // Newest is frame 199 (19.9 s); pre-roll reaches 16.9 s; keyframe at or before: frame 160.
  ASSERT_GT(buffer.size(), 0u);
  const auto all = buffer.since(0);
  EXPECT_EQ(all.front()->index, 161u);
  EXPECT_TRUE(all.front()->keyframe);
  EXPECT_NEAR(buffer.seconds(), 3.9, 1e-9);
  EXPECT_EQ(buffer.bytes(), 40 * (1000 + PreAlarmBuffer::kUnitOverhead));
}

TEST(PreAlarmBuffer, SinceStartsAtTheKeyframeAtOrBeforeTheTime) {
  PreAlarmBuffer buffer(10.0, 100 << 20);
  for (int i = 0; i < 100; ++i) buffer.push(unitAt(i, 10));
  const int64_t t55 = 1'000'000'000 + 55 * 100'000;
  auto from = buffer.since(t55);
  EXPECT_EQ(from.front()->index, 51u);  // keyframe at frame 50
  EXPECT_EQ(from.back()->index, 100u);
  EXPECT_EQ(from.size(), 50u);
  auto exact = buffer.since(1'000'000'000 + 60 * 100'000);
  EXPECT_EQ(exact.front()->index, 61u);
  auto before_everything = buffer.since(0);
  EXPECT_EQ(before_everything.front()->index, 1u);
  EXPECT_EQ(buffer.fromLastKeyframe().front()->index, 91u);
}

TEST(PreAlarmBuffer, TheByteCapWinsOverThePreRollAndKeepsAKeyframeFirst) {
  // 10 s pre-roll wanted, but only 25 units fit.
  PreAlarmBuffer buffer(10.0, 25 * (1000 + PreAlarmBuffer::kUnitOverhead));
  for (int i = 0; i < 100; ++i) {
    buffer.push(unitAt(i, 10));
    EXPECT_LE(buffer.bytes(), 25 * (1000 + PreAlarmBuffer::kUnitOverhead));
    if (buffer.size()) {
      EXPECT_TRUE(buffer.since(0).front()->keyframe);
    }
  }
  EXPECT_EQ(buffer.since(0).front()->index, 81u);
}

TEST(PreAlarmBuffer, WaitsForAKeyframeBeforeKeepingAnything) {
  PreAlarmBuffer buffer(5.0, 1 << 20);
  for (int i = 1; i < 10; ++i) buffer.push(unitAt(i, 10));
  EXPECT_EQ(buffer.size(), 0u);
  buffer.push(unitAt(10, 10));
  EXPECT_EQ(buffer.size(), 1u);
  buffer.clear();
  EXPECT_EQ(buffer.size(), 0u);
  EXPECT_EQ(buffer.bytes(), 0u);
  buffer.push(unitAt(20, 10));
  buffer.push(unitAt(21, 10));
  EXPECT_EQ(buffer.since(0).size(), 2u);
}

TEST(PreAlarmBuffer, AGopBiggerThanTheCapIsNotKept) {
  PreAlarmBuffer buffer(5.0, 5000);
  for (int i = 0; i < 30; ++i) buffer.push(unitAt(i, 10));
  EXPECT_LE(buffer.bytes(), 5000u);
}

}  // namespace
}  // namespace vcgate::media
