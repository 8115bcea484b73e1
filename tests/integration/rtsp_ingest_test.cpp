// Ingest from real RTSP cameras: vcgate-camsim (gst-rtsp-server) as a child
// process on loopback, ports picked at run time. Faults are real: the camera
// server is killed and restarted, streams are stopped, stalled and corrupted.
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <fmt/format.h>

#include "gateway/alarm/alarm_engine.h"
#include "gateway/alarm/video_loss_monitor.h"
#include "gateway/media/camera_manager.h"
#include "tests/integration/frame_collector.h"
#include "tests/support/child_process.h"
#include "tests/support/gst_loop.h"
#include "tests/support/temp_dir.h"
#include "tests/support/video_check.h"

namespace vcgate::media {
namespace {

using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::FrameCollector;
using testing::runMainLoopUntil;

// One vcgate-camsim process serving the given streams.
class Camsim {
 public:
  explicit Camsim(const std::vector<std::string>& streams, int port = 0, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv{VCGATE_CAMSIM_BIN, "--port", std::to_string(port), "--clip-seconds", "2"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.insert(argv.end(), streams.begin(), streams.end());
    EXPECT_TRUE(process_.start(argv));
    auto ready = process_.waitForLine("READY all", 60s);
    EXPECT_TRUE(ready) << "camsim did not start";
    if (ready) port_ = std::stoi(ready->substr(ready->rfind(' ') + 1));
  }
  std::string url(const std::string& name) const { return fmt::format("rtsp://127.0.0.1:{}/{}", port_, name); }
  int port() const { return port_; }
  bool command(const std::string& line) {
    process_.writeLine(line);
    return process_.waitForLine("OK " + line, 10s).has_value();
  }
  void kill() { process_.kill(); }

 private:
  ChildProcess process_;
  int port_ = 0;
};

config::CameraConfig rtspCamera(const std::string& id, const std::string& url, config::Transport transport) {
  config::CameraConfig camera;
  camera.id = id;
  camera.uri = url;
  camera.transport = transport;
  camera.latency = 100ms;
  camera.connect_timeout = 5s;
  camera.stall_timeout = 2s;
  camera.reconnect.initial = 200ms;
  camera.reconnect.max = 1s;
  return camera;
}

void expectDecodable(const std::vector<AccessUnitPtr>& units, core::VideoCodec codec) {
  ASSERT_FALSE(units.empty());
  EXPECT_TRUE(units.front()->keyframe);
  EXPECT_TRUE(testing::hasParameterSetsAndKeyframe(units.front()->data, codec));
  testing::Decoder decoder(codec);
  int64_t last = -1;
  for (const auto& unit : units) {
    EXPECT_GT(unit->dts_ns, last);
    last = unit->dts_ns;
    EXPECT_TRUE(decoder.decode(unit->data)) << "unit " << (&unit - units.data()) << " of " << units.size()
                                            << " keyframe " << unit->keyframe << " session " << unit->session;
  }
  EXPECT_EQ(decoder.errors(), 0);
  EXPECT_EQ(decoder.width(), 320);
  EXPECT_EQ(decoder.height(), 240);
}

class RtspIngestTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { testing::initGstreamer(); }
  void SetUp() override {
    manager_ = std::make_unique<CameraManager>();
    manager_->dispatcher().addSink(&collector_);
  }
  void TearDown() override { ASSERT_TRUE(manager_->stop(5s)); }
  CameraStatsSnapshot stats(const std::string& id) const {
    for (const auto& s : manager_->stats())
      if (s.id == id) return s;
    return {};
  }

  std::unique_ptr<CameraManager> manager_;
  FrameCollector collector_;
};

struct TransportCase {
  std::string name;
  core::VideoCodec codec;
  config::Transport transport;
};

class RtspCodecTransportTest : public RtspIngestTest, public ::testing::WithParamInterface<TransportCase> {};

TEST_P(RtspCodecTransportTest, AccessUnitsArriveDecodableFromTheFirst) {
  const auto& c = GetParam();
  Camsim camsim({fmt::format("test://cam?codec={}&width=320&height=240&fps=25&gop=10", core::codecName(c.codec))});
  manager_->apply({rtspCamera("cam", camsim.url("cam"), c.transport)});
  ASSERT_TRUE(runMainLoopUntil([&] { return collector_.count("cam") >= 40; }, 30s))
      << formatStatsTable(manager_->stats());
  expectDecodable(collector_.units("cam"), c.codec);
  ASSERT_TRUE(runMainLoopUntil([&] { return stats("cam").state == CameraState::kStreaming; }, 5s));
  EXPECT_EQ(stats("cam").codec, std::string(core::codecName(c.codec)));
}

INSTANTIATE_TEST_SUITE_P(
    CodecsAndTransports, RtspCodecTransportTest,
    ::testing::Values(TransportCase{"h264_tcp", core::VideoCodec::kH264, config::Transport::kTcp},
                      TransportCase{"h264_udp", core::VideoCodec::kH264, config::Transport::kUdp},
                      TransportCase{"h265_tcp", core::VideoCodec::kH265, config::Transport::kTcp},
                      TransportCase{"h265_udp", core::VideoCodec::kH265, config::Transport::kUdp}),
    [](const auto& param_info) { return param_info.param.name; });

TEST_F(RtspIngestTest, AKilledCameraServerBacksOffAndResumesWhileAnotherNeverStops) {
  auto flaky = std::make_unique<Camsim>(std::vector<std::string>{"test://a?width=320&height=240&gop=10"});
  Camsim steady({"test://b?width=320&height=240&gop=10"});
  const int port = flaky->port();
  manager_->apply({rtspCamera("a", flaky->url("a"), config::Transport::kTcp),
                   rtspCamera("b", steady.url("b"), config::Transport::kTcp)});
  ASSERT_TRUE(runMainLoopUntil([&] { return collector_.count("a") >= 20 && collector_.count("b") >= 20; }, 30s));

  flaky->kill();
  ASSERT_TRUE(runMainLoopUntil(
      [&] {
        const auto s = stats("a").state;
        return s == CameraState::kBackoff || s == CameraState::kStalled;
      },
      15s));
  // Stay down through at least two failed attempts.
  ASSERT_TRUE(runMainLoopUntil([&] { return stats("a").reconnects >= 2; }, 15s));
  EXPECT_FALSE(stats("a").last_error.empty());

  flaky = std::make_unique<Camsim>(std::vector<std::string>{"test://a?width=320&height=240&gop=10"}, port);
  const size_t before = collector_.count("a");
  ASSERT_TRUE(runMainLoopUntil([&] { return collector_.count("a") >= before + 20; }, 30s))
      << formatStatsTable(manager_->stats());
  ASSERT_TRUE(runMainLoopUntil([&] { return stats("a").state == CameraState::kStreaming; }, 5s));

  // Camera b never noticed: one session, no reconnect, frames throughout.
  const auto b = collector_.units("b");
  for (const auto& unit : b) EXPECT_EQ(unit->session, 1u);
  EXPECT_EQ(stats("b").reconnects, 0u);
  EXPECT_EQ(stats("b").state, CameraState::kStreaming);
  for (size_t i = 1; i < b.size(); ++i)
    EXPECT_LT(b[i]->capture_us - b[i - 1]->capture_us, 1'000'000) << "b paused at unit " << i;
  // a's timeline continued across the outage.
  const auto a = collector_.units("a");
  for (size_t i = 1; i < a.size(); ++i) EXPECT_GT(a[i]->dts_ns, a[i - 1]->dts_ns);
  EXPECT_TRUE(a[before]->keyframe) << "after a reconnect the stream starts again at a keyframe";
}

TEST_F(RtspIngestTest, ACameraThatRefusesGetsAClearErrorAndDoesNotDisturbAnother) {
  Camsim steady({"test://b?width=320&height=240&gop=10"});
  // Port 1 on loopback: connection refused at once.
  manager_->apply({rtspCamera("dead", "rtsp://127.0.0.1:1/stream", config::Transport::kTcp),
                   rtspCamera("b", steady.url("b"), config::Transport::kTcp),
                   rtspCamera("missing", steady.url("no-such-mount"), config::Transport::kTcp)});
  ASSERT_TRUE(runMainLoopUntil([&] { return stats("dead").reconnects >= 2 && stats("missing").reconnects >= 2; }, 30s));
  EXPECT_NE(stats("dead").last_error.find("connect"), std::string::npos) << stats("dead").last_error;
  EXPECT_NE(stats("missing").last_error.find("ot found"), std::string::npos) << stats("missing").last_error;
  EXPECT_EQ(stats("b").state, CameraState::kStreaming);
  EXPECT_EQ(stats("b").reconnects, 0u);
  expectDecodable(collector_.units("b"), core::VideoCodec::kH264);
}

// cameras[].password_file: the password comes from a 0600 file, read at each
// connect; the URI carries only the user. A wrong password is a clear 401,
// and a file that others may read is refused before anything is sent.
TEST_F(RtspIngestTest, APasswordFileOpensACameraThatAsksForOne) {
  Camsim camera({"test://locked?width=320&height=240&gop=10"}, 0, {"--user", "viewer", "--password", "s3cret"});
  testing::TempDir dir;
  const auto right = dir.write("right.pass", "s3cret\n");
  const auto wrong = dir.write("wrong.pass", "guess\n");
  const auto loose = dir.write("loose.pass", "s3cret\n");
  ASSERT_EQ(::chmod(right.c_str(), 0600), 0);
  ASSERT_EQ(::chmod(wrong.c_str(), 0600), 0);
  ASSERT_EQ(::chmod(loose.c_str(), 0644), 0);
  const std::string url = fmt::format("rtsp://viewer@127.0.0.1:{}/locked", camera.port());
  auto with = [&](const std::string& id, const std::string& file) {
    auto c = rtspCamera(id, url, config::Transport::kTcp);
    c.password_file = file;
    return c;
  };
  manager_->apply({with("right", right), with("wrong", wrong), with("loose", loose),
                   rtspCamera("none", fmt::format("rtsp://127.0.0.1:{}/locked", camera.port()), config::Transport::kTcp)});
  ASSERT_TRUE(runMainLoopUntil([&] { return collector_.count("right") >= 20; }, 30s))
      << formatStatsTable(manager_->stats());
  expectDecodable(collector_.units("right"), core::VideoCodec::kH264);
  ASSERT_TRUE(runMainLoopUntil([&] { return stats("wrong").reconnects >= 1 && stats("loose").reconnects >= 1 &&
                                            stats("none").reconnects >= 1; },
                               30s));
  EXPECT_NE(stats("wrong").last_error.find("nauthorized"), std::string::npos) << stats("wrong").last_error;
  EXPECT_NE(stats("none").last_error.find("nauthorized"), std::string::npos) << stats("none").last_error;
  EXPECT_NE(stats("loose").last_error.find("chmod 600 " + loose), std::string::npos) << stats("loose").last_error;
  for (const auto& s : manager_->stats()) EXPECT_EQ(s.last_error.find("s3cret"), std::string::npos) << s.id;
  EXPECT_EQ(collector_.count("wrong") + collector_.count("loose") + collector_.count("none"), 0u);
}

TEST_F(RtspIngestTest, AStalledCameraIsRestartedByTheWatchdog) {
  Camsim camsim({"test://a?width=320&height=240&gop=10"});
  manager_->apply({rtspCamera("a", camsim.url("a"), config::Transport::kTcp)});
  ASSERT_TRUE(runMainLoopUntil([&] { return collector_.count("a") >= 10; }, 30s));
  ASSERT_TRUE(camsim.command("stall a"));
  ASSERT_TRUE(runMainLoopUntil([&] { return stats("a").state == CameraState::kStalled; }, 10s));
  EXPECT_NE(stats("a").last_error.find("stalled"), std::string::npos);
  ASSERT_TRUE(camsim.command("resume a"));
  const size_t before = collector_.count("a");
  ASSERT_TRUE(runMainLoopUntil([&] { return collector_.count("a") >= before + 20; }, 30s));
  EXPECT_GE(stats("a").reconnects, 1u);
}

TEST_F(RtspIngestTest, ACorruptStreamIsContainedAndRecovers) {
  Camsim camsim({"test://a?width=320&height=240&gop=10", "test://b?width=320&height=240&gop=10"});
  manager_->apply({rtspCamera("a", camsim.url("a"), config::Transport::kTcp),
                   rtspCamera("b", camsim.url("b"), config::Transport::kTcp)});
  ASSERT_TRUE(runMainLoopUntil([&] { return collector_.count("a") >= 10 && collector_.count("b") >= 10; }, 30s));
  ASSERT_TRUE(camsim.command("corrupt a"));
  testing::runMainLoopFor(3s);
  ASSERT_TRUE(camsim.command("resume a"));
  const size_t before = collector_.count("a");
  ASSERT_TRUE(runMainLoopUntil([&] { return collector_.count("a") >= before + 20; }, 30s));
  // b streamed on untouched, and its video still decodes.
  EXPECT_EQ(stats("b").reconnects, 0u);
  expectDecodable(collector_.units("b"), core::VideoCodec::kH264);
  // After the garbage, a's stream decodes again from its next keyframe.
  const auto a = collector_.units("a");
  size_t key = before;
  while (key < a.size() && !a[key]->keyframe) ++key;
  ASSERT_LT(key, a.size());
  testing::Decoder decoder(core::VideoCodec::kH264);
  for (size_t i = key; i < a.size(); ++i) EXPECT_TRUE(decoder.decode(a[i]->data)) << i;
}

TEST_F(RtspIngestTest, VideoLossRaisesAnAlarmAndRecoveryClearsIt) {
  auto camsim = std::make_unique<Camsim>(std::vector<std::string>{"test://a?width=320&height=240&gop=10"});
  const int port = camsim->port();
  config::Config config;
  config.cameras = {rtspCamera("a", camsim->url("a"), config::Transport::kTcp)};
  alarm::AlarmEngine engine(config, core::SystemClock::instance());
  std::vector<alarm::AlarmEvent> events;
  engine.addListener([&](const alarm::AlarmEvent& e) { events.push_back(e); });
  config::VideoLossConfig loss;
  loss.after = 2s;
  alarm::VideoLossMonitor monitor(engine, core::SystemClock::instance(), loss);
  const auto observe = [&] {
    for (const auto& s : manager_->stats()) monitor.observe(s.id, s.state == CameraState::kStreaming, s.last_error);
  };
  manager_->apply(config.cameras);
  ASSERT_TRUE(runMainLoopUntil([&] { observe(); return stats("a").state == CameraState::kStreaming; }, 30s));

  camsim->kill();
  const auto killed = std::chrono::steady_clock::now();
  ASSERT_TRUE(runMainLoopUntil([&] { observe(); return !events.empty(); }, 20s));
  const auto took = std::chrono::steady_clock::now() - killed;
  EXPECT_GE(took, 2s);
  EXPECT_LT(took, 2s + 2s + 1s) << "detection (stall timeout 2 s) plus the configured 2 s, plus ticks";
  EXPECT_EQ(events[0].kind, alarm::AlarmEventKind::kRaised);
  EXPECT_EQ(events[0].alarm.type, "video_loss");

  camsim = std::make_unique<Camsim>(std::vector<std::string>{"test://a?width=320&height=240&gop=10"}, port);
  ASSERT_TRUE(runMainLoopUntil([&] { observe(); return events.size() >= 2; }, 30s));
  EXPECT_EQ(events[1].kind, alarm::AlarmEventKind::kCleared);
  EXPECT_EQ(events[1].alarm.id, events[0].alarm.id);
}

}  // namespace
}  // namespace vcgate::media
