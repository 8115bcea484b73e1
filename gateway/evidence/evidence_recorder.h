// EvidenceRecorder: one MP4 per (alarm, camera), written from exactly the
// units the publisher publishes with that alarm's tag, without transcoding.
//
// Feeding: the publisher calls onUnit() for every unit it publishes, with
// the alarms that cover it (the tag). A clip opens at the first unit tagged
// with an alarm (from the keyframe of that unit's GOP, so it decodes from
// its first frame: normally that is the pre-roll keyframe the publisher
// starts with) and closes when
//   - a unit of that camera arrives without the alarm's tag,
//   - closeAlarm(id) says the alarm's post-roll has ended (later units still
//     tagged with it are ignored and counted),
//   - the camera sent nothing for `idle_close`, or
//   - stop() / the destructor.
// Overlapping alarms on one camera each get their own file from the same units.
//
// Files: clip_store.h has the layout
// (<dir>/<YYYY-MM-DD>/<alarm-id>/<camera>.mp4 plus a small .json). Clips are
// fragmented MP4 (one fragment per GOP) and, with `sync_fragments`, each
// fragment is fdatasync'ed once complete: a SIGKILL or power cut leaves a
// file that plays up to its last complete GOP. On start the directory is
// scanned to rebuild the index, and clips a crash left open are repaired
// (a half-written last fragment cut off), checked with verifyPlayable,
// marked "interrupted" and reported.
//
// Parts: a second file for the same alarm and camera (<camera>.2.mp4, ...)
// is started only when one cannot continue: after a write error (see below),
// when the camera changes codec or size, or when the alarm's tag comes back
// after it had gone.
//
// Retention: the clips' bytes are kept under `quota_bytes` and, if set, the
// file system keeps `min_free_bytes` free. When over, whole clips are
// deleted: first those of acknowledged alarms, oldest first, then the
// others, oldest first. A clip being recorded is never deleted. Checked at
// start, after each fragment and when a clip closes.
//
// Disk full: a write error (file and reason) is counted and logged; the
// recorder prunes the oldest clips (at least `prune_on_error_bytes`) and
// retries once in a new part that starts from the last keyframes it still
// holds. If that fails too, the clip skips units for 10 s, then tries again
// at a keyframe. The caller is never blocked or stopped.
//
// Snapshots: requestSnapshot() at an alarm's raise asks, for each covered
// camera, for a JPEG of the first decodable frame at the raise: the newest
// keyframe captured at or before the raise among the units the recorder is
// given (the publisher replays the pre-alarm buffer when the alarm opens),
// else the first keyframe after it. The worker picks the keyframe; a second
// thread decodes it (gateway/probe) and writes <camera>.jpg beside the
// alarm's clips, so neither the worker nor the caller waits for a decoder.
// Snapshots count against the quota and are deleted with the last clip of
// their alarm and camera; a snapshot left without any clip of its alarm and
// camera (writing that clip failed) is deleted on its own, in the same order
// as clips, by its capture time. A camera that sends no keyframe within 30 s of the
// raise gets a failed snapshot.
//
// Threads: the recorder owns one worker thread that does all the clip file
// work, and one snapshot thread that decodes and writes JPEGs.
//   onUnit()                    the publishing thread(s): takes a short mutex, never waits for the disk.
//                               When the queue is full the unit is dropped, and that camera's units
//                               until its next keyframe (counted in stats and in the clip).
//   closeAlarm(), setAcknowledged(), requestSnapshot(), listClips(), readChunk(), snapshot(),
//   readSnapshot(), stats(), flush()
//                               any thread. closeAlarm/setAcknowledged are queued behind the units
//                               already given, so they apply in order.
//   stop()                      any thread but the worker; idempotent; also run by the destructor.
// No exception leaves the recorder.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "gateway/alarm/alarm.h"
#include "gateway/core/clock.h"
#include "gateway/core/result.h"
#include "gateway/evidence/clip_store.h"
#include "gateway/evidence/unit_queue.h"
#include "gateway/media/access_unit.h"

namespace vcgate::evidence {

class Mp4Writer;

struct RecorderOptions {
  std::string dir = "/var/lib/vcgate/evidence";  // storage.evidence_dir
  uint64_t quota_bytes = uint64_t{2} << 30;      // evidence.quota_bytes: all clips together; 0 = no quota
  uint64_t min_free_bytes = 0;                   // evidence.min_free_bytes: keep this much free on the file system; 0 = off
  size_t queue_units = 1000;                     // units waiting for the worker, all cameras (40 s of one camera at 25 fps)
  uint64_t queue_bytes = uint64_t{64} << 20;     // and their bytes
  bool sync_fragments = true;                    // fdatasync each clip after every complete fragment (GOP)
  std::chrono::seconds idle_close{60};           // close a clip whose camera sent nothing for this long
  uint64_t prune_on_error_bytes = uint64_t{64} << 20;  // freed at least, by deleting old clips, after a write error
  const core::Clock* clock = nullptr;            // nullptr = the system clock (idle_close, retry delay)
};

struct ClipFilter {
  std::optional<alarm::AlarmId> alarm;
  std::optional<std::string> camera;
  int64_t from_us = 0;                 // clips that end at or after this capture time
  int64_t to_us = INT64_MAX;           // and start at or before this one
  bool include_recording = true;
};

// A piece of a clip file for a chunked, resumable fetch: ask again from
// offset + bytes.size() until `eof`. The bytes before a recording clip's
// current end never change, so a fetch can also begin while it records.
struct Chunk {
  uint64_t offset = 0;
  std::vector<uint8_t> bytes;
  uint64_t file_bytes = 0;  // the file's size when this chunk was read
  bool complete = false;    // the clip is closed: the file will not grow
  bool eof = false;         // complete and this chunk reaches its end
  ClipState state = ClipState::kRecording;
  std::string sha256;       // of the whole file once complete; empty while it grows
};

enum class SnapshotState { kPending, kReady, kFailed };
std::string_view snapshotStateName(SnapshotState state);

struct SnapshotInfo {
  std::string id;            // snapshotId(alarm, camera): "<alarm-hex>/<camera>.jpg"
  std::string path;          // absolute, once written
  alarm::AlarmId alarm;
  std::string camera;
  SnapshotState state = SnapshotState::kPending;
  int width = 0;
  int height = 0;
  uint64_t bytes = 0;
  int64_t captured_us = 0;   // capture time of the frame (after a restart: the file's modification time)
  std::string error;         // why it failed
};

struct SnapshotFile {
  SnapshotInfo info;
  std::vector<uint8_t> jpeg;
};

struct RecorderStats {
  uint64_t units_queued = 0;        // accepted by onUnit()
  uint64_t units_dropped_queue = 0; // dropped because the queue was full (then until a keyframe)
  uint64_t units_written = 0;       // unit writes into clips (a unit in two clips counts twice)
  uint64_t units_dropped_error = 0; // not written because their clip was failing
  uint64_t units_after_close = 0;   // tagged with an alarm already closed by closeAlarm()
  uint64_t units_bad_camera = 0;    // camera id not usable as a file name
  size_t queue_depth = 0;
  size_t clips = 0;                 // in the index
  size_t clips_recording = 0;
  uint64_t bytes = 0;               // all clips
  uint64_t clips_pruned = 0;        // deleted by retention
  uint64_t bytes_pruned = 0;
  uint64_t snapshots_pruned = 0;    // deleted by retention on their own (no clip of theirs was left)
  bool over_quota = false;          // retention could not get under the limits (only recording clips left)
  uint64_t write_errors = 0;
  std::string last_error;
};

// What start() found in the evidence directory.
struct StartReport {
  size_t clips = 0;
  uint64_t bytes = 0;
  std::vector<ClipInfo> interrupted;   // left open by a crash: checked, repaired, kept
  std::vector<std::string> problems;
  size_t pruned = 0;                   // deleted at start to get under the quota
};

class EvidenceRecorder {
 public:
  // Creates the directory if needed, scans it (see the top of this file),
  // applies retention, starts the worker. Fails only if the directory cannot
  // be created or is not a directory.
  static core::Result<std::unique_ptr<EvidenceRecorder>> start(RecorderOptions options);
  ~EvidenceRecorder();
  EvidenceRecorder(const EvidenceRecorder&) = delete;
  EvidenceRecorder& operator=(const EvidenceRecorder&) = delete;

  // Publishing thread: one published unit of `camera` and the alarms that
  // cover it (empty = none: closes that camera's clips).
  void onUnit(const std::string& camera, const media::AccessUnitPtr& unit, std::span<const CoveringAlarm> alarms);

  // The alarm's post-roll has ended: close its clips on every camera.
  void closeAlarm(const alarm::AlarmId& id);
  // The alarm was acknowledged: its clips (recorded and future) are pruned
  // before those of unacknowledged alarms. Persisted in the clips' metadata.
  void setAcknowledged(const alarm::AlarmId& id);

  // At an alarm's raise (any thread, never waits): a snapshot of each camera
  // (see the top of this file). Its id is snapshotId(id, camera) at once; it
  // is pending until written.
  void requestSnapshot(const alarm::AlarmId& id, const std::vector<std::string>& cameras, int64_t raised_us);

  // Waits until the worker has handled everything given before this call
  // (tests, and the daemon before it reports a clip). Returns at once after stop().
  void flush();
  // Handles what is queued, closes every open clip, stops the worker. Later
  // onUnit() calls are ignored.
  void stop();

  std::vector<ClipInfo> listClips(const ClipFilter& filter = {}) const;
  // Up to `max_bytes` (at most 4 MiB) of the clip `clip_id` (ClipInfo::id)
  // from `offset`. Errors: unknown or pruned clip (code "unknown_clip"),
  // offset beyond the end ("bad_offset"), unreadable file.
  core::Result<Chunk> readChunk(const std::string& clip_id, uint64_t offset, size_t max_bytes) const;

  // A snapshot by its id; nullopt when none was requested (or it was pruned).
  std::optional<SnapshotInfo> snapshot(const std::string& id) const;
  // The JPEG of a ready snapshot. Errors: "unknown_snapshot", "not_ready"
  // (still being taken), "not_available" (it failed: the message says why).
  core::Result<SnapshotFile> readSnapshot(const std::string& id) const;
  // Waits until the snapshot thread has written what it was given (tests).
  void flushSnapshots();

  RecorderStats stats() const;
  const StartReport& startReport() const { return start_report_; }
  const RecorderOptions& options() const { return options_; }

 private:
  struct OpenClip;
  struct CameraState;
  struct PendingShot;
  struct ShotJob;

  explicit EvidenceRecorder(RecorderOptions options);
  void run();
  void handle(RecorderTask& task);
  void handleUnit(const RecorderTask& task);
  void writeUnit(OpenClip& clip, const media::AccessUnitPtr& unit, bool retrying = false);
  core::Result<void> openPart(OpenClip& clip, const media::AccessUnit& first);
  void afterFragment(OpenClip& clip);
  void handleWriteError(OpenClip& clip, const core::Error& error, const media::AccessUnitPtr& unit, bool retrying);
  void finishPart(OpenClip& clip, ClipState state, std::string note = {});
  void closeClipsOf(CameraState& camera, const std::function<bool(const alarm::AlarmId&)>& which);
  void closeAll();
  void closeIdle();
  void enforceRetention(uint64_t must_free = 0);
  void publish(const ClipInfo& info);  // index update under the mutex
  void noteError(const std::string& message);
  int nextPart(const alarm::AlarmId& alarm, const std::string& camera) const;
  void startSnapshot(const RecorderTask& task);
  void offerShots(const std::string& camera_id, CameraState& camera, const media::AccessUnitPtr& unit);
  void takeShot(const std::string& camera_id, const PendingShot& shot, const media::AccessUnitPtr& unit);
  void expireShots();
  void failShot(const std::string& id, const std::string& why);
  void runSnapshots();
  void writeShot(const ShotJob& job);
  void scanSnapshots();
  void removeSnapshotOf(const alarm::AlarmId& alarm, const std::string& camera);

  RecorderOptions options_;
  const core::Clock& clock_;
  UnitQueue queue_;
  StartReport start_report_;
  std::thread worker_;
  std::atomic<bool> stopped_{false};
  std::mutex stop_mutex_;

  // Worker thread only.
  std::map<std::string, std::unique_ptr<CameraState>> cameras_;
  std::set<alarm::AlarmId> closed_alarms_;
  std::deque<alarm::AlarmId> closed_order_;   // bounds closed_alarms_
  std::set<alarm::AlarmId> acknowledged_;
  std::deque<alarm::AlarmId> acknowledged_order_;

  // Shared: the index and the counters, under index_mutex_.
  mutable std::mutex index_mutex_;
  std::map<std::string, ClipInfo> index_;     // by ClipInfo::id
  std::map<std::string, SnapshotInfo> snapshots_;  // by SnapshotInfo::id; their bytes are in index_bytes_
  uint64_t index_bytes_ = 0;
  RecorderStats stats_;

  // flush(): the worker reports the newest flush token it has reached.
  std::mutex flush_mutex_;
  std::condition_variable flushed_;
  uint64_t flush_requested_ = 0;
  uint64_t flush_done_ = 0;

  // The snapshot thread's jobs.
  std::mutex shot_mutex_;
  std::condition_variable shot_wake_;
  std::condition_variable shot_idle_;
  std::deque<std::unique_ptr<ShotJob>> shot_jobs_;
  bool shot_busy_ = false;
  bool shot_stop_ = false;
  std::thread shot_thread_;
};

}  // namespace vcgate::evidence
