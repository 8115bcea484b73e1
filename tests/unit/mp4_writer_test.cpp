// Mp4Writer and verifyPlayable with real encoder output: H.264 and H.265
// clips written without transcoding decode from their first frame; a file
// cut after its first fragment still plays what it holds; file-system
// failures name the file and the reason.
#include "gateway/evidence/mp4_writer.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

extern "C" {
#include <libavformat/avformat.h>
}

#include "tests/support/encoded_units.h"
#include "tests/support/temp_dir.h"

namespace vcgate::evidence {
namespace {

using core::VideoCodec;
using testing::EncodedUnit;
using testing::encodeUnits;
using testing::TempDir;

constexpr int kGop = 10;

Mp4Summary writeClip(const std::string& path, VideoCodec codec, const std::vector<EncodedUnit>& units,
                     size_t first = 0) {
  Mp4Writer writer;
  auto opened = writer.open(path, codec, 320, 240);
  EXPECT_TRUE(opened.ok()) << (opened ? "" : opened.error().message);
  for (size_t i = first; i < units.size(); ++i) {
    auto written = writer.write(units[i].data, units[i].pts_ns, units[i].dts_ns, units[i].keyframe);
    EXPECT_TRUE(written.ok()) << (written ? "" : written.error().message);
  }
  auto closed = writer.close();
  EXPECT_TRUE(closed.ok()) << (closed ? "" : closed.error().message);
  return closed ? *closed : Mp4Summary{};
}

std::vector<uint8_t> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void writeFile(const std::string& path, const std::vector<uint8_t>& bytes, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(size));
}

// Top-level MP4 boxes: (type, offset, size).
struct Box {
  std::string type;
  size_t offset;
  size_t size;
};
std::vector<Box> topLevelBoxes(const std::vector<uint8_t>& file) {
  std::vector<Box> boxes;
  for (size_t at = 0; at + 8 <= file.size();) {
    const size_t size = static_cast<size_t>(file[at]) << 24 | static_cast<size_t>(file[at + 1]) << 16 |
                        static_cast<size_t>(file[at + 2]) << 8 | file[at + 3];
    if (size < 8) break;
    boxes.push_back({std::string(reinterpret_cast<const char*>(&file[at + 4]), 4), at, size});
    at += size;
  }
  return boxes;
}

class Mp4WriterCodecTest : public ::testing::TestWithParam<VideoCodec> {};

TEST_P(Mp4WriterCodecTest, ClipDecodesFromItsFirstFrame) {
  const VideoCodec codec = GetParam();
  const auto units = encodeUnits(codec, 50, kGop);
  ASSERT_EQ(units.size(), 50u);
  ASSERT_TRUE(units.front().keyframe);
  TempDir dir;
  const std::string path = (dir.path() / "clip.mp4").string();
  const auto summary = writeClip(path, codec, units);
  EXPECT_EQ(summary.frames, 50u);
  EXPECT_EQ(summary.keyframes, 5u);
  EXPECT_EQ(summary.leading_dropped, 0u);
  EXPECT_EQ(summary.timestamp_fixes, 0u);
  EXPECT_NEAR(summary.duration_s, 2.0, 0.05);

  const auto report = verifyPlayable(path);
  EXPECT_TRUE(report.ok) << report.error;
  EXPECT_EQ(report.packets, 50);
  EXPECT_EQ(report.frames_decoded, 50);
  EXPECT_EQ(report.decode_errors, 0);
  EXPECT_TRUE(report.starts_with_keyframe);
  EXPECT_FALSE(report.truncated);
  EXPECT_EQ(report.codec, codec == VideoCodec::kH264 ? "h264" : "hevc");
  EXPECT_EQ(report.width, 320);
  EXPECT_EQ(report.height, 240);
  EXPECT_NEAR(report.duration_s, 2.0, 0.05);
}

// With an owner the writer borrows the unit's bytes instead of copying them:
// the file is byte for byte the copied one, and every owner is let go once
// the file is closed (none leaked, none released while the writer needed it).
TEST_P(Mp4WriterCodecTest, BorrowedUnitsMakeTheSameFileAndAreReleased) {
  const VideoCodec codec = GetParam();
  const auto units = encodeUnits(codec, 30, kGop);
  ASSERT_EQ(units.size(), 30u);
  TempDir dir;
  const std::string copied = (dir.path() / "copied.mp4").string();
  const std::string borrowed = (dir.path() / "borrowed.mp4").string();
  writeClip(copied, codec, units);

  std::vector<std::shared_ptr<const std::vector<uint8_t>>> owners;
  {
    Mp4Writer writer;
    ASSERT_TRUE(writer.open(borrowed, codec, 320, 240).ok());
    for (const auto& u : units) {
      auto owner = std::make_shared<const std::vector<uint8_t>>(u.data);
      owners.push_back(owner);
      ASSERT_TRUE(writer.write(*owner, u.pts_ns, u.dts_ns, u.keyframe, owner).ok());
    }
    EXPECT_EQ(owners.back().use_count(), 2) << "the last GOP is held until the next keyframe or close()";
    EXPECT_EQ(owners.front().use_count(), 1) << "the first GOP was written when the second began";
    ASSERT_TRUE(writer.close().ok());
  }
  for (const auto& owner : owners) EXPECT_EQ(owner.use_count(), 1);
  EXPECT_EQ(readFile(borrowed), readFile(copied));
  const auto report = verifyPlayable(borrowed);
  EXPECT_TRUE(report.ok) << report.error;
  EXPECT_EQ(report.frames_decoded, 30);
}

TEST_P(Mp4WriterCodecTest, DimensionsComeFromTheSpsWhenNotGiven) {
  const VideoCodec codec = GetParam();
  const auto units = encodeUnits(codec, 10, kGop, 176, 144);
  ASSERT_EQ(units.size(), 10u);
  TempDir dir;
  const std::string path = (dir.path() / "clip.mp4").string();
  Mp4Writer writer;
  ASSERT_TRUE(writer.open(path, codec).ok());
  for (const auto& u : units) ASSERT_TRUE(writer.write(u.data, u.pts_ns, u.dts_ns, u.keyframe).ok());
  ASSERT_TRUE(writer.close().ok());
  const auto report = verifyPlayable(path);
  EXPECT_TRUE(report.ok) << report.error;
  EXPECT_EQ(report.width, 176);
  EXPECT_EQ(report.height, 144);
}

TEST_P(Mp4WriterCodecTest, LeadingNonKeyframesAreDroppedAndCounted) {
  const VideoCodec codec = GetParam();
  const auto units = encodeUnits(codec, 30, kGop);
  ASSERT_EQ(units.size(), 30u);
  TempDir dir;
  const std::string path = (dir.path() / "mid-gop.mp4").string();
  const auto summary = writeClip(path, codec, units, 3);  // starts 3 frames into the first GOP
  EXPECT_EQ(summary.leading_dropped, 7u);
  EXPECT_EQ(summary.frames, 20u);
  const auto report = verifyPlayable(path);
  EXPECT_TRUE(report.ok) << report.error;
  EXPECT_TRUE(report.starts_with_keyframe);
  EXPECT_EQ(report.frames_decoded, 20);
}

// What a demuxer must read back for an Annex-B unit: each NAL unit behind a
// 4-byte big-endian length. Written byte by byte here, apart from the
// writer's own start-code search.
std::vector<uint8_t> lengthPrefixed(const std::vector<uint8_t>& unit) {
  std::vector<size_t> starts;  // first byte after each 00 00 01
  for (size_t i = 0; i + 2 < unit.size(); ++i)
    if (unit[i] == 0 && unit[i + 1] == 0 && unit[i + 2] == 1) starts.push_back(i + 3);
  std::vector<uint8_t> out;
  for (size_t k = 0; k < starts.size(); ++k) {
    size_t end = k + 1 < starts.size() ? starts[k + 1] - 3 : unit.size();
    if (k + 1 < starts.size() && end > starts[k] && unit[end - 1] == 0) --end;  // a 4-byte start code's zero
    const size_t size = end - starts[k];
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(size >> shift));
    out.insert(out.end(), unit.begin() + static_cast<ptrdiff_t>(starts[k]), unit.begin() + static_cast<ptrdiff_t>(end));
  }
  return out;
}

struct ReadPacket {
  std::vector<uint8_t> data;
  int64_t pts = 0;
  int64_t dts = 0;
  int64_t duration = 0;
  bool keyframe = false;
};

// Every video packet of `path` as libavformat's mov demuxer reads it, in the stream's time base.
std::vector<ReadPacket> demux(const std::string& path, AVRational* time_base) {
  std::vector<ReadPacket> packets;
  AVFormatContext* format = nullptr;
  if (avformat_open_input(&format, path.c_str(), nullptr, nullptr) < 0) return packets;
  // As players do: without it the H.265 packets come back without their durations.
  if (avformat_find_stream_info(format, nullptr) < 0) return packets;
  *time_base = format->streams[0]->time_base;
  AVPacket* packet = av_packet_alloc();
  while (av_read_frame(format, packet) >= 0) {
    packets.push_back({std::vector<uint8_t>(packet->data, packet->data + packet->size), packet->pts, packet->dts,
                       packet->duration, (packet->flags & AV_PKT_FLAG_KEY) != 0});
    av_packet_unref(packet);
  }
  av_packet_free(&packet);
  avformat_close_input(&format);
  return packets;
}

// The fragments are built by hand (fragment_boxes.h), so check them against
// an independent reader: libavformat's demuxer gives back every unit's bytes
// as length-prefixed NAL units, with its decode and presentation times
// (rebased to the first keyframe's dts), its duration and its keyframe flag.
TEST_P(Mp4WriterCodecTest, EveryUnitReadsBackWithItsBytesAndTimes) {
  const VideoCodec codec = GetParam();
  const auto units = encodeUnits(codec, 35, kGop);  // 3 full GOPs and a short last one
  ASSERT_EQ(units.size(), 35u);
  TempDir dir;
  const std::string path = (dir.path() / "clip.mp4").string();
  const auto summary = writeClip(path, codec, units);
  EXPECT_EQ(summary.fragments, 4u);

  AVRational time_base{0, 1};
  const auto packets = demux(path, &time_base);
  ASSERT_EQ(packets.size(), units.size());
  ASSERT_EQ(time_base.num, 1);
  ASSERT_EQ(time_base.den, 90000);
  const int64_t base_ns = units.front().dts_ns;
  auto ticks = [](int64_t ns) { return ns * 9 / 100000; };  // 1/90000 s
  for (size_t i = 0; i < units.size(); ++i) {
    SCOPED_TRACE(fmt::format("unit {}", i));
    EXPECT_EQ(packets[i].data, lengthPrefixed(units[i].data));
    EXPECT_EQ(packets[i].dts, ticks(units[i].dts_ns - base_ns));
    EXPECT_EQ(packets[i].pts, ticks(units[i].pts_ns - base_ns));
    EXPECT_EQ(packets[i].keyframe, units[i].keyframe);
    const int64_t next_dts_ns = i + 1 < units.size() ? units[i + 1].dts_ns : units[i].dts_ns + 40'000'000;
    EXPECT_EQ(packets[i].duration, ticks(next_dts_ns) - ticks(units[i].dts_ns));
  }
  // The file ends with the random access index: mfra, whose mfro gives its size.
  const auto bytes = readFile(path);
  const auto boxes = topLevelBoxes(bytes);
  ASSERT_FALSE(boxes.empty());
  EXPECT_EQ(boxes.back().type, "mfra");
  EXPECT_EQ(boxes.back().offset + boxes.back().size, bytes.size());
}

// A second, independent player: GStreamer's qtdemux and the libav decoder
// read the file from start to end and return every picture.
TEST_P(Mp4WriterCodecTest, GStreamerPlaysTheClip) {
  const VideoCodec codec = GetParam();
  const auto units = encodeUnits(codec, 30, kGop);
  ASSERT_EQ(units.size(), 30u);
  TempDir dir;
  const std::string path = (dir.path() / "clip.mp4").string();
  writeClip(path, codec, units);

  const std::string decoder = codec == VideoCodec::kH264 ? "h264parse ! avdec_h264" : "h265parse ! avdec_h265";
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(
      fmt::format("filesrc location={} ! qtdemux ! {} ! appsink name=sink sync=false", path, decoder).c_str(), &error);
  ASSERT_NE(pipeline, nullptr) << (error ? error->message : "");
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  int pictures = 0;
  while (GstSample* sample = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 20 * GST_SECOND)) {
    ++pictures;
    gst_sample_unref(sample);
  }
  GstBus* bus = gst_element_get_bus(pipeline);
  GstMessage* failure = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  std::string why;
  if (failure) {
    GError* message_error = nullptr;
    gst_message_parse_error(failure, &message_error, nullptr);
    why = message_error->message;
    g_error_free(message_error);
    gst_message_unref(failure);
  }
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
  EXPECT_TRUE(why.empty()) << why;
  EXPECT_EQ(pictures, 30);
}

INSTANTIATE_TEST_SUITE_P(Codecs, Mp4WriterCodecTest, ::testing::Values(VideoCodec::kH264, VideoCodec::kH265),
                         [](const auto& param_info) { return std::string(core::codecName(param_info.param)); });

// A file cut anywhere after its first fragment (kill -9, power loss) plays
// every frame of the fragments before the cut and never crashes the reader.
TEST(Mp4WriterTest, FileCutAfterTheFirstFragmentStillPlays) {
  const auto units = encodeUnits(VideoCodec::kH264, 60, kGop);
  ASSERT_EQ(units.size(), 60u);
  TempDir dir;
  const std::string path = (dir.path() / "full.mp4").string();
  writeClip(path, VideoCodec::kH264, units);
  const auto bytes = readFile(path);
  const auto boxes = topLevelBoxes(bytes);
  std::vector<size_t> fragment_ends;  // file offset where each moof+mdat ends
  for (const auto& b : boxes)
    if (b.type == "mdat") fragment_ends.push_back(b.offset + b.size);
  ASSERT_EQ(fragment_ends.size(), 6u) << "one fragment per GOP";

  const std::string cut = (dir.path() / "cut.mp4").string();
  for (size_t k = 0; k < fragment_ends.size(); ++k) {
    const int complete_frames = static_cast<int>((k + 1) * kGop);
    // Exactly at the end of fragment k: everything in it decodes, nothing is damaged.
    writeFile(cut, bytes, fragment_ends[k]);
    auto report = verifyPlayable(cut);
    EXPECT_EQ(report.frames_decoded, complete_frames) << "cut at the end of fragment " << k;
    EXPECT_EQ(report.decode_errors, 0) << "cut at the end of fragment " << k;
    EXPECT_TRUE(report.starts_with_keyframe);
    if (k + 1 == fragment_ends.size()) break;
    // Inside the next fragment (in its moof, early in its mdat, near its end):
    // at least the complete fragments still play.
    const size_t next_end = fragment_ends[k + 1];
    for (size_t at : {fragment_ends[k] + 20, fragment_ends[k] + (next_end - fragment_ends[k]) / 2, next_end - 7}) {
      writeFile(cut, bytes, at);
      report = verifyPlayable(cut);
      EXPECT_GE(report.frames_decoded, complete_frames) << "cut at byte " << at << " of " << bytes.size();
      EXPECT_FALSE(report.ok) << "a cut inside a fragment is reported";
      EXPECT_LE(report.frames_decoded, complete_frames + kGop);
    }
  }
  // Inside the first fragment: what is there plays, and the cut is said, not crashed on.
  writeFile(cut, bytes, fragment_ends[0] / 2);
  auto report = verifyPlayable(cut);
  EXPECT_FALSE(report.ok);
  EXPECT_TRUE(report.truncated);
  EXPECT_LT(report.frames_decoded, kGop);
  EXPECT_NE(report.error.find("cut short"), std::string::npos) << report.error;
  // Inside the moov: nothing to play.
  writeFile(cut, bytes, 100);
  report = verifyPlayable(cut);
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.frames_decoded, 0);
  EXPECT_NE(report.error.find(cut), std::string::npos) << report.error;
}

TEST(Mp4WriterTest, BFramesKeepTheirOrderAndDecode) {
  // Default x264 settings use B-frames: pts differs from dts.
  testing::initGstreamer();
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(
      "videotestsrc num-buffers=40 ! video/x-raw,format=I420,width=320,height=240,framerate=25/1 ! "
      "x264enc key-int-max=20 bframes=2 speed-preset=ultrafast ! h264parse config-interval=-1 ! "
      "video/x-h264,stream-format=byte-stream,alignment=au ! appsink name=sink sync=false",
      &error);
  ASSERT_NE(pipeline, nullptr);
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  std::vector<EncodedUnit> units;
  bool reordered = false;
  while (GstSample* sample = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 20 * GST_SECOND)) {
    GstBuffer* buffer = gst_sample_get_buffer(sample);
    GstMapInfo map;
    ASSERT_TRUE(gst_buffer_map(buffer, &map, GST_MAP_READ));
    EncodedUnit u;
    u.data.assign(map.data, map.data + map.size);
    u.keyframe = !GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT);
    u.pts_ns = static_cast<int64_t>(GST_BUFFER_PTS(buffer));
    u.dts_ns = static_cast<int64_t>(GST_BUFFER_DTS(buffer));
    reordered = reordered || u.pts_ns != u.dts_ns;
    units.push_back(std::move(u));
    gst_buffer_unmap(buffer, &map);
    gst_sample_unref(sample);
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
  ASSERT_EQ(units.size(), 40u);
  ASSERT_TRUE(reordered) << "the encoder produced no B-frames";
  TempDir dir;
  const std::string path = (dir.path() / "bframes.mp4").string();
  const auto summary = writeClip(path, VideoCodec::kH264, units);
  EXPECT_EQ(summary.timestamp_fixes, 0u);
  const auto report = verifyPlayable(path);
  EXPECT_TRUE(report.ok) << report.error;
  EXPECT_EQ(report.frames_decoded, 40);
}

// A gateway restart or camera clock jump makes dts go back; the file must
// still be written (not refused by the muxer) and decode.
TEST(Mp4WriterTest, DecodeTimeGoingBackIsRepairedAndCounted) {
  const auto units = encodeUnits(VideoCodec::kH264, 20, kGop);
  ASSERT_EQ(units.size(), 20u);
  TempDir dir;
  const std::string path = (dir.path() / "jump.mp4").string();
  Mp4Writer writer;
  ASSERT_TRUE(writer.open(path, VideoCodec::kH264, 320, 240).ok());
  for (size_t i = 0; i < units.size(); ++i) {
    // The second GOP restarts its timeline at 0, as after a gateway restart.
    const int64_t shift = i >= 10 ? units[10].dts_ns : 0;
    auto written = writer.write(units[i].data, units[i].pts_ns - shift, units[i].dts_ns - shift, units[i].keyframe);
    ASSERT_TRUE(written.ok()) << written.error().message;
  }
  auto summary = writer.close();
  ASSERT_TRUE(summary.ok()) << summary.error().message;
  EXPECT_EQ(summary->timestamp_fixes, 1u);
  EXPECT_NEAR(summary->duration_s, 0.8, 0.05);
  const auto report = verifyPlayable(path);
  EXPECT_TRUE(report.ok) << report.error;
  EXPECT_EQ(report.frames_decoded, 20);
}

TEST(Mp4WriterTest, MissingDirectoryIsAClearError) {
  TempDir dir;
  const std::string path = (dir.path() / "no-such-dir" / "clip.mp4").string();
  Mp4Writer writer;
  auto opened = writer.open(path, VideoCodec::kH264, 320, 240);
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.error().message.find(path), std::string::npos) << opened.error().message;
  EXPECT_NE(opened.error().message.find("does not exist"), std::string::npos) << opened.error().message;
  EXPECT_FALSE(writer.isOpen());
}

TEST(Mp4WriterTest, PermissionDeniedIsAClearError) {
  TempDir dir;
  std::string path;
  if (geteuid() == 0) {
    // Root ignores file modes; sysfs refuses new files even to root.
    if (!std::filesystem::is_directory("/sys/kernel")) GTEST_SKIP() << "running as root without /sys";
    path = "/sys/kernel/vcgate-test.mp4";
  } else {
    const auto locked = dir.path() / "locked";
    std::filesystem::create_directory(locked);
    ::chmod(locked.c_str(), 0500);
    path = (locked / "clip.mp4").string();
  }
  Mp4Writer writer;
  auto opened = writer.open(path, VideoCodec::kH264, 320, 240);
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.error().message.find(path), std::string::npos) << opened.error().message;
  EXPECT_NE(opened.error().message.find("permission denied"), std::string::npos) << opened.error().message;
}

// /dev/full accepts the open and fails every write with ENOSPC, like a full disk.
TEST(Mp4WriterTest, DiskFullIsAClearErrorAndSticks) {
  if (!std::filesystem::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  const auto units = encodeUnits(VideoCodec::kH264, 30, kGop);
  ASSERT_EQ(units.size(), 30u);
  Mp4Writer writer;
  ASSERT_TRUE(writer.open("/dev/full", VideoCodec::kH264, 320, 240).ok());
  std::string first_error;
  for (const auto& u : units) {
    auto written = writer.write(u.data, u.pts_ns, u.dts_ns, u.keyframe);
    if (!written.ok() && first_error.empty()) first_error = written.error().message;
  }
  auto closed = writer.close();
  ASSERT_FALSE(closed.ok());
  if (first_error.empty()) first_error = closed.error().message;
  EXPECT_NE(first_error.find("/dev/full"), std::string::npos) << first_error;
  EXPECT_NE(first_error.find("disk is full"), std::string::npos) << first_error;
  EXPECT_FALSE(writer.isOpen());
}

TEST(Mp4WriterTest, NoKeyframeMeansNoFileAndSaysWhy) {
  const auto units = encodeUnits(VideoCodec::kH264, 10, kGop);
  ASSERT_EQ(units.size(), 10u);
  TempDir dir;
  const std::string path = (dir.path() / "never.mp4").string();
  Mp4Writer writer;
  ASSERT_TRUE(writer.open(path, VideoCodec::kH264, 320, 240).ok());
  for (size_t i = 1; i < units.size(); ++i)
    ASSERT_TRUE(writer.write(units[i].data, units[i].pts_ns, units[i].dts_ns, units[i].keyframe).ok());
  EXPECT_EQ(writer.leadingDropped(), 9u);
  auto closed = writer.close();
  ASSERT_FALSE(closed.ok());
  EXPECT_NE(closed.error().message.find("no keyframe"), std::string::npos) << closed.error().message;
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(Mp4WriterTest, VerifyPlayableSaysWhatIsWrongWithJunk) {
  TempDir dir;
  const std::string junk = dir.write("junk.mp4", std::string(4096, 'x'));
  auto report = verifyPlayable(junk);
  EXPECT_FALSE(report.ok);
  EXPECT_NE(report.error.find(junk), std::string::npos) << report.error;
  report = verifyPlayable((dir.path() / "absent.mp4").string());
  EXPECT_FALSE(report.ok);
  EXPECT_NE(report.error.find("absent.mp4"), std::string::npos) << report.error;
}

}  // namespace
}  // namespace vcgate::evidence
