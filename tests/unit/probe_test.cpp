// The probe module without cameras: keyframes made by x264/x265 (through
// GStreamer, tests/support/encoded_units.h) decoded and turned into JPEGs,
// and MP4 clips written by the evidence Mp4Writer probed from disk. The
// network cases (camsim, 401, timeouts) are in tests/system/ctl_test.cpp.
#include <gtest/gtest.h>

extern "C" {
#include <libavcodec/avcodec.h>
}

#include <fmt/format.h>

#include "gateway/evidence/mp4_writer.h"
#include "gateway/probe/keyframe.h"
#include "gateway/probe/probe.h"
#include "tests/support/encoded_units.h"
#include "tests/support/temp_dir.h"

namespace vcgate::probe {
namespace {

using core::VideoCodec;
using testing::encodeUnits;
using testing::TempDir;

// Decodes a JPEG back with libavcodec's MJPEG decoder: its size, or 0x0.
std::pair<int, int> jpegSize(const std::vector<uint8_t>& jpeg) {
  const AVCodec* decoder = avcodec_find_decoder(AV_CODEC_ID_MJPEG);
  AVCodecContext* context = avcodec_alloc_context3(decoder);
  AVPacket* packet = av_packet_alloc();
  AVFrame* frame = av_frame_alloc();
  std::pair<int, int> size{0, 0};
  if (avcodec_open2(context, decoder, nullptr) == 0 && av_new_packet(packet, static_cast<int>(jpeg.size())) == 0) {
    std::copy(jpeg.begin(), jpeg.end(), packet->data);
    if (avcodec_send_packet(context, packet) == 0 && avcodec_receive_frame(context, frame) == 0)
      size = {frame->width, frame->height};
  }
  av_frame_free(&frame);
  av_packet_free(&packet);
  avcodec_free_context(&context);
  return size;
}

class KeyframeTest : public ::testing::TestWithParam<VideoCodec> {};

TEST_P(KeyframeTest, DecodesAndMakesAJpegThatDecodesBack) {
  const auto units = encodeUnits(GetParam(), 5, 5, 320, 240);
  ASSERT_FALSE(units.empty());
  ASSERT_TRUE(units[0].keyframe);
  auto decoded = decodeKeyframe(GetParam(), units[0].data);
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(decoded->width, 320);
  EXPECT_EQ(decoded->height, 240);
  EXPECT_EQ(decoded->pixel_format, "yuv420p");
  EXPECT_FALSE(decoded->profile.empty());

  auto jpeg = keyframeToJpeg(GetParam(), units[0].data);
  ASSERT_TRUE(jpeg) << jpeg.error().message;
  EXPECT_EQ(jpeg->width, 320);
  EXPECT_EQ(jpeg->height, 240);
  ASSERT_GT(jpeg->data.size(), 4u);
  EXPECT_EQ(jpeg->data[0], 0xff);
  EXPECT_EQ(jpeg->data[1], 0xd8);
  EXPECT_EQ(jpegSize(jpeg->data), std::make_pair(320, 240));

  // A smaller quantiser is a better, larger picture.
  auto best = keyframeToJpeg(GetParam(), units[0].data, 2);
  auto worst = keyframeToJpeg(GetParam(), units[0].data, 31);
  ASSERT_TRUE(best && worst);
  EXPECT_GT(best->data.size(), worst->data.size());
}

INSTANTIATE_TEST_SUITE_P(Codecs, KeyframeTest, ::testing::Values(VideoCodec::kH264, VideoCodec::kH265),
                         [](const auto& p) { return std::string(core::codecName(p.param)); });

TEST(Keyframe, RefusesWhatIsNotAPicture) {
  EXPECT_FALSE(keyframeToJpeg(VideoCodec::kH264, {}));
  const std::vector<uint8_t> garbage(1000, 0x42);
  auto result = keyframeToJpeg(VideoCodec::kH264, garbage);
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("keyframe"), std::string::npos) << result.error().message;
  // A delta frame alone has no parameter sets.
  const auto units = encodeUnits(VideoCodec::kH264, 3, 10);
  ASSERT_GE(units.size(), 2u);
  EXPECT_FALSE(keyframeToJpeg(VideoCodec::kH264, units[1].data));
}

std::string writeClip(const TempDir& dir, VideoCodec codec, int frames, int gop) {
  const std::string path = (dir.path() / fmt::format("clip-{}.mp4", core::codecName(codec))).string();
  evidence::Mp4Writer writer;
  EXPECT_TRUE(writer.open(path, codec));
  for (const auto& u : encodeUnits(codec, frames, gop))
    EXPECT_TRUE(writer.write(u.data, u.pts_ns, u.dts_ns, u.keyframe));
  EXPECT_TRUE(writer.close());
  return path;
}

TEST(Probe, MeasuresAClipOnDisk) {
  TempDir dir;
  for (VideoCodec codec : {VideoCodec::kH264, VideoCodec::kH265}) {
    ProbeOptions options;
    options.uri = "file://" + writeClip(dir, codec, 30, 12);
    auto report = probeStream(options);
    ASSERT_TRUE(report) << report.error().message;
    EXPECT_EQ(report->transport, "file");
    EXPECT_EQ(report->codec, codec == VideoCodec::kH264 ? "h264" : "hevc");
    EXPECT_TRUE(report->supported);
    EXPECT_EQ(report->width, 320);
    EXPECT_EQ(report->height, 240);
    EXPECT_EQ(report->gop_frames, 12);
    EXPECT_NEAR(report->gop_s, 12 / 25.0, 0.01);
    EXPECT_NEAR(report->fps, 25, 0.5);
    EXPECT_EQ(report->frames, 12u);
    EXPECT_GT(report->bitrate_bps, 0);
    EXPECT_TRUE(report->keyframe_decodes);
    EXPECT_TRUE(report->note.empty()) << report->note;
    EXPECT_TRUE(report->other_streams.empty());
  }
}

TEST(Probe, AClipWithOneKeyframeHasNoGop) {
  TempDir dir;
  ProbeOptions options;
  options.uri = writeClip(dir, VideoCodec::kH264, 8, 50);  // a plain path works like file://
  auto report = probeStream(options);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->gop_frames, 0);
  EXPECT_NE(report->note.find("ends before a second keyframe"), std::string::npos) << report->note;
  EXPECT_NEAR(report->fps, 25, 0.5) << "still measured over the frames there are";

  options.quick = true;
  auto quick = probeStream(options);
  ASSERT_TRUE(quick);
  EXPECT_EQ(quick->frames, 0u);
  EXPECT_TRUE(quick->keyframe_decodes);
}

TEST(Probe, EachFailureHasItsCode) {
  TempDir dir;
  const auto code = [](const std::string& uri) {
    ProbeOptions options;
    options.uri = uri;
    auto report = probeStream(options);
    return report ? std::string("ok") : report.error().code;
  };
  EXPECT_EQ(code((dir.path() / "missing.mp4").string()), "not_found");
  EXPECT_EQ(code(dir.write("text.mp4", "this is not a video file at all\n")), "failed");
  EXPECT_EQ(code("test://lobby"), "bad_uri");
  EXPECT_EQ(code("http://example.com/x"), "bad_uri");
  EXPECT_EQ(code("rtsp://127.0.0.1:1/x"), "unreachable");
}

TEST(Probe, VersionNamesFfmpeg) { EXPECT_TRUE(libavVersion().starts_with("FFmpeg ")) << libavVersion(); }

}  // namespace
}  // namespace vcgate::probe
