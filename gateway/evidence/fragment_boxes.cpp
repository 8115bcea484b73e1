#include "gateway/evidence/fragment_boxes.h"

#include <cstddef>
#include <limits>

namespace vcgate::evidence {
namespace {

// sample_flags (§8.8.3.1): a keyframe depends on nothing; any other sample
// depends on others and is not a sync sample. The values libavformat writes.
constexpr uint32_t kKeyframeFlags = 0x02000000;
constexpr uint32_t kDependentFlags = 0x01010000;

// tfhd: the data offsets count from this moof, not from the file start.
constexpr uint32_t kDefaultBaseIsMoof = 0x020000;
// trun: which per-sample fields follow.
constexpr uint32_t kDataOffsetPresent = 0x000001;
constexpr uint32_t kSampleDurationPresent = 0x000100;
constexpr uint32_t kSampleSizePresent = 0x000200;
constexpr uint32_t kSampleFlagsPresent = 0x000400;
constexpr uint32_t kCompositionOffsetPresent = 0x000800;

// Big-endian box writer. A box's size is filled in when it is closed.
class BoxWriter {
 public:
  explicit BoxWriter(std::vector<uint8_t>& out) : out_(out) {}

  size_t open(const char (&type)[5]) {
    const size_t at = out_.size();
    u32(0);
    out_.insert(out_.end(), type, type + 4);
    return at;
  }
  size_t openFull(const char (&type)[5], uint8_t version, uint32_t flags) {
    const size_t at = open(type);
    u32(uint32_t{version} << 24 | (flags & 0xffffff));
    return at;
  }
  void close(size_t at) {
    const auto size = static_cast<uint32_t>(out_.size() - at);
    for (int i = 0; i < 4; ++i) out_[at + static_cast<size_t>(i)] = static_cast<uint8_t>(size >> (24 - 8 * i));
  }
  void u8(uint8_t v) { out_.push_back(v); }
  void u32(uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) out_.push_back(static_cast<uint8_t>(v >> shift));
  }
  void u64(uint64_t v) {
    u32(static_cast<uint32_t>(v >> 32));
    u32(static_cast<uint32_t>(v));
  }

 private:
  std::vector<uint8_t>& out_;
};

}  // namespace

std::vector<uint8_t> fragmentHeader(uint32_t sequence_number, uint32_t track_id, uint64_t base_decode_time,
                                    std::span<const FragmentSample> samples) {
  uint64_t payload = 0;
  for (const auto& s : samples) payload += s.size;
  // A 32-bit mdat size holds up to 4 GiB less its header; a larger one (not
  // a GOP any camera sends) takes the 64-bit form.
  const bool large = payload > std::numeric_limits<uint32_t>::max() - 8;

  std::vector<uint8_t> out;
  out.reserve(100 + samples.size() * 16);
  BoxWriter w(out);
  const size_t moof = w.open("moof");
  const size_t mfhd = w.openFull("mfhd", 0, 0);
  w.u32(sequence_number);
  w.close(mfhd);
  const size_t traf = w.open("traf");
  const size_t tfhd = w.openFull("tfhd", 0, kDefaultBaseIsMoof);
  w.u32(track_id);
  w.close(tfhd);
  const size_t tfdt = w.openFull("tfdt", 1, 0);
  w.u64(base_decode_time);
  w.close(tfdt);
  // Version 1: composition offsets are signed.
  const size_t trun = w.openFull("trun", 1,
                                 kDataOffsetPresent | kSampleDurationPresent | kSampleSizePresent |
                                     kSampleFlagsPresent | kCompositionOffsetPresent);
  w.u32(static_cast<uint32_t>(samples.size()));
  const size_t data_offset_at = out.size();
  w.u32(0);  // filled in below, once the moof's size is known
  for (const auto& s : samples) {
    w.u32(s.duration);
    w.u32(s.size);
    w.u32(s.keyframe ? kKeyframeFlags : kDependentFlags);
    w.u32(static_cast<uint32_t>(s.composition_offset));
  }
  w.close(trun);
  w.close(traf);
  w.close(moof);

  const size_t mdat_header = large ? 16 : 8;
  const auto data_offset = static_cast<uint32_t>(out.size() + mdat_header);
  for (int i = 0; i < 4; ++i)
    out[data_offset_at + static_cast<size_t>(i)] = static_cast<uint8_t>(data_offset >> (24 - 8 * i));

  if (large) {
    w.u32(1);  // the size follows the type, in 64 bits
    out.insert(out.end(), {'m', 'd', 'a', 't'});
    w.u64(payload + 16);
  } else {
    w.u32(static_cast<uint32_t>(payload + 8));
    out.insert(out.end(), {'m', 'd', 'a', 't'});
  }
  return out;
}

std::vector<uint8_t> fragmentIndex(uint32_t track_id, std::span<const FragmentIndexEntry> fragments) {
  std::vector<uint8_t> out;
  out.reserve(64 + fragments.size() * 19);
  BoxWriter w(out);
  const size_t mfra = w.open("mfra");
  const size_t tfra = w.openFull("tfra", 1, 0);  // version 1: 64-bit time and offset
  w.u32(track_id);
  w.u32(0);  // traf, trun and sample numbers take one byte each
  w.u32(static_cast<uint32_t>(fragments.size()));
  for (const auto& f : fragments) {
    w.u64(f.decode_time);
    w.u64(f.moof_offset);
    w.u8(1);  // traf_number: the first (only) traf
    w.u8(1);  // trun_number
    w.u8(1);  // sample_number: the fragment's first sample, its keyframe
  }
  w.close(tfra);
  const size_t mfro = w.openFull("mfro", 0, 0);
  w.u32(static_cast<uint32_t>(out.size() - mfra + 4));  // the whole mfra, mfro included
  w.close(mfro);
  w.close(mfra);
  return out;
}

}  // namespace vcgate::evidence
