// fragment_boxes: the moof/mdat header and the mfra index the Mp4Writer
// writes by hand, read back field by field as ISO/IEC 14496-12 lays them out.
// (That real demuxers read them is mp4_writer_test's job.)
#include "gateway/evidence/fragment_boxes.h"

#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace vcgate::evidence {
namespace {

uint32_t u32(const std::vector<uint8_t>& b, size_t at) {
  return uint32_t{b[at]} << 24 | uint32_t{b[at + 1]} << 16 | uint32_t{b[at + 2]} << 8 | b[at + 3];
}
uint64_t u64(const std::vector<uint8_t>& b, size_t at) { return uint64_t{u32(b, at)} << 32 | u32(b, at + 4); }
std::string type(const std::vector<uint8_t>& b, size_t at) {
  return std::string(reinterpret_cast<const char*>(&b[at + 4]), 4);
}

TEST(FragmentBoxes, MoofDescribesEverySampleAndPointsAtTheMdatPayload) {
  const std::vector<FragmentSample> samples = {
      {.size = 5000, .duration = 3600, .composition_offset = 7200, .keyframe = true},
      {.size = 700, .duration = 3600, .composition_offset = -3600, .keyframe = false},
      {.size = 650, .duration = 3601, .composition_offset = 0, .keyframe = false},
  };
  const auto b = fragmentHeader(7, 1, 123456789012ULL, samples);

  ASSERT_EQ(type(b, 0), "moof");
  const uint32_t moof_size = u32(b, 0);
  ASSERT_EQ(b.size(), moof_size + 8u) << "the moof, then the mdat header alone";
  // moof: mfhd, traf
  size_t at = 8;
  ASSERT_EQ(type(b, at), "mfhd");
  EXPECT_EQ(u32(b, at + 12), 7u) << "sequence number";
  at += u32(b, at);
  ASSERT_EQ(type(b, at), "traf");
  EXPECT_EQ(at + u32(b, at), moof_size) << "traf is the moof's last box";
  at += 8;
  ASSERT_EQ(type(b, at), "tfhd");
  EXPECT_EQ(u32(b, at + 8), 0x020000u) << "version 0, default-base-is-moof";
  EXPECT_EQ(u32(b, at + 12), 1u) << "track id";
  at += u32(b, at);
  ASSERT_EQ(type(b, at), "tfdt");
  EXPECT_EQ(b[at + 8], 1) << "version 1: 64-bit time";
  EXPECT_EQ(u64(b, at + 12), 123456789012ULL);
  at += u32(b, at);
  ASSERT_EQ(type(b, at), "trun");
  EXPECT_EQ(u32(b, at), 12u + 8 + 3 * 16) << "header, count, data offset, four fields per sample";
  EXPECT_EQ(b[at + 8], 1) << "version 1: signed composition offsets";
  EXPECT_EQ(u32(b, at + 8) & 0xffffff, 0x000f01u) << "data offset, duration, size, flags, composition offset";
  EXPECT_EQ(u32(b, at + 12), 3u);
  EXPECT_EQ(u32(b, at + 16), moof_size + 8) << "data offset: the first sample byte, counted from the moof";
  size_t s = at + 20;
  for (const auto& expected : samples) {
    EXPECT_EQ(u32(b, s), expected.duration);
    EXPECT_EQ(u32(b, s + 4), expected.size);
    EXPECT_EQ(u32(b, s + 8), expected.keyframe ? 0x02000000u : 0x01010000u) << "sync sample or dependent";
    EXPECT_EQ(static_cast<int32_t>(u32(b, s + 12)), expected.composition_offset);
    s += 16;
  }
  // mdat header: the samples' bytes follow it.
  ASSERT_EQ(type(b, moof_size), "mdat");
  EXPECT_EQ(u32(b, moof_size), 8u + 5000 + 700 + 650);
}

TEST(FragmentBoxes, MdatOver4GiBTakesTheLargeSize) {
  const std::vector<FragmentSample> samples = {{.size = 0xF0000000u, .duration = 3600, .keyframe = true},
                                               {.size = 0x20000000u, .duration = 3600}};
  const auto b = fragmentHeader(1, 1, 0, samples);
  const uint32_t moof_size = u32(b, 0);
  ASSERT_EQ(b.size(), moof_size + 16u);
  EXPECT_EQ(u32(b, moof_size), 1u) << "size 1: a 64-bit size follows the type";
  EXPECT_EQ(type(b, moof_size), "mdat");
  EXPECT_EQ(u64(b, moof_size + 8), 16ULL + 0xF0000000u + 0x20000000u);
  // trun's data offset skips the longer mdat header.
  const size_t trun = moof_size - (12 + 8 + 2 * 16);
  ASSERT_EQ(type(b, trun), "trun");
  EXPECT_EQ(u32(b, trun + 16), moof_size + 16);
}

TEST(FragmentBoxes, IndexListsEveryFragmentAndEndsWithItsOwnSize) {
  const std::vector<FragmentIndexEntry> fragments = {{0, 1200}, {180000, 2501200}, {360000, 5001300}};
  const auto b = fragmentIndex(1, fragments);
  ASSERT_EQ(type(b, 0), "mfra");
  ASSERT_EQ(u32(b, 0), b.size());
  size_t at = 8;
  ASSERT_EQ(type(b, at), "tfra");
  EXPECT_EQ(b[at + 8], 1) << "version 1: 64-bit time and offset";
  EXPECT_EQ(u32(b, at + 12), 1u) << "track id";
  EXPECT_EQ(u32(b, at + 16), 0u) << "one byte each for traf, trun and sample numbers";
  ASSERT_EQ(u32(b, at + 20), 3u);
  size_t e = at + 24;
  for (const auto& f : fragments) {
    EXPECT_EQ(u64(b, e), f.decode_time);
    EXPECT_EQ(u64(b, e + 8), f.moof_offset);
    EXPECT_EQ(b[e + 16], 1);
    EXPECT_EQ(b[e + 17], 1);
    EXPECT_EQ(b[e + 18], 1);
    e += 19;
  }
  at += u32(b, at);
  ASSERT_EQ(type(b, at), "mfro");
  EXPECT_EQ(at + 16, b.size()) << "mfro is the last box, so a reader finds it from the end of the file";
  EXPECT_EQ(u32(b, at + 12), b.size());
}

}  // namespace
}  // namespace vcgate::evidence
