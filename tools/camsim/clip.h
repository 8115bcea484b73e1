// Clip: a camera's video, encoded (or demuxed) once at start-up and kept in
// memory as a list of H.264/H.265 byte-stream access units, so that serving it
// costs no encoding: every served frame is a GstBuffer wrapping a slice of the
// clip's bytes.
//
// Threads: encodeSynthetic() and loadFile() block while a GStreamer pipeline
// runs; call them from the main thread at start-up. A built Clip is immutable
// except for prepareCorrupt(), which only the main thread calls; wrapUnit() may
// be called from any thread (the feeder thread does).
#pragma once

#include <gst/gst.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "gateway/core/result.h"
#include "gateway/core/synthetic_spec.h"

namespace vcgate::camsim {

// One access unit (one frame) of a clip.
struct AccessUnit {
  gsize offset = 0;             // into the clip's bytes
  gsize size = 0;
  bool keyframe = false;        // IDR (or IRAP for H.265); parameter sets precede it
  GstClockTime duration = 0;    // always > 0: paces the feeder
  GstClockTime pts_delay = 0;   // PTS - DTS: non-zero only for files with B-frames
};

class Clip {
 public:
  // Takes ownership of `bytes`.
  Clip(std::string source, core::VideoCodec codec, GBytes* bytes, std::vector<AccessUnit> units, int gop);
  ~Clip();
  Clip(const Clip&) = delete;
  Clip& operator=(const Clip&) = delete;

  const std::string& source() const { return source_; }  // for log lines
  core::VideoCodec codec() const { return codec_; }
  const std::vector<AccessUnit>& units() const { return units_; }
  // Frames between keyframes when known (synthetic clips); 0 for files.
  int gop() const { return gop_; }
  GstClockTime duration() const;
  gsize totalBytes() const;

  // A buffer over unit `index` without copying: it holds a reference on the
  // clip's bytes (not on the Clip), so it may outlive the Clip. With
  // `corrupt`, the bytes come from the garbled twin if prepareCorrupt() ran.
  GstBuffer* wrapUnit(size_t index, bool corrupt) const;

  // Builds, once, a twin of the clip whose slice data is garbage (see
  // garbleSlices). Built lazily because few runs ever need it and it doubles
  // the clip's memory.
  void prepareCorrupt();

 private:
  std::string source_;
  core::VideoCodec codec_;
  GBytes* bytes_;
  std::vector<AccessUnit> units_;
  int gop_;
  std::atomic<GBytes*> corrupt_{nullptr};
};

// Overwrites, in place, the payload of every slice (VCL) NAL unit of an
// Annex B byte stream with pseudo-random non-zero bytes. Start codes, NAL
// headers, the first slice-header byte (so parsers still find frame
// boundaries) and parameter sets stay intact, so the stream keeps its shape
// and rate but no longer decodes. Non-zero bytes cannot form a start code.
void garbleSlices(std::span<std::uint8_t> stream, core::VideoCodec codec, std::uint32_t seed);

// Whether videotestsrc knows the pattern; the error lists the known ones.
core::Result<void> checkPattern(const std::string& pattern);

// Encodes the spec's test pattern for `clip_seconds` rounded up to whole GOPs.
core::Result<std::shared_ptr<Clip>> encodeSynthetic(const core::SyntheticSpec& spec, double clip_seconds);

// Demuxes the first H.264/H.265 video stream of a file (MP4, MKV, MPEG-TS, raw
// Annex B) into access units, starting at its first keyframe.
core::Result<std::shared_ptr<Clip>> loadFile(const std::string& path);

}  // namespace vcgate::camsim
