// The uplink budget on the real bus: real synthetic cameras (GStreamer), the
// real publisher on a real ZeroMQ PUB socket over TCP loopback, a real SUB
// socket receiving, and libavcodec decoding what arrived. With a budget that
// holds one camera in full and another's keyframes, a level-1 alarm's camera
// arrives complete and a level-3 alarm's camera as keyframes only — both
// decodable, without sequence gaps — while the evidence recorder still gets
// every unit of both, and the level-3 camera goes back to full video when the
// level-1 alarm is over. The policy itself, with an injected
// clock: tests/unit/uplink_budget_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
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

using testing::BusReceiver;

// What each camera sends, measured on the dispatcher's thread before any alarm:
// the budget is set from the real rates of this machine's encoder.
class RateProbe final : public media::FrameSink {
 public:
  struct Rates {
    double full_bps = 0;
    double keyframe_bps = 0;
  };
  void onAccessUnit(const media::CameraId& camera, const media::AccessUnitPtr& unit) override {
    std::lock_guard lock(mutex_);
    units_[*camera].push_back({unit->capture_us, unit->data.size(), unit->keyframe});
  }
  // Over the last `seconds` of capture time.
  Rates rates(const std::string& camera, double seconds) const {
    std::lock_guard lock(mutex_);
    Rates r;
    auto it = units_.find(camera);
    if (it == units_.end() || it->second.empty()) return r;
    const int64_t from = it->second.back().capture_us - static_cast<int64_t>(seconds * 1e6);
    for (const auto& u : it->second) {
      if (u.capture_us <= from) continue;
      r.full_bps += static_cast<double>(u.bytes) * 8 / seconds;
      if (u.keyframe) r.keyframe_bps += static_cast<double>(u.bytes) * 8 / seconds;
    }
    return r;
  }

 private:
  struct Unit {
    int64_t capture_us;
    size_t bytes;
    bool keyframe;
  };
  mutable std::mutex mutex_;
  std::map<std::string, std::vector<Unit>> units_;
};

bool decodesAlone(const bus::VideoMessage& v) {
  testing::Decoder decoder(v.header.codec);
  const bool ok = decoder.decode(v.payload);
  decoder.flush();
  return ok && decoder.errors() == 0 && decoder.framesDecoded() == 1;
}

TEST(UplinkBudget, LevelOneStaysCompleteWhileLevelThreeGetsKeyframesOnly) {
  testing::initGstreamer();
  config::Config config;
  config.site.id = "budget";
  config.alarms.post_roll_s = 1.0;
  for (const char* id : {"urgent", "minor"}) {
    config::CameraConfig camera;
    camera.id = id;
    camera.uri = std::string("test://") + id + "?width=320&height=240&fps=25&gop=25&bitrate_kbps=600";
    camera.buffering.pre_roll_s = 1.0;
    config.cameras.push_back(camera);
  }
  media::CameraManager cameras;
  RateProbe probe;
  cameras.dispatcher().addSink(&probe);
  bus::PublisherOptions options;
  options.site = config.site.id;
  options.endpoints = {"tcp://127.0.0.1:*"};
  auto created = bus::Publisher::create(options, cameras.dispatcher());
  ASSERT_TRUE(created.ok()) << created.error().message;
  auto publisher = std::move(*created);
  cameras.dispatcher().addSink(publisher.get());
  // The cameras stop before the publisher goes, also when an assertion returns early.
  struct StopCameras {
    media::CameraManager& cameras;
    ~StopCameras() { EXPECT_TRUE(cameras.stop(5s)); }
  } stop_cameras{cameras};
  publisher->configureCameras(config.cameras);
  // What the evidence recorder would get: every covered unit, also those the budget keeps off the bus.
  std::mutex observed_mutex;
  std::map<std::string, size_t> observed;
  publisher->setPublishedObserver(
      [&](const std::string& camera, const media::AccessUnitPtr&, const std::vector<bus::AlarmTag>&) {
        std::lock_guard lock(observed_mutex);
        ++observed[camera];
      });
  alarm::AlarmEngine alarms(config, core::SystemClock::instance());
  alarms.addListener([&](const alarm::AlarmEvent& e) { publisher->onAlarmEvent(e); });
  cameras.apply(config.cameras);
  BusReceiver sub(publisher->boundEndpoints().at(0));

  // 3 s of video, then the budget: the level-1 camera in full plus the level-3
  // camera's keyframes and half of the rest of it. Level 3 in full does not fit.
  testing::runMainLoopFor(3000ms);
  const auto urgent = probe.rates("urgent", 2.0);
  const auto minor = probe.rates("minor", 2.0);
  ASSERT_GT(urgent.full_bps, 0);
  ASSERT_GT(minor.keyframe_bps, 0);
  ASSERT_LT(minor.keyframe_bps, minor.full_bps * 0.6) << "the test needs frames between keyframes";
  const double budget = urgent.full_bps + minor.keyframe_bps + (minor.full_bps - minor.keyframe_bps) / 2;
  publisher->setUplinkBudget(static_cast<uint64_t>(budget));

  auto raise = [&](const char* camera, int level) {
    alarm::RaiseRequest request;
    request.type = "intrusion";
    request.level = level;
    request.cameras = {camera};
    auto raised = alarms.raise(request);
    EXPECT_TRUE(raised.ok()) << raised.error().message;
    return *raised;
  };
  const auto level1 = raise("urgent", 1);
  testing::runMainLoopFor(200ms);
  raise("minor", 3);
  testing::runMainLoopFor(4000ms);
  bus::StatusMessage status;
  status.cameras = {{.id = "urgent"}, {.id = "minor"}};
  publisher->publishStatus(status);
  ASSERT_TRUE(testing::runMainLoopUntil([&] { return !sub.statuses().empty(); }, 5s));

  // Level 1: every unit, in order, decodable, never flagged keyframes-only.
  const auto complete = sub.video("urgent");
  ASSERT_GT(complete.size(), 100u) << "1 s pre-roll + 4 s at 25 fps";
  EXPECT_TRUE(complete.front().header.keyframe());
  testing::Decoder decoder(complete.front().header.codec);
  for (size_t i = 0; i < complete.size(); ++i) {
    const auto& h = complete[i].header;
    if (i > 0) {
      EXPECT_EQ(h.seq, complete[i - 1].header.seq + 1) << i;
      // 25 fps: no unit of the camera is missing between two received ones.
      EXPECT_NEAR(h.dts_ns - complete[i - 1].header.dts_ns, 40'000'000, 2'000'000) << "a unit skipped before " << i;
      EXPECT_FALSE(h.flags & bus::kFlagDiscontinuity) << i;
    }
    EXPECT_FALSE(h.flags & bus::kFlagKeyframesOnly) << i;
    EXPECT_TRUE(decoder.decode(complete[i].payload)) << i;
  }
  EXPECT_EQ(decoder.errors(), 0);

  // Level 3: keyframes only, each with its parameter sets and decodable on its
  // own, flagged, and no sequence gap (the budget spends no seq).
  const auto keyframes = sub.video("minor");
  ASSERT_GE(keyframes.size(), 3u) << "1 s pre-roll + 4 s with a keyframe a second";
  EXPECT_LE(keyframes.size(), 7u);
  for (size_t i = 0; i < keyframes.size(); ++i) {
    const auto& v = keyframes[i];
    EXPECT_TRUE(v.header.keyframe()) << i;
    EXPECT_TRUE(v.header.flags & bus::kFlagKeyframesOnly) << i;
    EXPECT_TRUE(v.header.flags & bus::kFlagDiscontinuity) << i << ": frames were skipped before it";
    EXPECT_TRUE(testing::hasParameterSetsAndKeyframe(v.payload, v.header.codec)) << i;
    EXPECT_TRUE(decodesAlone(v)) << i;
    if (i > 0) {
      EXPECT_EQ(v.header.seq, keyframes[i - 1].header.seq + 1);
    }
  }

  // The evidence clip of the level-3 camera is complete: its recorder got
  // every unit, not only the keyframes the uplink carried.
  {
    std::lock_guard lock(observed_mutex);
    EXPECT_GE(observed["minor"], keyframes.size() + 90) << "1 s pre-roll + 4 s at 25 fps went to the recorder";
    EXPECT_GE(observed["urgent"], complete.size());
  }

  // The heartbeat says so.
  const auto heartbeat = sub.statuses().back();
  EXPECT_EQ(heartbeat.uplink_budget_kbps, static_cast<double>(static_cast<uint64_t>(budget)) / 1000);
  EXPECT_GT(heartbeat.uplink_demand_kbps, budget / 1000) << "both in full would not fit";
  ASSERT_EQ(heartbeat.cameras.size(), 2u);
  EXPECT_EQ(heartbeat.cameras[0].uplink, "full");
  EXPECT_EQ(heartbeat.cameras[0].budget_skipped, 0u);
  EXPECT_EQ(heartbeat.cameras[1].uplink, "keyframes");
  EXPECT_GT(heartbeat.cameras[1].budget_skipped, 50u);

  // The level-1 alarm ends: after its 1 s post-roll the level-3 camera gets the
  // whole budget and goes back to full video at its next keyframe.
  const size_t before = keyframes.size();
  ASSERT_TRUE(alarms.clear(level1.id.hex()).ok());
  ASSERT_TRUE(testing::runMainLoopUntil(
      [&] {
        const auto v = sub.video("minor");
        return v.size() > before + 30;
      },
      15s));
  const auto after = sub.video("minor");
  size_t first_full = after.size();
  for (size_t i = before; i < after.size(); ++i)
    if (!(after[i].header.flags & bus::kFlagKeyframesOnly)) {
      first_full = i;
      break;
    }
  ASSERT_LT(first_full, after.size());
  EXPECT_TRUE(after[first_full].header.keyframe()) << "full video resumes at a keyframe";
  testing::Decoder resumed(after[first_full].header.codec);
  for (size_t i = first_full; i < after.size(); ++i) {
    EXPECT_EQ(after[i].header.seq, after[i - 1].header.seq + 1);
    EXPECT_TRUE(resumed.decode(after[i].payload)) << i;
  }
  EXPECT_EQ(resumed.errors(), 0);
}

}  // namespace
}  // namespace vcgate
