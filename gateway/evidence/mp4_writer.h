// Mp4Writer: access units as the camera coded them (Annex-B H.264 or H.265)
// into an MP4 file, without decoding or re-encoding.
//
// The file is a fragmented MP4 (moov first with no samples, then one
// moof+mdat per GOP, written as soon as the next keyframe arrives, then an
// mfra index at close), so a file cut by a kill or a power loss still plays
// up to its last complete fragment. libavformat writes the file header (it
// knows how to build the avcC/hvcC sample entry); the fragments are built
// here (fragment_boxes.h) and written with one writev each, straight from the
// units' buffers, because libavformat's muxer copies every byte twice.
//
// The codec parameters come from the parameter sets in front of the first
// keyframe (SPS/PPS, and VPS for H.265); units before that keyframe cannot be
// decoded and are dropped and counted. Timestamps are the camera's own
// (dts_ns/pts_ns), rebased so that the file starts at 0, on a 1/90000 time
// base. A decode timestamp that does not increase (a gateway restart, a
// camera clock jump) is moved just after the previous one and counted, so
// the muxer never refuses the stream.
//
// Thread rule: one thread uses an instance. Different instances may run on
// different threads. No exception is thrown; failures are Result errors that
// name the file and say why (missing directory, permission, disk full).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "gateway/core/result.h"
#include "gateway/core/synthetic_spec.h"

namespace vcgate::evidence {

struct Mp4Summary {
  std::string path;
  uint64_t frames = 0;            // access units in the file
  uint64_t keyframes = 0;
  uint64_t fragments = 0;         // moof+mdat pairs in the file (one per GOP)
  uint64_t leading_dropped = 0;   // units dropped before the first keyframe with parameter sets
  uint64_t timestamp_fixes = 0;   // units whose dts/pts had to be moved to keep them increasing
  uint64_t bytes = 0;             // access-unit bytes written
  double duration_s = 0;
};

class Mp4Writer {
 public:
  Mp4Writer();
  ~Mp4Writer();  // closes an open file (its result is lost: call close() to see it)
  Mp4Writer(const Mp4Writer&) = delete;
  Mp4Writer& operator=(const Mp4Writer&) = delete;

  // Creates the file now, so that a missing directory or a permission problem
  // shows at once. width/height 0 = read them from the SPS.
  core::Result<void> open(const std::string& path, core::VideoCodec codec, int width = 0, int height = 0);
  // One access unit. Units before the first keyframe are dropped (counted, not
  // an error). After a write error every later call returns that error.
  // A keyframe writes the fragment gathered since the previous one. With an
  // `owner` that keeps `unit`'s bytes alive and unchanged, the writer holds a
  // reference until the unit's fragment is written instead of copying them;
  // without one, it copies.
  core::Result<void> write(std::span<const uint8_t> unit, int64_t pts_ns, int64_t dts_ns, bool keyframe,
                           std::shared_ptr<const void> owner = nullptr);
  // Writes what is pending and closes the file. A file that never received a
  // keyframe is removed and the result is an error saying so.
  core::Result<Mp4Summary> close();

  bool isOpen() const;
  bool started() const;  // the first keyframe has been written
  uint64_t framesWritten() const;     // units accepted (the last GOP's are in the file after close())
  uint64_t fragmentsWritten() const;  // fragments in the file: a change means a GOP has landed
  uint64_t leadingDropped() const;
  const std::string& path() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// What verifyPlayable() found when it decoded a file.
struct PlayableReport {
  bool ok = false;                 // opened, video found, every packet decoded without error
  int packets = 0;                 // video packets read from the file
  int frames_decoded = 0;          // pictures the decoder returned intact
  int decode_errors = 0;           // packets or pictures the decoder rejected
  bool starts_with_keyframe = false;
  bool truncated = false;          // the file ended inside a fragment (a cut file)
  double duration_s = 0;
  std::string codec;               // "h264", "hevc"
  int width = 0;
  int height = 0;
  std::string error;               // why it is not ok, a sentence; empty when ok
};

// Opens `path` with libavformat and decodes every video frame with libavcodec,
// with err_recognition=explode so that damage is reported, not concealed.
PlayableReport verifyPlayable(const std::string& path);

// libav* prints warnings to stderr by default; tools that report problems
// themselves call this once at start (process-wide) to keep only fatal ones.
void quietLibavLogs();

}  // namespace vcgate::evidence
