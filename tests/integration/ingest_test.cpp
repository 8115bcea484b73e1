// Ingest against real GStreamer pipelines: synthetic cameras and files of
// every supported container, checked by decoding what came out.
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "gateway/media/camera_manager.h"
#include "tests/integration/frame_collector.h"
#include "tests/support/gst_loop.h"
#include "tests/support/temp_dir.h"
#include "tests/support/video_check.h"

namespace vcgate::media {
namespace {

using namespace std::chrono_literals;
using testing::FrameCollector;
using testing::runMainLoopUntil;

config::CameraConfig cameraOf(const std::string& id, const std::string& uri) {
  config::CameraConfig camera;
  camera.id = id;
  camera.name = id;
  camera.uri = uri;
  camera.reconnect.initial = 200ms;
  return camera;
}

// Checks the promises of the access unit stream: starts at a keyframe with
// its parameter sets, every keyframe has them, DTS strictly increase, and the
// whole sequence decodes without error.
void expectDecodable(const std::vector<AccessUnitPtr>& units, core::VideoCodec codec, int width, int height) {
  ASSERT_FALSE(units.empty());
  EXPECT_TRUE(units.front()->keyframe);
  testing::Decoder decoder(codec);
  int64_t last_dts = -1;
  for (size_t i = 0; i < units.size(); ++i) {
    const auto& unit = *units[i];
    EXPECT_EQ(unit.codec, codec);
    if (unit.keyframe) {
      EXPECT_TRUE(testing::hasParameterSetsAndKeyframe(unit.data, codec)) << "unit " << i;
    }
    EXPECT_GT(unit.dts_ns, last_dts) << "unit " << i;
    last_dts = unit.dts_ns;
    EXPECT_GT(unit.capture_us, 1'600'000'000'000'000);
    EXPECT_TRUE(decoder.decode(unit.data)) << "unit " << i << " did not decode";
  }
  decoder.flush();
  EXPECT_EQ(decoder.errors(), 0);
  EXPECT_GE(decoder.framesDecoded(), static_cast<int>(units.size()) - 2);
  EXPECT_EQ(decoder.width(), width);
  EXPECT_EQ(decoder.height(), height);
  EXPECT_EQ(units.front()->width, width);
  EXPECT_EQ(units.front()->height, height);
}

class IngestTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { testing::initGstreamer(); }
  void SetUp() override {
    manager_ = std::make_unique<CameraManager>();
    manager_->dispatcher().addSink(&collector_);
  }
  void TearDown() override { ASSERT_TRUE(manager_->stop(5s)); }

  std::unique_ptr<CameraManager> manager_;
  FrameCollector collector_;
};

TEST_F(IngestTest, SyntheticH264CameraProducesDecodableAccessUnits) {
  manager_->apply({cameraOf("cam", "test://cam?codec=h264&width=320&height=240&fps=25&gop=10")});
  ASSERT_TRUE(runMainLoopUntil([&] { return collector_.count("cam") >= 30; }, 20s));
  expectDecodable(collector_.units("cam"), core::VideoCodec::kH264, 320, 240);
  ASSERT_TRUE(runMainLoopUntil([&] { return manager_->stats()[0].state == CameraState::kStreaming; }, 5s));
  const auto stats = manager_->stats()[0];
  EXPECT_EQ(stats.codec, "h264");
  EXPECT_EQ(stats.keyframe_interval_frames, 10);
}

TEST_F(IngestTest, SyntheticH265CameraProducesDecodableAccessUnits) {
  manager_->apply({cameraOf("cam", "test://cam?codec=h265&width=320&height=240&fps=25&gop=10")});
  ASSERT_TRUE(runMainLoopUntil([&] { return collector_.count("cam") >= 30; }, 20s));
  expectDecodable(collector_.units("cam"), core::VideoCodec::kH265, 320, 240);
}

struct FileCase {
  std::string name;
  std::string extension;
  core::VideoCodec codec;
  std::string mux;  // gst-launch fragment after the parser
};

// Writes 50 frames (2 s at 25 fps, keyframe every 25) to a file; the command is
// the fixture's recipe.
std::string makeClip(const testing::TempDir& dir, const FileCase& c) {
  const auto path = (dir.path() / ("clip." + c.extension)).string();
  const bool h265 = c.codec == core::VideoCodec::kH265;
  const std::string description = fmt::format(
      "videotestsrc num-buffers=50 pattern=ball ! video/x-raw,width=320,height=240,framerate=25/1 ! {} ! {} ! {} ! "
      "filesink location={}",
      h265 ? "x265enc key-int-max=25 speed-preset=ultrafast" : "x264enc key-int-max=25 speed-preset=ultrafast",
      h265 ? "h265parse" : "h264parse", c.mux, path);
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(description.c_str(), &error);
  EXPECT_NE(pipeline, nullptr) << (error ? error->message : "");
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus* bus = gst_element_get_bus(pipeline);
  GstMessage* message =
      gst_bus_timed_pop_filtered(bus, 30 * GST_SECOND, GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  EXPECT_NE(message, nullptr);
  EXPECT_EQ(GST_MESSAGE_TYPE(message), GST_MESSAGE_EOS);
  gst_message_unref(message);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  return path;
}

class FileIngestTest : public IngestTest, public ::testing::WithParamInterface<FileCase> {};

TEST_P(FileIngestTest, PlaysAndLoopsWithAContinuousTimeline) {
  testing::TempDir dir;
  const auto path = makeClip(dir, GetParam());
  manager_->apply({cameraOf("file", "file://" + path)});
  // 50 frames per pass: 70 means the loop happened and continued.
  ASSERT_TRUE(runMainLoopUntil([&] { return collector_.count("file") >= 70; }, 90s))
      << "got " << collector_.count("file") << "; stats: " << formatStatsTable(manager_->stats());
  const auto units = collector_.units("file");
  expectDecodable(units, GetParam().codec, 320, 240);
  // Paced like a camera: 70 frames at 25 fps span about 2.8 s of capture time.
  const double span_s = static_cast<double>(units[69]->capture_us - units[0]->capture_us) / 1e6;
  EXPECT_GT(span_s, 2.0);
  EXPECT_EQ(manager_->stats()[0].reconnects, 0u) << "a loop is not a reconnect";
}

INSTANTIATE_TEST_SUITE_P(
    Containers, FileIngestTest,
    ::testing::Values(FileCase{"mp4_h264", "mp4", core::VideoCodec::kH264, "mp4mux"},
                      FileCase{"mkv_h264", "mkv", core::VideoCodec::kH264, "matroskamux"},
                      FileCase{"ts_h264", "ts", core::VideoCodec::kH264, "mpegtsmux"},
                      FileCase{"raw_h264", "h264", core::VideoCodec::kH264, "video/x-h264,stream-format=byte-stream"},
                      FileCase{"mp4_h265", "mp4", core::VideoCodec::kH265, "mp4mux"},
                      FileCase{"raw_h265", "h265", core::VideoCodec::kH265, "video/x-h265,stream-format=byte-stream"}),
    [](const auto& param_info) { return param_info.param.name; });

TEST_F(IngestTest, AMissingFileBacksOffWithAClearErrorAndDoesNotDisturbAnotherCamera) {
  manager_->apply({cameraOf("good", "test://good?width=320&height=240&gop=10"),
                   cameraOf("missing", "file:///nonexistent/clip.mp4")});
  ASSERT_TRUE(runMainLoopUntil([&] { return manager_->stats()[1].reconnects >= 2; }, 20s));
  const auto stats = manager_->stats();
  EXPECT_NE(stats[1].last_error.find("/nonexistent/clip.mp4"), std::string::npos) << stats[1].last_error;
  EXPECT_EQ(stats[0].state, CameraState::kStreaming);
  EXPECT_EQ(stats[0].reconnects, 0u);
  expectDecodable(collector_.units("good"), core::VideoCodec::kH264, 320, 240);
}

TEST_F(IngestTest, AFileWithoutVideoIsRejectedWithTheReason) {
  testing::TempDir dir;
  const auto path = dir.write("noise.bin", std::string(100000, 'x'));
  manager_->apply({cameraOf("junk", "file://" + path)});
  ASSERT_TRUE(runMainLoopUntil([&] { return !manager_->stats()[0].last_error.empty(); }, 20s));
  EXPECT_EQ(collector_.count("junk"), 0u);
}

TEST_F(IngestTest, ReapplyingTheSameConfigKeepsCamerasRunningAndAChangedOneRestarts) {
  const auto a = cameraOf("a", "test://a?width=320&height=240&gop=10");
  auto b = cameraOf("b", "test://b?width=320&height=240&gop=10");
  manager_->apply({a, b});
  ASSERT_TRUE(runMainLoopUntil([&] { return collector_.count("a") >= 10 && collector_.count("b") >= 10; }, 20s));
  const auto* camera_a = manager_->find("a");
  b.uri = "test://b?width=160&height=120&gop=10";
  manager_->apply({a, b});
  EXPECT_EQ(manager_->find("a"), camera_a) << "an unchanged camera must not be restarted";
  const size_t before = collector_.count("b");
  ASSERT_TRUE(runMainLoopUntil([&] { return collector_.count("b") >= before + 10; }, 20s));
  EXPECT_EQ(collector_.units("b").back()->width, 160);
  // a's sessions never changed: one continuous stream.
  for (const auto& unit : collector_.units("a")) EXPECT_EQ(unit->session, 1u);
}

}  // namespace
}  // namespace vcgate::media
