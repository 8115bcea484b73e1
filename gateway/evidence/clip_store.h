// The evidence directory on disk: where a clip's files go, the small JSON
// file next to each clip that keeps what the MP4 cannot say (alarm, capture
// times, state, acknowledged), the scan that rebuilds the index after a
// restart, and the repair of a clip cut short by a crash.
//
//   <evidence_dir>/<YYYY-MM-DD>/<alarm-id>/<camera>.mp4     the clip (part 1)
//   <evidence_dir>/<YYYY-MM-DD>/<alarm-id>/<camera>.json    its metadata
//   <evidence_dir>/<YYYY-MM-DD>/<alarm-id>/<camera>.2.mp4   part 2, rare (see evidence_recorder.h)
// The date is the UTC day of the clip's first frame; <alarm-id> is the
// alarm's 32 hex digits; camera ids are [A-Za-z0-9_-] (config rule), so the
// dot before the part number is unambiguous.
//
// Pure file functions, no state: the recorder calls them from its worker
// thread (and from start()). Tests call them directly.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gateway/alarm/alarm.h"
#include "gateway/core/result.h"
#include "gateway/core/synthetic_spec.h"

namespace vcgate::evidence {

enum class ClipState {
  kRecording,    // being written now
  kComplete,     // closed normally (tag gone, closeAlarm, idle camera, shutdown)
  kInterrupted,  // found open after a crash or power loss; checked and kept
  kFailed,       // writing stopped on an error (disk full, I/O); the frames before it play
};
std::string_view clipStateName(ClipState state);
std::optional<ClipState> clipStateFromName(std::string_view name);

struct ClipInfo {
  std::string id;          // path relative to the evidence directory: the clip's stable name for fetching
  std::string path;        // absolute
  alarm::AlarmId alarm;
  std::string camera;
  int part = 1;            // 1, or 2, 3, ... when the same alarm and camera needed another file
  int level = 3;           // the most urgent level the alarm had while recording
  core::VideoCodec codec = core::VideoCodec::kH264;
  uint64_t bytes = 0;      // size of the MP4 file
  int64_t start_us = 0;    // capture time of the first frame, µs since the Unix epoch
  int64_t end_us = 0;      // capture time of the last frame written so far
  uint64_t frames = 0;
  uint64_t dropped_units = 0;  // units that did not reach the file (queue full, write error)
  ClipState state = ClipState::kRecording;
  bool acknowledged = false;   // the alarm was acknowledged: its clips are pruned before others
  std::string note;            // why interrupted or failed, what recovery found; empty when complete
  std::string sha256;          // of the whole file once it is closed (64 hex digits); empty while recording
};

// "2025-11-29/<alarm-hex>/hall-a-1.mp4" (part 1) or ".../hall-a-1.2.mp4".
std::string clipRelativePath(int64_t start_us, const alarm::AlarmId& alarm, const std::string& camera, int part);
// The metadata file of a clip: the same path with .json instead of .mp4.
std::string sidecarPath(const std::string& clip_path);
bool validCameraId(const std::string& camera);

// Writes the metadata file next to the clip (write to .tmp, rename), fsyncing
// it first when `durable`.
core::Result<void> writeSidecar(const ClipInfo& clip, bool durable);
// Reads it back; nullopt and `why` when missing or unreadable.
std::optional<ClipInfo> readSidecar(const std::string& clip_path, std::string* why);

// Cuts an MP4 file back to the end of its last complete fragment (or other
// top-level box): what a kill left half-written cannot be decoded and would
// make the file look damaged. Returns the number of bytes removed.
core::Result<uint64_t> trimToCompleteBoxes(const std::string& path);

// What a scan of the evidence directory found.
struct ScanResult {
  std::vector<ClipInfo> clips;          // every clip, repaired and reported where needed
  std::vector<ClipInfo> interrupted;    // the ones a crash had left open (also in clips)
  std::vector<std::string> problems;    // one sentence each: unreadable metadata, stray files removed, ...
};
// Walks <dir>/<date>/<alarm>/, reads each clip's metadata; a clip whose
// metadata says "recording" (or has none) was left open by a crash: it is
// trimmed, checked with verifyPlayable, marked interrupted and its metadata
// rewritten. A closed clip whose metadata has no checksum (written by an
// older version, or repaired just now) gets it. Files that are not clips
// are left alone.
ScanResult scanEvidenceDir(const std::string& dir);

// True for a well-formed clip id ("YYYY-MM-DD/<32 hex>/<camera>[.N].mp4"):
// what a fetch may name. Anything else (absolute paths, "..", other files)
// is refused before the index is even asked.
bool validClipId(const std::string& id);

// Snapshots: one JPEG per (alarm, camera), taken at the raise, stored as
// <camera>.jpg beside that alarm's clips. The id is known at the raise,
// before the file exists: "<alarm-hex>/<camera>.jpg".
std::string snapshotId(const alarm::AlarmId& alarm, const std::string& camera);
// Width and height from a JPEG's start-of-frame marker; nullopt if none.
std::optional<std::pair<int, int>> jpegSize(const std::vector<uint8_t>& jpeg);

}  // namespace vcgate::evidence
