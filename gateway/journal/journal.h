// Journal: the gateway's append-only on-disk log of alarm events. An event is
// appended (and, by default, fsynced) BEFORE it is announced on the bus, so
// that a power cut or a SIGKILL after the announcement cannot lose it. The
// platform's acknowledgements are appended too; what is not acknowledged is
// the backlog that is re-sent after an uplink outage or a restart, in order,
// until it is acknowledged or expires.
//
// On disk: segment files journal-000001.log, journal-000002.log, ... in one
// directory, rotated by size, each a header and checksummed records (the byte
// layout is in journal_format.h and docs/evidence-and-journal.md). Segments
// whose events are all acknowledged or expired are deleted from the oldest
// on, so the disk use stays bounded by max_age and max_backlog.
//
// Sequence numbers: every event gets the next number, 1, 2, 3, ... with no
// gaps, never reused while the journal directory exists (compaction keeps the
// newest segment, whose header carries the counter). Acks and expiries take no
// number. With the fsync policy `never` or `interval_ms`, a power cut can
// lose the newest events, and their numbers are then given again to new
// events: de-duplicate on the platform by alarm id and event, not by seq alone.
//
// Recovery (open): every segment is read and checked. A record cut short at
// the end of the newest segment (the write a crash interrupted) is cut off the
// file and reported; damage anywhere else is reported with file and byte
// offset and skipped, scanning on to the next record marker, so that records
// after the damage are kept. A damaged ack makes its event come back as
// unacknowledged: it is re-sent, never lost. Open never crashes on bad bytes.
//
// Thread rule: one owner thread calls every method of an instance (the
// daemon's alarm/bus thread). There is no locking inside. A second Journal on
// the same directory, in this process or another, is refused (flock on
// journal.lock) so two writers can never interleave records.
//
// Errors are Result values with a sentence naming the file and what to do. A
// failed append (disk full, read-only file system, I/O error) leaves the
// files exactly as they were before it: the partial record is cut off again.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/core/clock.h"
#include "gateway/core/result.h"
#include "gateway/journal/journal_format.h"

namespace vcgate::journal {

// When the journal calls fdatasync(). Alarms are rare, so the default is the
// safe one: every append, ack and expiry is on stable storage when the call
// returns (a few milliseconds on eMMC/SD cards; see docs/benchmarks.md).
enum class FsyncMode {
  kAlways,    // after every record
  kInterval,  // after a record if the last sync is `interval` or longer ago; syncIfDue() catches the rest
  kNever,     // leave it to the kernel's writeback (about 30 s); survives SIGKILL, not power loss
};

struct FsyncPolicy {
  FsyncMode mode = FsyncMode::kAlways;
  std::chrono::milliseconds interval{0};  // kInterval only

  static FsyncPolicy always() { return {}; }
  static FsyncPolicy every(std::chrono::milliseconds interval) { return {FsyncMode::kInterval, interval}; }
  static FsyncPolicy never() { return {FsyncMode::kNever, {}}; }
  // "always", "never", "interval_ms N" (also "interval_ms=N" and "interval_ms:N"), N >= 1.
  static core::Result<FsyncPolicy> parse(std::string_view text);
  // The form parse() reads back: "always", "interval_ms 200", "never".
  std::string describe() const;
};

struct JournalOptions {
  // A segment is closed and a new one started when the next record would
  // make it larger than this (a single larger record still fits in an empty
  // one). Each new segment reserves its full size on disk at creation
  // (fallocate), and events leave its last eighth to acks and expiries: on a
  // full disk, events fail but acknowledgements still get written, so the
  // backlog can drain and compaction can free whole segments.
  uint64_t segment_bytes = 4 << 20;
  FsyncPolicy fsync;
  // expire() drops unacknowledged events older than this (0 = no age limit).
  // Only when both the event's time and `now` are after 2020-01-01: a box
  // without a real-time clock starts in 1970, and must not expire everything
  // the moment NTP sets the clock.
  std::chrono::seconds max_age{std::chrono::hours(24 * 7)};
  // At most this many unacknowledged events are kept; append() and expire()
  // drop the oldest beyond it (0 = no limit).
  size_t max_backlog = 100'000;
  // Source of the records' wall-clock time and of the fsync interval; nullptr = the system clock.
  const core::Clock* clock = nullptr;
};

// A stretch of a segment that recovery could not read.
struct CorruptRange {
  std::string file;     // full path
  uint64_t offset = 0;  // byte offset in the file where the damage starts
  uint64_t length = 0;  // bytes skipped (0 for a missing segment)
  std::string reason;   // "record checksum mismatch", "segment missing", ...
};

// What open() found. summary() is one line for the log; corrupt ranges are
// listed by the caller (each is one log line a technician can act on).
struct RecoveryReport {
  std::string dir;
  size_t segments = 0;
  uint64_t records = 0;        // valid records read
  uint64_t events = 0;         // of which events
  uint64_t acks = 0;           // events acknowledged by an ack record
  uint64_t expired = 0;        // events dropped by an expire record
  uint64_t unknown_acks = 0;   // ack/expire targets that matched no event (their record was damaged)
  // A record cut short at the end of the newest segment, removed from the file.
  uint64_t torn_bytes = 0;
  std::string torn_file;
  uint64_t torn_offset = 0;    // where the file ends now
  std::string torn_reason;
  std::vector<CorruptRange> corrupt;
  size_t backlog = 0;          // unacknowledged events after recovery
  uint64_t next_seq = 1;
  std::chrono::microseconds took{0};

  bool clean() const { return torn_bytes == 0 && corrupt.empty(); }
  std::string summary() const;
};

// One unacknowledged event.
struct PendingEvent {
  uint64_t seq = 0;
  std::string payload;     // as given to append(): the event JSON
  int64_t appended_us = 0; // wall clock when appended, µs since the Unix epoch
  uint32_t attempts = 0;   // recordAttempt() calls since open (not persisted: restarts count from 0)
};

struct JournalStats {
  size_t segments = 0;
  uint64_t disk_bytes = 0;       // all segment files
  size_t backlog = 0;
  uint64_t next_seq = 1;
  uint64_t appended = 0;         // since open
  uint64_t acknowledged = 0;
  uint64_t unknown_acks = 0;     // acknowledge() of a seq not in the backlog (already acked, expired, never)
  uint64_t expired = 0;
  uint64_t segments_deleted = 0; // by compaction
  uint64_t fsyncs = 0;
  uint64_t write_errors = 0;
  std::string last_error;        // the last failed write, empty if none
};

class Journal {
 public:
  // Creates `dir` if needed, takes its lock, recovers every segment (see the
  // top of this file) and opens the newest for appending. Fails only when the
  // directory cannot be used at all (permission, read-only, locked by
  // another process, unreadable segment): never because of damaged records.
  static core::Result<std::unique_ptr<Journal>> open(const std::string& dir, JournalOptions options = {});
  ~Journal();  // syncs (unless `never`) and closes
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  const RecoveryReport& recovery() const { return recovery_; }
  const std::string& dir() const { return dir_; }
  const JournalOptions& options() const { return options_; }

  // Appends one event (payload: the event's JSON, bus::encodeAlarmEvent) and
  // returns its seq once it is written and, per the fsync policy, synced.
  // On error nothing of it is stored and the backlog is unchanged.
  core::Result<uint64_t> append(std::string_view payload);

  // Marks an event delivered (persisted as an ack record). True if it was in
  // the backlog; false, with nothing written, for a seq that is not (already
  // acknowledged, expired, never appended): counted in stats().unknown_acks.
  core::Result<bool> acknowledge(uint64_t seq);
  // Several at once, as one record: returns how many were in the backlog
  // (the others are ignored and counted as above).
  core::Result<size_t> acknowledge(std::span<const uint64_t> seqs);

  // Drops backlog entries older than max_age and the oldest beyond
  // max_backlog, writing expire records; returns how many. `now_us`: wall
  // clock, µs since the Unix epoch. Call it from a timer (once a minute).
  core::Result<size_t> expire(int64_t now_us);

  // The backlog in seq order (oldest first), at most `limit` entries.
  std::vector<PendingEvent> unacknowledged(size_t limit = std::numeric_limits<size_t>::max()) const;
  size_t backlogSize() const { return backlog_.size(); }
  bool pending(uint64_t seq) const { return backlog_.count(seq) != 0; }
  // Counts one more send of a backlog entry (for the resender's backoff); false if not pending.
  bool recordAttempt(uint64_t seq);

  // fdatasync now, whatever the policy (before a planned shutdown).
  core::Result<void> sync();
  // kInterval: syncs if something written is unsynced and the interval has
  // passed. Call from a timer at about the interval. No-op for other policies.
  core::Result<void> syncIfDue();

  // Deletes the oldest segments while every event in them is acknowledged or
  // expired (never the newest segment). Runs by itself after acknowledge()
  // and expire(); returns how many segments were deleted.
  core::Result<size_t> compact();

  JournalStats stats() const;

 private:
  struct Segment {
    uint64_t number = 0;
    std::string path;
    uint64_t bytes = 0;        // valid length: appends go here
    uint64_t first_seq = 0;
    uint64_t open_events = 0;  // events in this segment still in the backlog
  };
  struct Entry {
    PendingEvent event;
    uint64_t segment = 0;
  };

  Journal(std::string dir, JournalOptions options);
  core::Result<void> recover();
  core::Result<void> scanSegment(Segment& segment, bool newest);
  void applyTargets(RecordType type, std::span<const uint8_t> payload, const std::string& file, uint64_t offset);
  core::Result<void> createSegment(uint64_t number);
  core::Result<void> openActive();
  core::Result<void> writeRecord(RecordType type, uint8_t flags, uint64_t seq, int64_t time_us,
                                 std::span<const uint8_t> payload);
  core::Result<void> syncActive();
  core::Result<void> syncDir();
  void preallocate();
  core::Result<void> writeTargets(RecordType type, uint8_t flags, std::span<const uint64_t> seqs);
  core::Result<size_t> dropEntries(std::vector<uint64_t> seqs, ExpireReason reason);
  core::Result<size_t> trimBacklog();
  void resolve(std::map<uint64_t, Entry>::iterator it);
  Segment* segmentByNumber(uint64_t number);
  core::Error fail(core::Error error);

  std::string dir_;
  JournalOptions options_;
  const core::Clock& clock_;
  int lock_fd_ = -1;
  int active_fd_ = -1;
  std::deque<Segment> segments_;  // oldest first; back() is the active one
  std::map<uint64_t, Entry> backlog_;
  uint64_t next_seq_ = 1;
  uint64_t floor_seq_ = 1;        // events below this were compacted away: acks for them are expected, not unknown
  bool unsynced_ = false;
  bool rotate_next_ = false;     // the newest segment's header is damaged: start a new one before appending
  core::TimePoint last_sync_{};
  std::string scratch_;           // the record being written, reused
  RecoveryReport recovery_;
  JournalStats stats_;
};

}  // namespace vcgate::journal
