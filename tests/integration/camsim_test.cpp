// vcgate-camsim, black box: the real binary on a port it picks, pulled over
// RTSP by GStreamer pipelines in this process; plus the pure helpers it is
// built from (stream arguments, slice garbling).
#include <gst/gst.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/child_process.h"
#include "tests/support/temp_dir.h"
#include "tools/camsim/camsim.h"
#include "tools/camsim/clip.h"

namespace vcgate::camsim {
namespace {

using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::TempDir;
using Clock = std::chrono::steady_clock;

constexpr auto kStartTimeout = 30s;
constexpr auto kReplyTimeout = 5s;
constexpr auto kFramesTimeout = 10s;

const char* const kH264 = "test://cam264?codec=h264&width=320&height=240&fps=25&gop=10&bitrate_kbps=300";
const char* const kH265 = "test://cam265?codec=h265&width=320&height=240&fps=25&gop=10&bitrate_kbps=300";

void initGstreamer() {
  static std::once_flag once;
  std::call_once(once, [] { gst_init(nullptr, nullptr); });
}

// A running vcgate-camsim and the URLs it printed.
struct Camsim {
  ChildProcess process;
  int port = 0;
  std::map<std::string, std::string> urls;

  std::string url(const std::string& name) const { return urls.at(name); }

  // Sends a command and returns the reply line (OK ... / ERR ...).
  std::string command(const std::string& line) {
    if (!process.writeLine(line)) return "<write failed>";
    for (auto deadline = Clock::now() + kReplyTimeout; Clock::now() < deadline;) {
      auto reply = process.readLine(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
      if (!reply) break;
      if (reply->starts_with("OK ") || reply->starts_with("ERR ")) return *reply;
    }
    return "<no reply>";
  }
};

std::vector<std::string> camsimArgv(const std::vector<std::string>& args) {
  std::vector<std::string> argv{VCGATE_CAMSIM_BIN, "--port", "0", "--clip-seconds", "2"};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

// Starts camsim and waits for "READY all PORT"; fails the test if it does not come.
// With `stdin_from_null`, camsim runs as benchmarks run it: stdin at EOF from the start.
void startCamsim(Camsim& camsim, const std::vector<std::string>& args, bool stdin_from_null = false) {
  std::vector<std::string> argv = camsimArgv(args);
  if (stdin_from_null) {
    std::string line = "exec";
    for (const auto& arg : argv) line += " '" + arg + "'";
    argv = {"/bin/sh", "-c", line + " </dev/null"};
  }
  ASSERT_TRUE(camsim.process.start(argv));
  for (auto deadline = Clock::now() + kStartTimeout; Clock::now() < deadline;) {
    auto line =
        camsim.process.readLine(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
    ASSERT_TRUE(line) << "vcgate-camsim exited or timed out before READY all";
    char name[128] = {}, url[512] = {};
    if (std::sscanf(line->c_str(), "READY all %d", &camsim.port) == 1) return;
    ASSERT_EQ(std::sscanf(line->c_str(), "READY %127s %511s", name, url), 2) << "unexpected line: " << *line;
    camsim.urls[name] = url;
  }
  FAIL() << "no READY all within " << kStartTimeout.count() << " s";
}

// A GStreamer pipeline in this process that pulls a stream and counts the
// buffers reaching its sink named "out".
class Puller {
 public:
  explicit Puller(const std::string& launch) {
    initGstreamer();
    GError* error = nullptr;
    pipeline_ = gst_parse_launch(launch.c_str(), &error);
    if (error) {
      ADD_FAILURE() << "cannot build '" << launch << "': " << error->message;
      g_error_free(error);
    }
    if (!pipeline_) return;
    GstElement* out = gst_bin_get_by_name(GST_BIN(pipeline_), "out");
    GstPad* pad = gst_element_get_static_pad(out, "sink");
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, &Puller::onBuffer, this, nullptr);
    gst_object_unref(pad);
    gst_object_unref(out);
    bus_ = gst_element_get_bus(pipeline_);
    gst_element_set_state(pipeline_, GST_STATE_PLAYING);
  }
  ~Puller() {
    if (pipeline_) {
      gst_element_set_state(pipeline_, GST_STATE_NULL);
      gst_object_unref(bus_);
      gst_object_unref(pipeline_);
    }
  }
  Puller(const Puller&) = delete;
  Puller& operator=(const Puller&) = delete;

  static std::string decoding(const std::string& url, const char* protocols, const char* codec) {
    const std::string c = codec;  // "264" or "265"
    return "rtspsrc location=" + url + " protocols=" + protocols + " latency=100 ! rtph" + c + "depay ! h" + c +
           "parse ! avdec_h" + c + " ! fakesink name=out sync=false";
  }
  static std::string depayloading(const std::string& url, const char* codec) {
    const std::string c = codec;
    return "rtspsrc location=" + url + " protocols=tcp latency=100 ! rtph" + c + "depay ! fakesink name=out sync=false";
  }

  int buffers() const { return buffers_.load(); }
  std::int64_t bytes() const { return bytes_.load(); }
  // When each keyframe reached the sink (meaningful without a decoder).
  std::vector<Clock::time_point> keyframes() const {
    std::lock_guard lock(mutex_);
    return keyframes_;
  }
  const std::string& ended() const { return ended_; }

  // True once `count` buffers in total have arrived; false on timeout or if the pipeline ended.
  bool waitBuffers(int count, std::chrono::milliseconds timeout) {
    for (auto deadline = Clock::now() + timeout; Clock::now() < deadline;) {
      if (buffers_.load() >= count) return true;
      if (pollEnd(50ms)) return buffers_.load() >= count;
    }
    return buffers_.load() >= count;
  }

  // True once the pipeline posted an error, EOS or warning (how rtspsrc reports
  // that the server closed the connection); the text is in ended().
  bool waitEnd(std::chrono::milliseconds timeout) {
    for (auto deadline = Clock::now() + timeout; Clock::now() < deadline;)
      if (pollEnd(50ms)) return true;
    return false;
  }

  // True once no buffer has arrived for `gap`, checked until `timeout`.
  bool waitQuiet(std::chrono::milliseconds gap, std::chrono::milliseconds timeout) {
    int seen = buffers_.load();
    auto last_change = Clock::now();
    for (auto deadline = Clock::now() + timeout; Clock::now() < deadline;) {
      pollEnd(50ms);
      if (const int now = buffers_.load(); now != seen) {
        seen = now;
        last_change = Clock::now();
      } else if (Clock::now() - last_change >= gap) {
        return true;
      }
    }
    return false;
  }

 private:
  static GstPadProbeReturn onBuffer(GstPad*, GstPadProbeInfo* info, gpointer user_data) {
    auto* self = static_cast<Puller*>(user_data);
    if (!GST_BUFFER_FLAG_IS_SET(GST_PAD_PROBE_INFO_BUFFER(info), GST_BUFFER_FLAG_DELTA_UNIT)) {
      std::lock_guard lock(self->mutex_);
      self->keyframes_.push_back(Clock::now());
    }
    self->bytes_.fetch_add(static_cast<std::int64_t>(gst_buffer_get_size(GST_PAD_PROBE_INFO_BUFFER(info))));
    self->buffers_.fetch_add(1);
    return GST_PAD_PROBE_OK;
  }

  bool pollEnd(std::chrono::milliseconds wait) {
    if (!bus_) return true;
    if (!ended_.empty()) return true;
    GstMessage* message = gst_bus_timed_pop_filtered(
        bus_, static_cast<GstClockTime>(std::chrono::nanoseconds(wait).count()),
        static_cast<GstMessageType>(GST_MESSAGE_ERROR | GST_MESSAGE_EOS | GST_MESSAGE_WARNING));
    if (!message) return false;
    if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_EOS) {
      ended_ = "EOS";
    } else {
      GError* error = nullptr;
      gchar* debug = nullptr;
      if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR)
        gst_message_parse_error(message, &error, &debug);
      else
        gst_message_parse_warning(message, &error, &debug);
      ended_ = std::string(error ? error->message : "?") + " / " + (debug ? debug : "");
      if (error) g_error_free(error);
      g_free(debug);
    }
    gst_message_unref(message);
    return true;
  }

  GstElement* pipeline_ = nullptr;
  GstBus* bus_ = nullptr;
  std::atomic<int> buffers_{0};
  std::atomic<std::int64_t> bytes_{0};
  std::string ended_;
  mutable std::mutex mutex_;
  std::vector<Clock::time_point> keyframes_;  // guarded by mutex_, appended by a streaming thread
};

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

TEST(CamsimTest, ServesH264AndH265OverTcp) {
  Camsim camsim;
  ASSERT_NO_FATAL_FAILURE(startCamsim(camsim, {kH264, kH265}));
  ASSERT_EQ(camsim.urls.size(), 2u);
  EXPECT_EQ(camsim.url("cam264"), "rtsp://127.0.0.1:" + std::to_string(camsim.port) + "/cam264");

  Puller h264(Puller::decoding(camsim.url("cam264"), "tcp", "264"));
  Puller h265(Puller::decoding(camsim.url("cam265"), "tcp", "265"));
  EXPECT_TRUE(h264.waitBuffers(10, kFramesTimeout)) << h264.buffers() << " frames; " << h264.ended();
  EXPECT_TRUE(h265.waitBuffers(10, kFramesTimeout)) << h265.buffers() << " frames; " << h265.ended();
}

TEST(CamsimTest, ServesOverUdp) {
  Camsim camsim;
  ASSERT_NO_FATAL_FAILURE(startCamsim(camsim, {kH264, kH265}));
  Puller h264(Puller::decoding(camsim.url("cam264"), "udp", "264"));
  Puller h265(Puller::decoding(camsim.url("cam265"), "udp", "265"));
  EXPECT_TRUE(h264.waitBuffers(10, kFramesTimeout)) << h264.buffers() << " frames; " << h264.ended();
  EXPECT_TRUE(h265.waitBuffers(10, kFramesTimeout)) << h265.buffers() << " frames; " << h265.ended();
}

// Simple test pictures compress well below the requested bitrate; camsim pads
// them so that the network carries what a real camera would.
TEST(CamsimTest, SendsTheRequestedBitrate) {
  Camsim camsim;
  ASSERT_NO_FATAL_FAILURE(startCamsim(camsim, {kH264, kH265}));
  for (const auto& [name, codec] : {std::pair{"cam264", "264"}, std::pair{"cam265", "265"}}) {
    Puller client(Puller::depayloading(camsim.url(name), codec));
    ASSERT_TRUE(client.waitBuffers(60, kFramesTimeout)) << client.ended();
    // 300 kbit/s at 25 fps: 1500 bytes per frame on average.
    const double per_frame = static_cast<double>(client.bytes()) / client.buffers();
    EXPECT_GT(per_frame, 1500 * 0.8) << name;
    EXPECT_LT(per_frame, 1500 * 1.3) << name;
  }
}

TEST(CamsimTest, SeveralClientsShareOneCamera) {
  Camsim camsim;
  ASSERT_NO_FATAL_FAILURE(startCamsim(camsim, {kH264}));
  Puller first(Puller::decoding(camsim.url("cam264"), "tcp", "264"));
  Puller second(Puller::decoding(camsim.url("cam264"), "udp", "264"));
  EXPECT_TRUE(first.waitBuffers(10, kFramesTimeout)) << first.ended();
  EXPECT_TRUE(second.waitBuffers(10, kFramesTimeout)) << second.ended();
}

// The benchmark needs cameras whose keyframes do not coincide even when they
// share one encoded clip.
TEST(CamsimTest, CamerasSharingAClipHaveUnalignedKeyframes) {
  Camsim camsim;
  // gop=10 at 25 fps: a keyframe every 400 ms; two cameras start half a GOP apart.
  ASSERT_NO_FATAL_FAILURE(startCamsim(camsim, {"test://one?width=320&height=240&gop=10&bitrate_kbps=300",
                                               "test://two?width=320&height=240&gop=10&bitrate_kbps=300"}));
  Puller one(Puller::depayloading(camsim.url("one"), "264"));
  Puller two(Puller::depayloading(camsim.url("two"), "264"));
  ASSERT_TRUE(one.waitBuffers(40, kFramesTimeout)) << one.ended();
  ASSERT_TRUE(two.waitBuffers(40, kFramesTimeout)) << two.ended();
  const auto a = one.keyframes(), b = two.keyframes();
  ASSERT_GE(a.size(), 2u);
  ASSERT_GE(b.size(), 2u);
  // Phase of b's last keyframe within a's GOP: about 200 ms, far from 0 or 400.
  const auto gop = 400ms;
  const auto delta = std::chrono::duration_cast<std::chrono::milliseconds>(b.back() - a.back());
  const auto phase = ((delta % gop) + gop) % gop;
  EXPECT_GT(phase, 80ms) << "keyframes aligned: phase " << phase.count() << " ms";
  EXPECT_LT(phase, 320ms) << "keyframes aligned: phase " << phase.count() << " ms";
}

TEST(CamsimTest, StopClosesSessionsAndRefusesUntilResumed) {
  Camsim camsim;
  ASSERT_NO_FATAL_FAILURE(startCamsim(camsim, {kH264, kH265}));
  Puller watching(Puller::decoding(camsim.url("cam264"), "tcp", "264"));
  Puller other(Puller::decoding(camsim.url("cam265"), "tcp", "265"));
  ASSERT_TRUE(watching.waitBuffers(5, kFramesTimeout)) << watching.ended();
  ASSERT_TRUE(other.waitBuffers(5, kFramesTimeout)) << other.ended();

  EXPECT_EQ(camsim.command("stop cam264"), "OK stop cam264");
  EXPECT_TRUE(watching.waitEnd(kFramesTimeout)) << "the open session was not closed";

  Puller refused(Puller::decoding(camsim.url("cam264"), "tcp", "264"));
  ASSERT_TRUE(refused.waitEnd(kFramesTimeout));
  EXPECT_NE(lower(refused.ended()).find("not found"), std::string::npos) << refused.ended();
  EXPECT_EQ(refused.buffers(), 0);

  // The other camera is not disturbed.
  const int before = other.buffers();
  EXPECT_TRUE(other.waitBuffers(before + 10, kFramesTimeout)) << other.ended();

  EXPECT_EQ(camsim.command("resume cam264"), "OK resume cam264");
  Puller again(Puller::decoding(camsim.url("cam264"), "tcp", "264"));
  EXPECT_TRUE(again.waitBuffers(10, kFramesTimeout)) << again.buffers() << " frames; " << again.ended();
}

TEST(CamsimTest, StallKeepsTheSessionAndResumeContinuesIt) {
  Camsim camsim;
  ASSERT_NO_FATAL_FAILURE(startCamsim(camsim, {kH264}));
  Puller client(Puller::depayloading(camsim.url("cam264"), "264"));
  ASSERT_TRUE(client.waitBuffers(5, kFramesTimeout)) << client.ended();

  EXPECT_EQ(camsim.command("stall cam264"), "OK stall cam264");
  EXPECT_TRUE(client.waitQuiet(1s, kFramesTimeout)) << "frames kept coming after stall";
  EXPECT_TRUE(client.ended().empty()) << client.ended();

  EXPECT_EQ(camsim.command("resume cam264"), "OK resume cam264");
  const int before = client.buffers();
  EXPECT_TRUE(client.waitBuffers(before + 10, kFramesTimeout)) << client.ended();
}

TEST(CamsimTest, CorruptKeepsSendingAtTheSameRate) {
  Camsim camsim;
  ASSERT_NO_FATAL_FAILURE(startCamsim(camsim, {kH264, kH265}));
  Puller h264(Puller::depayloading(camsim.url("cam264"), "264"));
  Puller h265(Puller::depayloading(camsim.url("cam265"), "265"));
  ASSERT_TRUE(h264.waitBuffers(5, kFramesTimeout)) << h264.ended();
  ASSERT_TRUE(h265.waitBuffers(5, kFramesTimeout)) << h265.ended();

  EXPECT_EQ(camsim.command("corrupt cam264"), "OK corrupt cam264");
  EXPECT_EQ(camsim.command("corrupt cam265"), "OK corrupt cam265");
  int before = h264.buffers();
  EXPECT_TRUE(h264.waitBuffers(before + 25, kFramesTimeout)) << h264.ended();
  before = h265.buffers();
  EXPECT_TRUE(h265.waitBuffers(before + 25, kFramesTimeout)) << h265.ended();

  EXPECT_EQ(camsim.command("resume cam264"), "OK resume cam264");
  Puller decoding(Puller::decoding(camsim.url("cam264"), "tcp", "264"));
  EXPECT_TRUE(decoding.waitBuffers(10, kFramesTimeout)) << decoding.ended();
}

TEST(CamsimTest, AnswersBadCommandsWithErr) {
  Camsim camsim;
  ASSERT_NO_FATAL_FAILURE(startCamsim(camsim, {kH264}));
  EXPECT_TRUE(camsim.command("stop nosuchcam").starts_with("ERR "));
  EXPECT_TRUE(camsim.command("dance cam264").starts_with("ERR "));
  EXPECT_TRUE(camsim.command("stall").starts_with("ERR "));
  EXPECT_EQ(camsim.command("stop cam264"), "OK stop cam264");
  EXPECT_TRUE(camsim.command("corrupt cam264").starts_with("ERR "));  // stopped: resume first
  EXPECT_EQ(camsim.command("resume cam264"), "OK resume cam264");
}

TEST(CamsimTest, ServesFiles) {
  initGstreamer();
  TempDir dir;
  const std::string mp4 = (dir.path() / "clip.mp4").string();
  const std::string h265 = (dir.path() / "clip.h265").string();
  // Fixtures made here, so the test documents how: H.264 with B-frames in MP4, raw H.265.
  const std::string makers[] = {
      "videotestsrc num-buffers=50 ! video/x-raw,width=320,height=240,framerate=25/1 "
      "! x264enc key-int-max=25 bframes=2 ! h264parse ! mp4mux ! filesink location=" + mp4,
      "videotestsrc num-buffers=50 pattern=smpte ! video/x-raw,width=320,height=240,framerate=25/1 "
      "! x265enc key-int-max=25 ! h265parse ! video/x-h265,stream-format=byte-stream ! filesink location=" + h265,
  };
  for (const auto& launch : makers) {
    GError* error = nullptr;
    GstElement* pipeline = gst_parse_launch(launch.c_str(), &error);
    ASSERT_EQ(error, nullptr) << error->message;
    gst_element_set_state(pipeline, GST_STATE_PLAYING);
    GstBus* bus = gst_element_get_bus(pipeline);
    GstMessage* done = gst_bus_timed_pop_filtered(bus, 30 * GST_SECOND,
                                                  static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    ASSERT_NE(done, nullptr);
    EXPECT_EQ(GST_MESSAGE_TYPE(done), GST_MESSAGE_EOS);
    gst_message_unref(done);
    gst_object_unref(bus);
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(pipeline);
  }

  Camsim camsim;
  ASSERT_NO_FATAL_FAILURE(startCamsim(camsim, {"mp4=file://" + mp4, "raw=file://" + h265}));
  Puller a(Puller::decoding(camsim.url("mp4"), "tcp", "264"));
  Puller b(Puller::decoding(camsim.url("raw"), "tcp", "265"));
  EXPECT_TRUE(a.waitBuffers(10, kFramesTimeout)) << a.buffers() << " frames; " << a.ended();
  EXPECT_TRUE(b.waitBuffers(10, kFramesTimeout)) << b.buffers() << " frames; " << b.ended();
}

TEST(CamsimTest, BadArgumentsExitNonZero) {
  const std::vector<std::vector<std::string>> cases = {
      {"test://cam?codec=vp8"},
      {"test://cam?pattern=nosuchpattern"},
      {"cam=file:///no/such/file.mp4"},
      {"not-a-stream"},
      {kH264, kH264},  // two mounts with one name
  };
  for (const auto& args : cases) {
    ChildProcess process;
    ASSERT_TRUE(process.start(camsimArgv(args)));
    const auto status = process.wait(30s);
    ASSERT_TRUE(status) << "still running with " << args[0];
    EXPECT_NE(*status, 0) << args[0];
    EXPECT_FALSE(process.waitForLine("READY", 1ms)) << args[0];
  }
}

TEST(CamsimTest, PortInUseExitsNonZero) {
  Camsim first;
  ASSERT_NO_FATAL_FAILURE(startCamsim(first, {kH264}));
  ChildProcess second;
  ASSERT_TRUE(second.start({VCGATE_CAMSIM_BIN, "--port", std::to_string(first.port), kH264}));
  const auto status = second.wait(30s);
  ASSERT_TRUE(status);
  EXPECT_EQ(*status, 1);
}

TEST(CamsimTest, QuitExitsZero) {
  Camsim camsim;
  ASSERT_NO_FATAL_FAILURE(startCamsim(camsim, {kH264}));
  Puller client(Puller::decoding(camsim.url("cam264"), "tcp", "264"));
  ASSERT_TRUE(client.waitBuffers(5, kFramesTimeout)) << client.ended();
  EXPECT_EQ(camsim.command("quit"), "OK quit");
  EXPECT_EQ(camsim.process.wait(10s), 0);
}

TEST(CamsimTest, EofOnStdinDoesNotQuit) {
  Camsim camsim;
  ASSERT_NO_FATAL_FAILURE(startCamsim(camsim, {kH264}, /*stdin_from_null=*/true));
  Puller client(Puller::decoding(camsim.url("cam264"), "tcp", "264"));
  EXPECT_TRUE(client.waitBuffers(10, kFramesTimeout)) << client.ended();
  EXPECT_TRUE(camsim.process.running());
  EXPECT_FALSE(camsim.process.wait(0ms));
  ASSERT_TRUE(camsim.process.signal(SIGINT));
  EXPECT_EQ(camsim.process.wait(10s), 0);
}

TEST(CamsimTest, SigtermExitsZero) {
  Camsim camsim;
  ASSERT_NO_FATAL_FAILURE(startCamsim(camsim, {kH264}));
  ASSERT_TRUE(camsim.process.signal(SIGTERM));
  EXPECT_EQ(camsim.process.wait(10s), 0);
}

TEST(StreamArgTest, ParsesTestAndFileStreams) {
  auto synthetic = parseStreamArg("test://door?codec=h265&gop=25");
  ASSERT_TRUE(synthetic) << synthetic.error().message;
  EXPECT_EQ(synthetic->name, "door");
  ASSERT_TRUE(synthetic->synthetic);
  EXPECT_EQ(synthetic->synthetic->gop, 25);

  auto file = parseStreamArg("lobby=file:///var/clips/lobby.mp4");
  ASSERT_TRUE(file) << file.error().message;
  EXPECT_EQ(file->name, "lobby");
  EXPECT_EQ(file->file_path, "/var/clips/lobby.mp4");

  // Same spec under another name shares the clip; another spec does not.
  EXPECT_EQ(parseStreamArg("test://a?gop=25")->clipKey(), parseStreamArg("test://b?gop=25")->clipKey());
  EXPECT_NE(parseStreamArg("test://a?gop=25")->clipKey(), parseStreamArg("test://a?gop=26")->clipKey());
}

TEST(StreamArgTest, RejectsWhatCannotBeServed) {
  EXPECT_FALSE(parseStreamArg("cam"));
  EXPECT_FALSE(parseStreamArg("cam=rtsp://10.0.0.1/live"));
  EXPECT_FALSE(parseStreamArg("cam=file://relative/path.mp4"));
  EXPECT_FALSE(parseStreamArg("bad name=file:///a.mp4"));
  EXPECT_FALSE(parseStreamArg("all=file:///a.mp4"));
  EXPECT_FALSE(parseStreamArg("test://cam?fps=0"));
}

TEST(GarbleTest, KeepsNalStructureAndParameterSets) {
  // SPS, PPS, IDR slice, non-IDR slice; 4- and 3-byte start codes.
  std::vector<std::uint8_t> stream = {
      0, 0, 0, 1, 0x67, 0x42, 0x00, 0x1e, 0xab,                  // SPS
      0, 0, 0, 1, 0x68, 0xce, 0x38, 0x80,                        // PPS
      0, 0, 1,    0x65, 0x88, 0x84, 0x00, 0x00, 0x03, 0x01, 0x55,  // IDR slice
      0, 0, 0, 1, 0x41, 0x9a, 0x11, 0x22, 0x33,                  // non-IDR slice
  };
  const std::vector<std::uint8_t> original = stream;
  garbleSlices(stream, core::VideoCodec::kH264, 42);
  ASSERT_EQ(stream.size(), original.size());
  // Parameter sets untouched.
  EXPECT_TRUE(std::equal(original.begin(), original.begin() + 17, stream.begin()));
  // Start code, NAL header and first slice byte kept; the rest is garbage without zeros.
  EXPECT_EQ(stream[20], 0x65);
  EXPECT_EQ(stream[21], 0x88);
  EXPECT_NE(std::vector(stream.begin() + 22, stream.begin() + 28),
            std::vector(original.begin() + 22, original.begin() + 28));
  for (size_t i = 22; i < 28; ++i) EXPECT_NE(stream[i], 0) << i;
  EXPECT_TRUE(std::equal(original.begin() + 28, original.begin() + 34, stream.begin() + 28));
  for (size_t i = 34; i < stream.size(); ++i) EXPECT_NE(stream[i], 0) << i;
}

}  // namespace
}  // namespace vcgate::camsim
