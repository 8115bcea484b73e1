// The boxes of a fragmented MP4 that the Mp4Writer writes itself (ISO/IEC
// 14496-12 §8.8): one movie fragment's moof plus its mdat header, and the
// movie fragment random access index (mfra) at the end of the file.
//
// Why by hand: libavformat's mov muxer copies every byte of a fragment twice
// in user space (into a growing in-memory mdat, then into its I/O buffer).
// With the boxes built here, the writer hands the units' own bytes to the
// kernel with one writev per fragment. libavformat still writes the file
// header (ftyp + moov with the avcC/hvcC sample entry), which is where the
// codec knowledge lies.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace vcgate::evidence {

// One sample (access unit) of a fragment, in the track's time scale.
struct FragmentSample {
  uint32_t size = 0;                // bytes in the mdat: length-prefixed NAL units
  uint32_t duration = 0;            // next sample's decode time minus this one's
  int32_t composition_offset = 0;   // presentation minus decode time
  bool keyframe = false;            // a sync sample (decodes on its own)
};

// moof (mfhd, traf with tfhd, tfdt, trun) followed by the header of the mdat
// that holds the samples' bytes, in order, right after it. The trun's data
// offset points at the first sample byte relative to the moof (the tfhd says
// default-base-is-moof), so the fragment does not depend on where it lands
// in the file. sequence_number starts at 1 and grows by one per fragment.
std::vector<uint8_t> fragmentHeader(uint32_t sequence_number, uint32_t track_id, uint64_t base_decode_time,
                                    std::span<const FragmentSample> samples);

// Where a fragment starts, for the random access index.
struct FragmentIndexEntry {
  uint64_t decode_time = 0;  // the fragment's tfdt
  uint64_t moof_offset = 0;  // file offset of its moof
};

// mfra (tfra for the track, mfro): lets a player seek without reading every
// moof. Every fragment starts with a keyframe, so each is one entry.
std::vector<uint8_t> fragmentIndex(uint32_t track_id, std::span<const FragmentIndexEntry> fragments);

}  // namespace vcgate::evidence
