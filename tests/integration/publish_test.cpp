// Alarm-tagged publishing end to end inside one process: real synthetic
// cameras (GStreamer), the real publisher on a real ZeroMQ PUB socket over
// TCP loopback, and real SUB sockets receiving, decoding and checking.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "gateway/alarm/alarm_engine.h"
#include "gateway/bus/publisher.h"
#include "gateway/bus/subscriber.h"
#include "gateway/media/camera_manager.h"
#include "tests/support/bus_receiver.h"
#include "tests/support/gst_loop.h"
#include "tests/support/video_check.h"

namespace vcgate {
namespace {

using namespace std::chrono_literals;
using testing::runMainLoopUntil;

using testing::BusReceiver;

// What these tests subscribe to, and how small the queues of a stalled one are.
BusReceiver::Options receiving(std::vector<std::string> prefixes, int hwm = 10000, int kernel_buffer = 0) {
  return {.prefixes = std::move(prefixes), .receive_hwm = hwm, .receive_buffer_bytes = kernel_buffer};
}

config::Config gatewayConfig(std::vector<std::string> uris) {
  config::Config config;
  config.site.id = "test-site";
  config.alarms.post_roll_s = 1.0;
  for (size_t i = 0; i < uris.size(); ++i) {
    config::CameraConfig camera;
    camera.id = "cam" + std::to_string(i + 1);
    camera.uri = uris[i];
    camera.buffering.pre_roll_s = 1.0;
    config.cameras.push_back(camera);
  }
  return config;
}

// The decodability and continuity promises for one camera's received stream.
void expectOneDecodableStream(const std::vector<bus::VideoMessage>& video) {
  ASSERT_FALSE(video.empty());
  EXPECT_TRUE(video.front().header.keyframe());
  EXPECT_TRUE(testing::hasParameterSetsAndKeyframe(video.front().payload, video.front().header.codec));
  testing::Decoder decoder(video.front().header.codec);
  for (size_t i = 0; i < video.size(); ++i) {
    if (i > 0) {
      EXPECT_EQ(video[i].header.seq, video[i - 1].header.seq + 1) << "sequence gap at " << i;
      EXPECT_GT(video[i].header.dts_ns, video[i - 1].header.dts_ns) << "a duplicate or reordered unit at " << i;
    }
    EXPECT_TRUE(decoder.decode(video[i].payload)) << "unit " << i;
  }
  EXPECT_EQ(decoder.errors(), 0);
}

bool hasTag(const bus::VideoMessage& v, const alarm::AlarmId& id, int level) {
  for (const auto& t : v.header.tags)
    if (t.id == id && t.level == level) return true;
  return false;
}

class PublishTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { testing::initGstreamer(); }

  void start(const config::Config& config, int send_hwm = 1000, int send_buffer = 0) {
    config_ = config;
    cameras_ = std::make_unique<media::CameraManager>();
    bus::PublisherOptions options;
    options.site = config.site.id;
    options.endpoints = {"tcp://127.0.0.1:*"};
    options.send_hwm = send_hwm;
    options.send_buffer_bytes = send_buffer;
    auto publisher = bus::Publisher::create(options, cameras_->dispatcher());
    ASSERT_TRUE(publisher.ok()) << publisher.error().message;
    publisher_ = std::move(*publisher);
    cameras_->dispatcher().addSink(publisher_.get());
    publisher_->configureCameras(config.cameras);
    alarms_ = std::make_unique<alarm::AlarmEngine>(config, core::SystemClock::instance());
    alarms_->addListener([this](const alarm::AlarmEvent& e) { publisher_->onAlarmEvent(e); });
    cameras_->apply(config.cameras);
  }
  void TearDown() override {
    if (cameras_) {
      ASSERT_TRUE(cameras_->stop(5s));
    }
    cameras_.reset();
    publisher_.reset();
  }
  std::string endpoint() const { return publisher_->boundEndpoints().at(0); }
  // Lets the pre-alarm buffers fill: frames flowing for at least `seconds`.
  void streamFor(std::chrono::milliseconds duration) { testing::runMainLoopFor(duration); }
  alarm::Alarm raise(std::vector<std::string> cameras, int level) {
    alarm::RaiseRequest request;
    request.type = "intrusion";
    request.level = level;
    request.cameras = std::move(cameras);
    auto raised = alarms_->raise(request);
    EXPECT_TRUE(raised.ok()) << raised.error().message;
    return *raised;
  }

  config::Config config_;
  std::unique_ptr<media::CameraManager> cameras_;
  std::unique_ptr<bus::Publisher> publisher_;
  std::unique_ptr<alarm::AlarmEngine> alarms_;
};

constexpr const char* kSmallCamera = "test://c?width=320&height=240&fps=25&gop=10";

TEST_F(PublishTest, AManualAlarmPublishesPreRollTaggedVideoUntilPostRoll) {
  start(gatewayConfig({kSmallCamera, kSmallCamera}));
  BusReceiver sub(endpoint(), receiving({""}));
  streamFor(2500ms);
  ASSERT_TRUE(sub.video().empty()) << "nothing is published while no alarm covers a camera";

  const auto alarm = raise({"cam1"}, 2);
  ASSERT_TRUE(runMainLoopUntil([&] { return sub.video("cam1").size() >= 50; }, 20s));
  const auto cleared = alarms_->clear(alarm.id.hex());
  ASSERT_TRUE(cleared.ok());
  // Post-roll is 1 s: wait until it must be over and a little more video would have come.
  testing::runMainLoopFor(2000ms);
  const auto video = sub.video("cam1");
  const auto events = sub.events();

  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events[0].event.kind, alarm::AlarmEventKind::kRaised);
  EXPECT_EQ(events[0].event.alarm.id, alarm.id);
  EXPECT_EQ(events[1].event.kind, alarm::AlarmEventKind::kCleared);
  EXPECT_EQ(events[1].seq, events[0].seq + 1);

  expectOneDecodableStream(video);
  // Pre-roll: the first unit was captured at least the pre-roll before the raise,
  // at a keyframe no more than one GOP (0.4 s) earlier than that.
  const int64_t lead_us = alarm.raised_us - video.front().header.capture_us;
  EXPECT_GE(lead_us, 1'000'000);
  EXPECT_LE(lead_us, 1'000'000 + 400'000 + 100'000);
  EXPECT_TRUE(video.front().header.flags & bus::kFlagPreRoll);
  EXPECT_TRUE(video.front().header.flags & bus::kFlagDiscontinuity);
  for (const auto& v : video) {
    ASSERT_EQ(v.header.tags.size(), 1u);
    EXPECT_TRUE(hasTag(v, alarm.id, 2));
    EXPECT_EQ(v.topic.site, "test-site");
  }
  // Post-roll: video went on for 1 s after the clear, and stopped then.
  const int64_t after_clear_us = video.back().header.capture_us - cleared->cleared_us;
  EXPECT_GE(after_clear_us, 1'000'000 - 80'000);
  EXPECT_LE(after_clear_us, 1'000'000);
  EXPECT_TRUE(sub.video("cam2").empty()) << "an alarm on cam1 publishes nothing of cam2";
}

TEST_F(PublishTest, OverlappingAlarmsMakeOneContinuousStreamWithChangingTags) {
  start(gatewayConfig({kSmallCamera}));
  BusReceiver sub(endpoint(), receiving({"video/test-site/cam1/", "alarm/"}));
  streamFor(1500ms);
  const auto a = raise({"cam1"}, 3);
  testing::runMainLoopFor(1000ms);
  const auto b = raise({"cam1"}, 1);
  testing::runMainLoopFor(1000ms);
  ASSERT_TRUE(alarms_->clear(a.id.hex()).ok());
  testing::runMainLoopFor(1500ms);  // past a's post-roll
  ASSERT_TRUE(alarms_->update(b.id.hex(), {.level = 2, .description = std::nullopt}).ok());
  testing::runMainLoopFor(500ms);
  const auto b_cleared = alarms_->clear(b.id.hex());
  testing::runMainLoopFor(1500ms);

  const auto video = sub.video("cam1");
  expectOneDecodableStream(video);
  bool saw_a_only = false, saw_both = false, saw_b_only = false, saw_b_escalated_down = false;
  for (const auto& v : video) {
    const bool has_a = hasTag(v, a.id, 3);
    const bool has_b = hasTag(v, b.id, 1) || hasTag(v, b.id, 2);
    EXPECT_TRUE(has_a || has_b) << "every published unit carries a covering alarm";
    const int64_t t = v.header.capture_us;
    if (t > b.raised_us + 50'000 && t < a.raised_us + 2'000'000) {
      EXPECT_TRUE(has_b);
    }
    saw_a_only |= has_a && !has_b;
    saw_both |= has_a && has_b;
    saw_b_only |= has_b && !has_a;
    saw_b_escalated_down |= hasTag(v, b.id, 2);
  }
  EXPECT_TRUE(saw_a_only);
  EXPECT_TRUE(saw_both);
  EXPECT_TRUE(saw_b_only);
  EXPECT_TRUE(saw_b_escalated_down) << "a level change is visible on the following units";
  // b's pre-roll overlapped a's segment: nothing was sent twice (checked by
  // strictly increasing DTS above) and the segment never restarted.
  int discontinuities = 0;
  for (const auto& v : video) discontinuities += (v.header.flags & bus::kFlagDiscontinuity) != 0;
  EXPECT_EQ(discontinuities, 1);
  EXPECT_LE(video.back().header.capture_us, b_cleared->cleared_us + 1'000'000);
}

TEST_F(PublishTest, ALateSubscriberGetsDecodableVideoWithinOneGop) {
  start(gatewayConfig({kSmallCamera}));
  streamFor(1500ms);
  raise({"cam1"}, 1);
  testing::runMainLoopFor(1500ms);
  BusReceiver late(endpoint(), receiving({"video/"}));
  ASSERT_TRUE(runMainLoopUntil([&] { return late.video().size() >= 30; }, 20s));
  const auto video = late.video();
  // Find the first keyframe: it must come within one GOP (10 frames) of joining.
  size_t first_key = 0;
  while (first_key < video.size() && !video[first_key].header.keyframe()) ++first_key;
  ASSERT_LT(first_key, 10u);
  std::vector<bus::VideoMessage> decodable(video.begin() + static_cast<std::ptrdiff_t>(first_key), video.end());
  expectOneDecodableStream(decodable);
}

TEST_F(PublishTest, AStalledSubscriberDoesNotDisturbAnotherAndRecoversAtAKeyframe) {
  // A bigger picture so that a paused subscriber's queues fill within seconds.
  // Small queues and kernel buffers on both sides so that 10 s of not reading
  // (about 10 MB at 8 Mbit/s) must overflow them (about 100 units + 20 units + 128 KiB).
  // (The send queue still holds the pre-roll burst of about 50 units.)
  start(gatewayConfig({"test://c?width=640&height=480&fps=25&gop=25&bitrate_kbps=8000&pattern=snow"}), /*send_hwm=*/100,
        /*send_buffer=*/64 * 1024);
  BusReceiver steady(endpoint(), receiving({"video/"}));
  BusReceiver stalled(endpoint(), receiving({"video/"}, /*hwm=*/20, /*kernel_buffer=*/64 * 1024));
  streamFor(1500ms);
  raise({"cam1"}, 1);
  ASSERT_TRUE(runMainLoopUntil([&] { return stalled.video().size() >= 10; }, 20s));
  stalled.pause(true);
  testing::runMainLoopFor(10s);
  stalled.pause(false);
  // It catches up through its backlog, with gaps where its queues overflowed;
  // wait until it has lost something and then received two GOPs without a gap.
  // (Before the pause it may already hold more than two GOPs: the gap is the
  // evidence that the pause cost it messages.)
  const auto lastGap = [](const std::vector<bus::VideoMessage>& video) {
    size_t gap = 0;
    for (size_t i = 1; i < video.size(); ++i)
      if (video[i].header.seq != video[i - 1].header.seq + 1) gap = i;
    return gap;
  };
  const auto recoveredAfterAGap = [&] {
    const auto video = stalled.video();
    const size_t gap = lastGap(video);
    return gap > 0 && video.size() - gap >= 50;
  };
  ASSERT_TRUE(runMainLoopUntil(recoveredAfterAGap, 60s)) << "the paused subscriber should lose messages, then recover";

  expectOneDecodableStream(steady.video());

  // The stalled one lost messages (a gap in seq), then decodes again from the next keyframe.
  const auto video = stalled.video();
  const size_t gap = lastGap(video);
  ASSERT_GT(gap, 0u);
  size_t key = gap;
  while (key < video.size() && !video[key].header.keyframe()) ++key;
  ASSERT_LT(key, video.size());
  std::vector<bus::VideoMessage> after(video.begin() + static_cast<std::ptrdiff_t>(key), video.end());
  expectOneDecodableStream(after);
}

TEST_F(PublishTest, LiveViewPublishesForTheLeaseOnly) {
  start(gatewayConfig({kSmallCamera}));
  BusReceiver sub(endpoint(), receiving({"video/"}));
  streamFor(1000ms);
  const int64_t until = core::SystemClock::instance().wallMicros() + 1'000'000;
  publisher_->startLiveView("cam1", until);
  testing::runMainLoopFor(2500ms);
  const auto video = sub.video("cam1");
  expectOneDecodableStream(video);
  EXPECT_LE(video.back().header.capture_us, until);
  for (const auto& v : video) {
    EXPECT_TRUE(v.header.flags & bus::kFlagLiveView);
    EXPECT_TRUE(v.header.tags.empty());
  }
}

TEST_F(PublishTest, HeartbeatsCarryPublisherFigures) {
  start(gatewayConfig({kSmallCamera}));
  BusReceiver sub(endpoint(), receiving({"status/"}));
  streamFor(1000ms);
  bus::StatusMessage status;
  status.cameras.push_back({.id = "cam1", .state = "streaming"});
  publisher_->publishStatus(status);
  ASSERT_TRUE(runMainLoopUntil([&] { return sub.statusCount() >= 1; }, 10s));
  const auto got = sub.lastStatus();
  EXPECT_EQ(got.site, "test-site");
  ASSERT_EQ(got.cameras.size(), 1u);
  EXPECT_GT(got.cameras[0].buffered_bytes, 0u);
  EXPECT_GT(got.cameras[0].buffered_s, 0.3);
  EXPECT_EQ(got.boot_id, publisher_->bootId());
}

}  // namespace
}  // namespace vcgate
