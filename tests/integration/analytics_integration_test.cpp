// Analytics with the real GStreamer: keyframes from real encoders (x264enc,
// x265enc, videotestsrc) decoded by KeyframeDecoder, and a synthetic camera
// fed through the real FrameDispatcher into AnalyticsSink, its events
// forwarded to the main context like the daemon will.
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "gateway/analytics/analytics_sink.h"
#include "gateway/analytics/frame_analyzer.h"
#include "gateway/analytics/keyframe_decoder.h"
#include "gateway/analytics/main_context_forwarder.h"
#include "gateway/media/frame_dispatcher.h"
#include "tests/support/gst_loop.h"

namespace vcgate::analytics {
namespace {

using namespace std::chrono_literals;
using media::AccessUnit;
using media::AccessUnitPtr;
using media::VideoCodec;

constexpr int64_t kBase = 1'700'000'000'000'000;

// Access units of a synthetic camera: `source` (a videotestsrc description)
// encoded at 320x240, 25 fps. Like tests/support/encoded_units.h, with the
// pattern and the encoder options open, and capture times from the PTS.
std::vector<AccessUnitPtr> encode(const std::string& source, int frames, VideoCodec codec = VideoCodec::kH264,
                                  const std::string& encoder_options = "tune=zerolatency", int gop = 25) {
  testing::initGstreamer();
  const std::string encoder =
      codec == VideoCodec::kH264
          ? fmt::format("x264enc key-int-max={} {} speed-preset=ultrafast bitrate=400 ! h264parse config-interval=-1 "
                        "! video/x-h264,stream-format=byte-stream,alignment=au",
                        gop, encoder_options)
          : fmt::format("x265enc key-int-max={} {} speed-preset=ultrafast bitrate=400 ! h265parse config-interval=-1 "
                        "! video/x-h265,stream-format=byte-stream,alignment=au",
                        gop, encoder_options);
  const std::string description = fmt::format(
      "{} num-buffers={} ! video/x-raw,format=I420,width=320,height=240,framerate=25/1 ! {} ! appsink name=sink "
      "sync=false",
      source, frames, encoder);
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(description.c_str(), &error);
  if (!pipeline) {
    ADD_FAILURE() << description << ": " << (error ? error->message : "?");
    g_clear_error(&error);
    return {};
  }
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  std::vector<AccessUnitPtr> units;
  uint64_t index = 0;
  int64_t first_pts = -1;  // x264enc starts its timestamps at 1000 hours
  while (GstSample* sample = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 20 * GST_SECOND)) {
    GstBuffer* buffer = gst_sample_get_buffer(sample);
    GstMapInfo map;
    if (buffer && gst_buffer_map(buffer, &map, GST_MAP_READ)) {
      auto unit = std::make_shared<AccessUnit>();
      unit->codec = codec;
      unit->data.assign(map.data, map.data + map.size);
      unit->keyframe = !GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT);
      unit->pts_ns = static_cast<int64_t>(GST_BUFFER_PTS(buffer));
      unit->dts_ns = GST_BUFFER_DTS_IS_VALID(buffer) ? static_cast<int64_t>(GST_BUFFER_DTS(buffer)) : unit->pts_ns;
      if (first_pts < 0) first_pts = unit->pts_ns;
      unit->capture_us = kBase + (unit->pts_ns - first_pts) / 1000;
      unit->width = 320;
      unit->height = 240;
      unit->index = index++;
      units.push_back(std::move(unit));
      gst_buffer_unmap(buffer, &map);
    }
    gst_sample_unref(sample);
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
  return units;
}

std::vector<AccessUnitPtr> keyframes(const std::vector<AccessUnitPtr>& units) {
  std::vector<AccessUnitPtr> out;
  for (const auto& u : units)
    if (u->keyframe) out.push_back(u);
  return out;
}

TEST(KeyframeDecoderTest, H264KeyframesBecomeGreyFramesOfTheAnalysisSize) {
  auto units = keyframes(encode("videotestsrc pattern=white", 100));
  ASSERT_EQ(units.size(), 4u);
  auto decoder = KeyframeDecoder::create(VideoCodec::kH264, 160, 90);
  ASSERT_TRUE(decoder.ok()) << decoder.error().message;
  for (const auto& unit : units) {
    auto frame = (*decoder)->decode(*unit);
    ASSERT_TRUE(frame.ok()) << frame.error().message;
    ASSERT_TRUE(frame->has_value()) << "every keyframe yields its picture at once";
    const GreyFrame& f = **frame;
    EXPECT_EQ(f.width, 160);
    EXPECT_EQ(f.height, 90);
    EXPECT_EQ(f.pixels.size(), 160u * 90u);
    EXPECT_EQ(f.capture_us, unit->capture_us);
    EXPECT_NEAR(frameStats(f).mean, 235, 3) << "white in video range";
  }
}

TEST(KeyframeDecoderTest, StreamWithBFramesYieldsEachKeyframeAtOnce) {
  // No zerolatency: x264 uses B-frames and a reorder delay, which a decoder
  // fed only keyframes would otherwise hold until the next keyframe.
  auto all = encode("videotestsrc pattern=ball background-color=0xff606060", 100, VideoCodec::kH264,
                    "bframes=2 b-adapt=false");
  auto units = keyframes(all);
  ASSERT_EQ(units.size(), 4u);
  bool has_b_frames = false;
  for (const auto& u : all) has_b_frames |= u->pts_ns != u->dts_ns;
  EXPECT_TRUE(has_b_frames) << "the fixture must reorder";
  auto decoder = KeyframeDecoder::create(VideoCodec::kH264, 64, 48);
  ASSERT_TRUE(decoder.ok()) << decoder.error().message;
  for (const auto& unit : units) {
    auto frame = (*decoder)->decode(*unit);
    ASSERT_TRUE(frame.ok()) << frame.error().message;
    ASSERT_TRUE(frame->has_value());
    EXPECT_EQ((*frame)->width, 64);
    EXPECT_EQ((*frame)->capture_us, unit->capture_us) << "the picture of this unit, not of the one before";
  }
}

TEST(KeyframeDecoderTest, H265KeyframesDecode) {
  auto units = keyframes(encode("videotestsrc pattern=black", 50, VideoCodec::kH265));
  ASSERT_GE(units.size(), 2u);
  auto decoder = KeyframeDecoder::create(VideoCodec::kH265, 160, 90);
  ASSERT_TRUE(decoder.ok()) << decoder.error().message;
  for (const auto& unit : units) {
    auto frame = (*decoder)->decode(*unit);
    ASSERT_TRUE(frame.ok()) << frame.error().message;
    ASSERT_TRUE(frame->has_value());
    EXPECT_NEAR(frameStats(**frame).mean, 16, 3) << "black in video range";
  }
}

TEST(KeyframeDecoderTest, GarbageNeverCrashesAndAFreshDecoderWorks) {
  auto decoder = KeyframeDecoder::create(VideoCodec::kH264, 160, 90);
  ASSERT_TRUE(decoder.ok());
  AccessUnit garbage;
  garbage.keyframe = true;
  garbage.data.assign(5000, 0xAB);
  for (int i = 0; i < 20; ++i) {
    auto r = (*decoder)->decode(garbage);
    if (!r.ok()) {
      EXPECT_NE(r.error().message.find("decoding failed"), std::string::npos) << r.error().message;
      break;
    }
    EXPECT_FALSE(r->has_value()) << "no picture from garbage";
  }
  auto fresh = KeyframeDecoder::create(VideoCodec::kH264, 160, 90);
  ASSERT_TRUE(fresh.ok());
  auto units = keyframes(encode("videotestsrc pattern=white", 25));
  ASSERT_EQ(units.size(), 1u);
  auto frame = (*fresh)->decode(*units[0]);
  ASSERT_TRUE(frame.ok() && frame->has_value());
}

// A synthetic camera through the real dispatcher into the sink; events come
// back on this (the main) thread through the forwarder.
class AnalyticsPipelineTest : public ::testing::Test {
 protected:
  void SetUp() override { testing::initGstreamer(); }

  // Pushes every unit through the dispatcher, pacing at each keyframe until
  // the worker has dealt with it (the sink keeps only the newest keyframe).
  void feed(AnalyticsSink& sink, const std::vector<AccessUnitPtr>& units) {
    media::FrameDispatcher dispatcher;
    dispatcher.addSink(&sink);
    dispatcher.start();
    auto camera = std::make_shared<const std::string>("platform-1");
    uint64_t expected = 0;
    for (const auto& unit : units) {
      ASSERT_TRUE(dispatcher.tryPush(camera, unit));
      if (!unit->keyframe) continue;
      ++expected;
      ASSERT_TRUE(testing::runMainLoopUntil(
          [&] {
            auto s = sink.stats()[0];
            return s.frames_analysed + s.decode_failures >= expected;
          },
          10s))
          << "keyframe " << expected << " was not analysed";
    }
    dispatcher.stop();
    testing::runMainLoopFor(50ms);  // forwarded events
  }

  std::vector<AnalyticsEvent> of(EventKind kind) const {
    std::vector<AnalyticsEvent> out;
    for (const auto& e : events_)
      if (e.kind == kind) out.push_back(e);
    return out;
  }

  std::vector<AnalyticsEvent> events_;
  MainContextForwarder<AnalyticsEvent> forward_{[this](const AnalyticsEvent& e) { events_.push_back(e); }};
};

AnalyticsConfig platformConfig() {
  CameraAnalyticsConfig c;
  c.camera = "platform-1";
  c.interval_s = 1;
  MotionZoneConfig z;
  z.name = "track";
  z.polygon = {{0, 0}, {1, 0}, {1, 1}, {0, 1}};  // the ball's whole path
  z.min_area = 0.01;
  z.min_duration_s = 1;
  z.hold_s = 2;
  c.zones = {z};
  c.tamper.blackout_min_duration_s = 1;
  AnalyticsConfig config;
  config.cameras = {c};
  config.stale_after_s = 1;
  return config;
}

TEST_F(AnalyticsPipelineTest, MovingBallInTheZoneRaisesMotionThenEndsWhenVideoStops) {
  auto units = encode("videotestsrc pattern=ball background-color=0xff606060", 250);  // 10 s, a keyframe a second
  ASSERT_EQ(keyframes(units).size(), 10u);
  AnalyticsSink sink(platformConfig(), forward_.callback());
  sink.start();
  feed(sink, units);
  auto stats = sink.stats()[0];
  EXPECT_EQ(stats.frames_analysed, 10u);
  EXPECT_EQ(stats.decode_failures, 0u) << stats.last_error;
  EXPECT_EQ(stats.active, std::vector<std::string>{"motion:track"});

  auto motion = of(EventKind::kMotion);
  ASSERT_EQ(motion.size(), 1u);
  EXPECT_TRUE(motion[0].active);
  EXPECT_EQ(motion[0].camera, "platform-1");
  EXPECT_EQ(motion[0].zone, "track");
  EXPECT_EQ(motion[0].capture_us, kBase + 2'000'000) << "motion from the second keyframe, plus 1 s";
  EXPECT_GE(motion[0].score, 0.01);
  EXPECT_TRUE(of(EventKind::kBlackout).empty());
  EXPECT_TRUE(of(EventKind::kSceneChange).empty());

  // The camera stops sending: after stale_after_s the event ends by itself.
  ASSERT_TRUE(testing::runMainLoopUntil([&] { return of(EventKind::kMotion).size() == 2; }, 5s));
  EXPECT_FALSE(of(EventKind::kMotion)[1].active);
  sink.stop();
}

TEST_F(AnalyticsPipelineTest, BallOutsideTheZoneRaisesNothing) {
  auto config = platformConfig();
  // A sliver along the top edge the ball never reaches (it stays 20 px from the borders).
  config.cameras[0].zones[0].polygon = {{0, 0}, {1, 0}, {1, 0.05}, {0, 0.05}};
  auto units = encode("videotestsrc pattern=ball background-color=0xff606060", 125);
  AnalyticsSink sink(config, forward_.callback());
  sink.start();
  feed(sink, units);
  sink.stop();
  EXPECT_EQ(sink.stats()[0].frames_analysed, 5u);
  EXPECT_TRUE(events_.empty());
}

TEST_F(AnalyticsPipelineTest, BlackCameraRaisesBlackout) {
  auto units = encode("videotestsrc pattern=black", 125);
  AnalyticsSink sink(platformConfig(), forward_.callback());
  sink.start();
  feed(sink, units);
  sink.stop();
  auto blackout = of(EventKind::kBlackout);
  ASSERT_EQ(blackout.size(), 1u);
  EXPECT_TRUE(blackout[0].active);
  EXPECT_EQ(blackout[0].capture_us, kBase + 2'000'000) << "black from the second keyframe, plus 1 s";
  EXPECT_GT(blackout[0].score, 0.9);
  EXPECT_TRUE(of(EventKind::kMotion).empty());
}

TEST_F(AnalyticsPipelineTest, CameraTurningBlackMidStreamRaisesBlackoutAfterMotionFreeStart) {
  auto config = platformConfig();
  config.cameras[0].zones.clear();
  auto lit = encode("videotestsrc pattern=smpte", 100);
  auto dark = encode("videotestsrc pattern=black", 100);
  ASSERT_FALSE(lit.empty());
  ASSERT_FALSE(dark.empty());
  std::vector<AccessUnitPtr> units = lit;
  for (const auto& u : dark) {  // continue the timeline after the lit part
    auto shifted = std::make_shared<AccessUnit>(*u);
    shifted->capture_us += 4'000'000;
    units.push_back(std::move(shifted));
  }
  AnalyticsSink sink(config, forward_.callback());
  sink.start();
  feed(sink, units);
  sink.stop();
  auto blackout = of(EventKind::kBlackout);
  ASSERT_EQ(blackout.size(), 1u);
  EXPECT_EQ(blackout[0].capture_us, kBase + 5'000'000) << "black from 4 s, plus 1 s";
  EXPECT_TRUE(of(EventKind::kSceneChange).empty()) << "dark frames are blackout, not scene change";
}

TEST_F(AnalyticsPipelineTest, DisabledCameraDecodesNothing) {
  auto config = platformConfig();
  config.cameras[0].enabled = false;
  AnalyticsSink sink(config, forward_.callback());
  sink.start();
  media::FrameDispatcher dispatcher;
  dispatcher.addSink(&sink);
  dispatcher.start();
  auto camera = std::make_shared<const std::string>("platform-1");
  for (const auto& u : encode("videotestsrc pattern=black", 50)) ASSERT_TRUE(dispatcher.tryPush(camera, u));
  dispatcher.stop();
  testing::runMainLoopFor(200ms);
  sink.stop();
  auto stats = sink.stats()[0];
  EXPECT_EQ(stats.keyframes_seen, 2u);
  EXPECT_EQ(stats.frames_analysed, 0u);
  EXPECT_TRUE(events_.empty());
}

}  // namespace
}  // namespace vcgate::analytics
