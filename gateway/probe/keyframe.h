// Keyframe pictures for the technician: decode one keyframe with libavcodec
// and encode it as a JPEG with libavcodec's MJPEG encoder. Used by
// `vcgatectl snapshot` (a keyframe from the bus) and by the probe (does the
// first keyframe decode?).
//
// No GStreamer and no swscale: the decoder's 8-bit planar YUV (4:2:0, 4:2:2,
// 4:4:4, limited or full range) is stretched to full range in place, which
// is all a JPEG needs. Other pixel formats (10-bit) are refused with a
// sentence that says so.
//
// Pure functions, any thread; each call builds and frees its own codecs.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "gateway/core/result.h"
#include "gateway/core/synthetic_spec.h"

namespace vcgate::probe {

struct DecodedKeyframe {
  int width = 0;
  int height = 0;
  std::string pixel_format;  // libavutil's name: "yuv420p", "yuvj420p", ...
  std::string profile;       // "High", "Main", ... or empty when the decoder did not say
  int level = 0;             // as coded in the SPS (H.264: 31 = 3.1; H.265: 93 = 3.1), 0 when unknown
};

struct JpegImage {
  std::vector<uint8_t> data;
  int width = 0;
  int height = 0;
};

// Decodes one access unit (Annex-B, with its parameter sets in front, as the
// bus carries a keyframe) and reports what the decoder saw.
core::Result<DecodedKeyframe> decodeKeyframe(core::VideoCodec codec, std::span<const uint8_t> annexb);

// Decodes one keyframe access unit and encodes it as a JPEG. `quality` is the
// MJPEG quantiser, 2 (best, largest) to 31 (worst, smallest).
core::Result<JpegImage> keyframeToJpeg(core::VideoCodec codec, std::span<const uint8_t> annexb, int quality = 3);

}  // namespace vcgate::probe
