// Checks on what ingest produced, for tests: which NAL units an Annex-B access
// unit holds, and whether a sequence of access units decodes with libavcodec
// (the same decoder a platform would use). One test thread per instance.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gateway/core/synthetic_spec.h"

namespace vcgate::testing {

// NAL unit types in an Annex-B buffer, in order.
std::vector<int> nalTypes(const std::vector<uint8_t>& annexb, core::VideoCodec codec);
// True if the unit carries SPS and PPS (and VPS for H.265) and an IDR/IRAP slice.
bool hasParameterSetsAndKeyframe(const std::vector<uint8_t>& annexb, core::VideoCodec codec);

class Decoder {
 public:
  explicit Decoder(core::VideoCodec codec);
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // Feeds one access unit; false when the decoder reported an error for it.
  bool decode(const std::vector<uint8_t>& annexb);
  // Drains delayed frames.
  void flush();
  int framesDecoded() const { return frames_; }
  int errors() const { return errors_; }
  int width() const { return width_; }
  int height() const { return height_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int frames_ = 0;
  int errors_ = 0;
  int width_ = 0;
  int height_ = 0;
};

}  // namespace vcgate::testing
