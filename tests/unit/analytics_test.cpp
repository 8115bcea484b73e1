// Detectors on synthetic grey frames with made-up capture times, the rate
// gate of AnalyticsSink (no decoding: the worker is not started), config
// validation and the main-context forwarder.
#include <glib.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <random>
#include <thread>

#include "gateway/analytics/analytics_config.h"
#include "gateway/analytics/analytics_sink.h"
#include "gateway/analytics/frame_analyzer.h"
#include "gateway/analytics/main_context_forwarder.h"

namespace vcgate::analytics {
namespace {

constexpr int kW = 160;
constexpr int kH = 90;
constexpr int64_t kBase = 1'700'000'000'000'000;
constexpr int64_t kSecond = 1'000'000;

// A textured scene: 4x4 blocks of random grey levels in [40, 200) with a fixed
// seed (std::mt19937's output is the same everywhere), so that it has edges
// like a real scene (sharpness) but no pixel noise.
GreyFrame scene(uint32_t seed = 1) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> blocks((kW / 4) * (kH / 4 + 1));
  for (auto& b : blocks) b = static_cast<uint8_t>(40 + rng() % 160);
  GreyFrame f;
  f.width = kW;
  f.height = kH;
  f.pixels.resize(kW * kH);
  for (int y = 0; y < kH; ++y)
    for (int x = 0; x < kW; ++x) f.pixels[y * kW + x] = blocks[(y / 4) * (kW / 4) + x / 4];
  return f;
}

GreyFrame at(GreyFrame f, int64_t t_us) {
  f.capture_us = t_us;
  return f;
}

// A bright square of side `size` with its top-left corner at (x, y).
GreyFrame withObject(GreyFrame f, int x, int y, int size = 16) {
  for (int j = y; j < std::min(kH, y + size); ++j)
    for (int i = x; i < std::min(kW, x + size); ++i) f.pixels[j * kW + i] = 250;
  return f;
}

GreyFrame filled(uint8_t level) {
  GreyFrame f;
  f.width = kW;
  f.height = kH;
  f.pixels.assign(kW * kH, level);
  return f;
}

// Box blur of radius r (out of focus).
GreyFrame blurred(const GreyFrame& in, int r = 3) {
  GreyFrame out = in;
  for (int y = 0; y < kH; ++y)
    for (int x = 0; x < kW; ++x) {
      int sum = 0, n = 0;
      for (int j = std::max(0, y - r); j <= std::min(kH - 1, y + r); ++j)
        for (int i = std::max(0, x - r); i <= std::min(kW - 1, x + r); ++i) {
          sum += in.pixels[j * kW + i];
          ++n;
        }
      out.pixels[y * kW + x] = static_cast<uint8_t>(sum / n);
    }
  return out;
}

MotionZoneConfig zone(std::string name, double x0, double y0, double x1, double y1) {
  MotionZoneConfig z;
  z.name = std::move(name);
  z.polygon = {{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}};
  return z;
}

CameraAnalyticsConfig camera(std::vector<MotionZoneConfig> zones = {}) {
  CameraAnalyticsConfig c;
  c.camera = "cam1";
  c.zones = std::move(zones);
  return c;
}

// Feeds frames one second apart from kBase and collects the events.
struct Feeder {
  explicit Feeder(CameraAnalyticsConfig config) : analyzer(std::move(config)) {}
  void feed(const GreyFrame& f) {
    auto e = analyzer.process(at(f, kBase + next * kSecond));
    ++next;
    events.insert(events.end(), e.begin(), e.end());
  }
  void feed(const GreyFrame& f, int count) {
    for (int i = 0; i < count; ++i) feed(f);
  }
  std::vector<AnalyticsEvent> of(EventKind kind) const {
    std::vector<AnalyticsEvent> out;
    for (const auto& e : events)
      if (e.kind == kind) out.push_back(e);
    return out;
  }
  FrameAnalyzer analyzer;
  std::vector<AnalyticsEvent> events;
  int next = 0;  // index of the next frame; its time is kBase + next seconds
};

TEST(AnalyticsConfigTest, SensitivityMapsToPixelThreshold) {
  EXPECT_EQ(pixelThreshold(1.0), 8);
  EXPECT_EQ(pixelThreshold(0.75), 31);
  EXPECT_EQ(pixelThreshold(0.5), 54);
  EXPECT_EQ(pixelThreshold(0.0), 100);
  EXPECT_EQ(pixelThreshold(7.0), 8) << "clamped";
}

TEST(AnalyticsConfigTest, ValidateNamesCameraZoneAndField) {
  EXPECT_TRUE(validate(camera({zone("door", 0.5, 0, 1, 1)})).ok());
  auto c = camera({zone("door", 0.5, 0, 1, 1)});
  c.zones[0].polygon.pop_back();
  c.zones[0].polygon.pop_back();
  auto r = validate(c);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "analytics of camera 'cam1': zone 'door': polygon needs at least 3 points");
  c = camera({zone("door", 0.5, 0, 1.5, 1)});
  EXPECT_NE(validate(c).error().message.find("outside [0,1]"), std::string::npos);
  c = camera({zone("door", 0, 0, 1, 1), zone("door", 0, 0, 1, 1)});
  EXPECT_NE(validate(c).error().message.find("defined twice"), std::string::npos);
  c = camera({zone("door", 0, 0, 1, 1)});
  c.zones[0].min_area = 0;
  EXPECT_NE(validate(c).error().message.find("min_area"), std::string::npos);
  c = camera();
  c.width = 161;
  EXPECT_NE(validate(c).error().message.find("even"), std::string::npos);
  c = camera();
  c.interval_s = 0;
  EXPECT_FALSE(validate(c).ok());
  AnalyticsConfig all;
  all.cameras = {camera(), camera()};
  EXPECT_NE(validate(all).error().message.find("configured twice"), std::string::npos);
}

TEST(AnalyticsEventTest, KindNamesRoundTrip) {
  for (auto k : {EventKind::kMotion, EventKind::kBlackout, EventKind::kSceneChange, EventKind::kDefocus})
    EXPECT_EQ(parseEventKind(toString(k)), k);
  EXPECT_EQ(toString(EventKind::kSceneChange), "scene_change");
  EXPECT_FALSE(parseEventKind("tamper"));
}

TEST(PersistenceTest, MinDurationThenHold) {
  Persistence p(2.0, 3.0);
  using C = Persistence::Change;
  EXPECT_EQ(p.update(true, 0 * kSecond, 0.1), C::kNone);
  EXPECT_EQ(p.update(true, 1 * kSecond, 0.5), C::kNone);
  EXPECT_EQ(p.update(true, 2 * kSecond, 0.2), C::kStarted);
  EXPECT_TRUE(p.active());
  EXPECT_EQ(p.update(false, 4 * kSecond), C::kNone);
  EXPECT_EQ(p.update(true, 5 * kSecond, 0.3), C::kNone) << "motion again within the hold keeps it on";
  EXPECT_EQ(p.update(false, 7 * kSecond), C::kNone);
  EXPECT_EQ(p.update(false, 8 * kSecond), C::kEnded) << "3 s after the last true observation";
  EXPECT_DOUBLE_EQ(p.peak(), 0.5);
  EXPECT_FALSE(p.active());
}

TEST(PersistenceTest, OneQuietObservationRestartsTheMinimumDuration) {
  Persistence p(2.0, 0.0);
  using C = Persistence::Change;
  EXPECT_EQ(p.update(true, 0, 1), C::kNone);
  EXPECT_EQ(p.update(false, 1 * kSecond), C::kNone);
  EXPECT_EQ(p.update(true, 2 * kSecond, 1), C::kNone);
  EXPECT_EQ(p.update(true, 3 * kSecond, 1), C::kNone);
  EXPECT_EQ(p.update(true, 4 * kSecond, 1), C::kStarted);
  EXPECT_EQ(p.update(false, 4 * kSecond + 1), C::kEnded) << "hold 0 ends at the first quiet observation";
  EXPECT_FALSE(p.forceEnd());
}

TEST(RasterizeTest, RectangleAndTriangleCoverTheirArea) {
  auto half = rasterizePolygon({{0.5, 0}, {1, 0}, {1, 1}, {0.5, 1}}, kW, kH);
  EXPECT_EQ(std::count(half.begin(), half.end(), 1), kW * kH / 2);
  EXPECT_EQ(half[0], 0);
  EXPECT_EQ(half[kW - 1], 1);
  auto tri = rasterizePolygon({{0, 0}, {1, 0}, {0, 1}}, 100, 100);
  const auto n = std::count(tri.begin(), tri.end(), 1);
  EXPECT_NEAR(n, 5000, 100);
  EXPECT_EQ(tri[0], 1);
  EXPECT_EQ(tri[99 * 100 + 99], 0);
  EXPECT_EQ(std::count(tri.begin(), tri.end(), 1), n);
  auto none = rasterizePolygon({{0, 0}, {1, 1}}, 10, 10);
  EXPECT_EQ(std::count(none.begin(), none.end(), 1), 0) << "fewer than 3 points";
}

TEST(FrameMeasuresTest, StatsAndSharpness) {
  auto flat = filled(100);
  EXPECT_DOUBLE_EQ(frameStats(flat).mean, 100);
  EXPECT_DOUBLE_EQ(frameStats(flat).stddev, 0);
  EXPECT_DOUBLE_EQ(laplacianVariance(flat), 0);
  const double sharp = laplacianVariance(scene());
  EXPECT_GT(sharp, 1000);
  EXPECT_LT(laplacianVariance(blurred(scene())), sharp * 0.1);
}

TEST(MotionTest, ObjectThroughZoneStartsAfterMinDurationAndEndsAfterHold) {
  auto z = zone("door", 0.5, 0, 1, 1);  // the right half
  z.min_duration_s = 2;
  z.hold_s = 3;
  Feeder run(camera({z}));
  const auto bg = scene();
  run.feed(bg, 5);  // frames 0..4: learn the background
  for (int i = 0; i < 6; ++i) run.feed(withObject(bg, 85 + i * 12, 30));  // frames 5..10, inside the zone
  run.feed(bg, 6);  // frames 11..16: gone
  auto motion = run.of(EventKind::kMotion);
  ASSERT_EQ(motion.size(), 2u);
  EXPECT_TRUE(motion[0].active);
  EXPECT_EQ(motion[0].camera, "cam1");
  EXPECT_EQ(motion[0].zone, "door");
  EXPECT_EQ(motion[0].capture_us, kBase + 7 * kSecond) << "first motion at frame 5 + min_duration 2 s";
  EXPECT_NEAR(motion[0].score, 256.0 / (kW * kH / 2), 0.005) << "a 16x16 object in half the frame";
  EXPECT_FALSE(motion[1].active);
  EXPECT_EQ(motion[1].capture_us, kBase + 13 * kSecond) << "last motion at frame 10 + hold 3 s";
  EXPECT_GE(motion[1].score, motion[0].score) << "the end carries the event's peak";
  EXPECT_TRUE(run.of(EventKind::kSceneChange).empty());
  EXPECT_TRUE(run.of(EventKind::kBlackout).empty());
  EXPECT_TRUE(run.of(EventKind::kDefocus).empty());
}

TEST(MotionTest, MotionOutsideEveryZoneRaisesNothing) {
  Feeder run(camera({zone("door", 0.5, 0, 1, 1), zone("gate", 0, 0.8, 0.4, 1)}));
  const auto bg = scene();
  run.feed(bg, 3);
  for (int i = 0; i < 6; ++i) run.feed(withObject(bg, 2 + i * 10, 10));  // top left, above the gate
  run.feed(bg, 12);
  EXPECT_TRUE(run.events.empty());
  EXPECT_DOUBLE_EQ(run.analyzer.measurements().zone_fraction[0], 0);
}

TEST(MotionTest, BelowMinimumAreaRaisesNothing) {
  auto z = zone("door", 0.5, 0, 1, 1);
  z.min_area = 0.05;  // 360 pixels of 7200
  Feeder run(camera({z}));
  const auto bg = scene();
  run.feed(bg, 3);
  for (int i = 0; i < 6; ++i) run.feed(withObject(bg, 90 + i * 10, 40, 16));  // 256 pixels
  run.feed(bg, 12);
  EXPECT_TRUE(run.events.empty());
}

TEST(MotionTest, ShortMotionBelowMinDurationRaisesNothing) {
  auto z = zone("door", 0.5, 0, 1, 1);
  z.min_duration_s = 3;
  Feeder run(camera({z}));
  const auto bg = scene();
  run.feed(bg, 3);
  run.feed(withObject(bg, 90, 30));
  run.feed(withObject(bg, 100, 30));
  run.feed(bg);  // interrupted: the next run of motion starts counting again
  run.feed(withObject(bg, 110, 30));
  run.feed(withObject(bg, 120, 30));
  run.feed(withObject(bg, 130, 30));
  run.feed(bg, 12);
  EXPECT_TRUE(run.events.empty());
}

TEST(MotionTest, SensitivityDecidesWhatMoves) {
  auto faint = [](const GreyFrame& bg, int delta) {
    GreyFrame f = bg;
    for (int y = 30; y < 60; ++y)
      for (int x = 100; x < 140; ++x) f.pixels[y * kW + x] = static_cast<uint8_t>(f.pixels[y * kW + x] - delta);
    return f;
  };
  for (auto [sensitivity, expect] : {std::pair{0.5, false}, std::pair{0.9, true}}) {
    auto z = zone("door", 0.5, 0, 1, 1);
    z.sensitivity = sensitivity;  // thresholds 54 and 17 grey levels
    Feeder run(camera({z}));
    run.feed(scene(), 3);
    run.feed(faint(scene(), 30));
    EXPECT_EQ(run.of(EventKind::kMotion).size(), expect ? 1u : 0u) << "sensitivity " << sensitivity;
  }
}

TEST(MotionTest, OverallBrightnessChangeIsNotMotion) {
  Feeder run(camera({zone("all", 0, 0, 1, 1)}));
  const auto bg = scene();
  run.feed(bg, 3);
  GreyFrame brighter = bg;
  for (auto& p : brighter.pixels) p = static_cast<uint8_t>(p + 40);  // auto exposure, lights on
  run.feed(brighter, 5);
  EXPECT_TRUE(run.events.empty());
}

TEST(MotionTest, ObjectStandingStillIsLearnedIntoTheBackground) {
  auto z = zone("door", 0.5, 0, 1, 1);
  z.hold_s = 2;
  auto c = camera({z});
  c.background_s = 5;
  Feeder run(c);
  const auto bg = scene();
  run.feed(bg, 3);
  run.feed(withObject(bg, 100, 30), 40);  // a parked object
  auto motion = run.of(EventKind::kMotion);
  ASSERT_EQ(motion.size(), 2u);
  EXPECT_TRUE(motion[0].active);
  EXPECT_FALSE(motion[1].active);
  EXPECT_LT(motion[1].capture_us, kBase + 30 * kSecond);
}

TEST(MotionTest, WallClockSteppingBackDoesNotFreezeAnEvent) {
  auto z = zone("door", 0.5, 0, 1, 1);
  z.hold_s = 3;
  FrameAnalyzer analyzer(camera({z}));
  const auto bg = scene();
  std::vector<AnalyticsEvent> events;
  auto feed = [&](const GreyFrame& f, int64_t t) {
    auto e = analyzer.process(at(f, t));
    events.insert(events.end(), e.begin(), e.end());
  };
  feed(bg, kBase);
  feed(bg, kBase + kSecond);
  feed(withObject(bg, 100, 30), kBase + 2 * kSecond);
  ASSERT_EQ(events.size(), 1u);
  // NTP corrects the clock by an hour backwards; frames keep coming every second.
  const int64_t back = kBase - 3600 * kSecond;
  for (int i = 0; i < 4; ++i) feed(bg, back + i * kSecond);
  ASSERT_EQ(events.size(), 2u) << "ended after 3 s of frames, not after the clock caught up";
  EXPECT_FALSE(events[1].active);
  EXPECT_EQ(events[1].capture_us, back + 3 * kSecond) << "events carry the frame's own capture time";
}

TEST(TamperTest, FrameTurningBlackRaisesBlackoutAndNoMotion) {
  auto c = camera({zone("all", 0, 0, 1, 1)});
  c.tamper.blackout_min_duration_s = 2;
  c.tamper.hold_s = 3;
  Feeder run(c);
  run.feed(scene(), 5);
  run.feed(filled(16), 5);  // frames 5..9: black (video range black is 16)
  run.feed(scene(), 6);     // frames 10..15: uncovered
  auto blackout = run.of(EventKind::kBlackout);
  ASSERT_EQ(blackout.size(), 2u);
  EXPECT_TRUE(blackout[0].active);
  EXPECT_EQ(blackout[0].capture_us, kBase + 7 * kSecond);
  EXPECT_NEAR(blackout[0].score, 1 - 16 / 255.0, 1e-9);
  EXPECT_FALSE(blackout[1].active);
  EXPECT_EQ(blackout[1].capture_us, kBase + 12 * kSecond) << "last black frame 9 + hold 3 s";
  EXPECT_TRUE(run.of(EventKind::kMotion).empty()) << "a covered lens is tamper, not motion";
  EXPECT_TRUE(run.of(EventKind::kSceneChange).empty()) << "the background was not taught black";
  EXPECT_TRUE(run.of(EventKind::kDefocus).empty());
}

TEST(TamperTest, UniformBrightFrameIsACoveredLens) {
  auto c = camera();
  c.tamper.blackout_min_duration_s = 0;
  Feeder run(c);
  run.feed(scene(), 3);
  run.feed(filled(180), 1);  // a sheet of paper in front of the lens
  ASSERT_EQ(run.of(EventKind::kBlackout).size(), 1u);
}

TEST(TamperTest, ShortBlackoutBelowMinDurationRaisesNothing) {
  auto c = camera();
  c.tamper.blackout_min_duration_s = 3;
  Feeder run(c);
  run.feed(scene(), 3);
  run.feed(filled(0), 2);
  run.feed(scene(), 5);
  EXPECT_TRUE(run.of(EventKind::kBlackout).empty());
}

TEST(TamperTest, SuddenSceneChangeFiresOnceAndRelearns) {
  auto c = camera({zone("all", 0, 0, 1, 1)});
  c.tamper.hold_s = 4;
  Feeder run(c);
  run.feed(scene(1), 5);
  run.feed(scene(2), 10);  // frames 5..14: the camera was turned
  auto change = run.of(EventKind::kSceneChange);
  ASSERT_EQ(change.size(), 2u);
  EXPECT_TRUE(change[0].active);
  EXPECT_EQ(change[0].capture_us, kBase + 5 * kSecond);
  EXPECT_GT(change[0].score, 0.5);
  EXPECT_FALSE(change[1].active);
  EXPECT_EQ(change[1].capture_us, kBase + 9 * kSecond) << "the new view is the background now; hold 4 s";
  EXPECT_TRUE(run.of(EventKind::kMotion).empty()) << "a whole-scene change is not motion in a zone";
  EXPECT_TRUE(run.of(EventKind::kBlackout).empty());
}

TEST(TamperTest, BlurredFramesRaiseDefocus) {
  auto c = camera();
  c.tamper.defocus_min_duration_s = 4;
  c.tamper.hold_s = 2;
  Feeder run(c);
  const auto sharp = scene();
  run.feed(sharp, 6);  // frame 0 seeds, 1..3 learn the sharpness baseline
  run.feed(blurred(sharp), 8);  // frames 6..13
  run.feed(sharp, 4);  // frames 14..17: focus back
  auto defocus = run.of(EventKind::kDefocus);
  ASSERT_EQ(defocus.size(), 2u);
  EXPECT_TRUE(defocus[0].active);
  EXPECT_EQ(defocus[0].capture_us, kBase + 10 * kSecond);
  EXPECT_GT(defocus[0].score, 0.8);
  EXPECT_FALSE(defocus[1].active);
  EXPECT_EQ(defocus[1].capture_us, kBase + 15 * kSecond);
  EXPECT_TRUE(run.of(EventKind::kSceneChange).empty());
  EXPECT_TRUE(run.of(EventKind::kBlackout).empty());
}

TEST(TamperTest, MildBlurAndFlatScenesAreNotDefocus) {
  auto c = camera();
  c.tamper.defocus_min_duration_s = 0;
  Feeder run(c);
  const auto sharp = scene();
  run.feed(sharp, 5);
  run.feed(blurred(sharp, 0), 5);  // radius 0: unchanged
  EXPECT_TRUE(run.of(EventKind::kDefocus).empty());

  // Almost no texture: the baseline is too low to judge.
  GreyFrame flat = filled(120);
  for (int x = 0; x < kW; ++x) flat.pixels[45 * kW + x] = 140;
  Feeder flat_run(c);
  flat_run.feed(flat, 5);
  flat_run.feed(blurred(flat), 5);
  EXPECT_TRUE(flat_run.of(EventKind::kDefocus).empty());
  EXPECT_LT(flat_run.analyzer.measurements().sharpness_baseline, c.tamper.defocus_min_baseline);
}

TEST(TamperTest, DisabledDetectorsStaySilent) {
  auto c = camera();
  c.tamper.blackout = false;
  c.tamper.scene_change = false;
  c.tamper.defocus = false;
  c.tamper.blackout_min_duration_s = 0;
  Feeder run(c);
  run.feed(scene(1), 3);
  run.feed(filled(0), 3);
  run.feed(scene(2), 3);
  run.feed(blurred(scene(2)), 6);
  EXPECT_TRUE(run.events.empty());
}

TEST(FrameAnalyzerTest, EndAllEndsActiveEventsAndResetRelearns) {
  auto c = camera({zone("all", 0, 0, 1, 1)});
  c.tamper.blackout_min_duration_s = 0;
  Feeder run(c);
  run.feed(scene(), 3);
  run.feed(withObject(filled(16), 10, 10, 8), 1);  // dark with a small bright spot: blackout
  ASSERT_EQ(run.of(EventKind::kBlackout).size(), 1u);
  EXPECT_EQ(run.analyzer.activeConditions(), std::vector<std::string>{"blackout"});
  auto ended = run.analyzer.endAll(kBase + 100 * kSecond);
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_FALSE(ended[0].active);
  EXPECT_EQ(ended[0].capture_us, kBase + 100 * kSecond);
  EXPECT_TRUE(run.analyzer.endAll(kBase + 101 * kSecond).empty());
  EXPECT_TRUE(run.analyzer.reset(kBase + 102 * kSecond).empty());
  // After a reset the next frame is a new background: nothing fires on it.
  EXPECT_TRUE(run.analyzer.process(at(scene(5), kBase + 103 * kSecond)).empty());
}

TEST(FrameAnalyzerTest, MalformedFramesAreIgnored) {
  FrameAnalyzer analyzer(camera({zone("all", 0, 0, 1, 1)}));
  GreyFrame bad;
  bad.width = kW;
  bad.height = kH;
  bad.pixels.resize(10);
  EXPECT_TRUE(analyzer.process(bad).empty());
  GreyFrame empty;
  EXPECT_TRUE(analyzer.process(empty).empty());
}

// --- AnalyticsSink's rate gate (the worker is not started: nothing is decoded) ---

media::AccessUnitPtr unitAt(int64_t capture_us, bool keyframe = true) {
  auto unit = std::make_shared<media::AccessUnit>();
  unit->keyframe = keyframe;
  unit->capture_us = capture_us;
  unit->data = {0, 0, 0, 1, 0x65};
  return unit;
}

TEST(AnalyticsSinkTest, RateGateTakesAtMostOneKeyframePerIntervalLatestWins) {
  AnalyticsConfig config;
  auto c = camera();
  c.interval_s = 2;
  auto off = camera();
  off.camera = "off";
  off.enabled = false;
  config.cameras = {c, off};
  AnalyticsSink sink(config, nullptr);
  auto cam1 = std::make_shared<const std::string>("cam1");
  sink.onAccessUnit(cam1, unitAt(kBase, false));
  sink.onAccessUnit(cam1, unitAt(kBase));
  sink.onAccessUnit(cam1, unitAt(kBase + kSecond));                 // not due
  sink.onAccessUnit(cam1, unitAt(kBase + 1'800'000));               // due: 0.9 x interval
  sink.onAccessUnit(cam1, unitAt(kBase + 2'000'000, false));
  sink.onAccessUnit(std::make_shared<const std::string>("nobody"), unitAt(kBase));
  sink.onAccessUnit(std::make_shared<const std::string>("off"), unitAt(kBase));
  auto stats = sink.stats();
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats[0].camera, "cam1");
  EXPECT_EQ(stats[0].keyframes_seen, 3u);
  EXPECT_EQ(stats[0].keyframes_taken, 2u);
  EXPECT_EQ(stats[0].keyframes_replaced, 1u) << "the worker never took the first: the newer one replaced it";
  EXPECT_EQ(stats[1].camera, "off");
  EXPECT_FALSE(stats[1].enabled);
  EXPECT_EQ(stats[1].keyframes_seen, 1u);
  EXPECT_EQ(stats[1].keyframes_taken, 0u);

  // A reconfigure keeps the counters of cameras that stay and drops the others.
  config.cameras = {c};
  sink.reconfigure(config);
  stats = sink.stats();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].keyframes_taken, 2u);
}

TEST(AnalyticsSinkTest, StartStopWithoutFramesDeliversNothing) {
  std::atomic<int> events{0};
  AnalyticsConfig config;
  config.cameras = {camera()};
  AnalyticsSink sink(config, [&](const AnalyticsEvent&) { ++events; });
  sink.start();
  sink.stop();
  sink.stop();
  EXPECT_EQ(events.load(), 0);
}

// --- MainContextForwarder ---

TEST(MainContextForwarderTest, DeliversOnTheContextThreadInOrder) {
  GMainContext* context = g_main_context_new();
  std::vector<int> seen;
  std::thread::id handler_thread;
  {
    MainContextForwarder<int> forwarder(
        [&](const int& v) {
          seen.push_back(v);
          handler_thread = std::this_thread::get_id();
        },
        context);
    auto callback = forwarder.callback();
    std::thread producer([&] {
      for (int i = 0; i < 100; ++i) callback(i);
    });
    producer.join();
    EXPECT_TRUE(seen.empty()) << "nothing runs on the producer thread";
    while (seen.size() < 100 && g_main_context_iteration(context, FALSE)) {
    }
    ASSERT_EQ(seen.size(), 100u);
    for (int i = 0; i < 100; ++i) EXPECT_EQ(seen[i], i);
    EXPECT_EQ(handler_thread, std::this_thread::get_id());

    callback(500);  // queued, then the forwarder goes away
  }
  while (g_main_context_iteration(context, FALSE)) {
  }
  EXPECT_EQ(seen.size(), 100u) << "events queued after the forwarder died are dropped";
  g_main_context_unref(context);
}

}  // namespace
}  // namespace vcgate::analytics
