#include "gateway/journal/journal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

namespace vcgate::journal {
namespace {

namespace fs = std::filesystem;

// 2020-01-01T00:00:00Z: a wall clock before this has not been set yet.
constexpr int64_t kSaneWallClockUs = 1'577'836'800'000'000;
constexpr std::string_view kLockName = "journal.lock";

std::string segmentName(uint64_t number) { return fmt::format("journal-{:06}.log", number); }

std::optional<uint64_t> segmentNumber(std::string_view name) {
  constexpr std::string_view kPrefix = "journal-", kSuffix = ".log";
  if (name.size() < kPrefix.size() + 6 + kSuffix.size() || !name.starts_with(kPrefix) || !name.ends_with(kSuffix))
    return std::nullopt;
  const std::string_view digits = name.substr(kPrefix.size(), name.size() - kPrefix.size() - kSuffix.size());
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  uint64_t number = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
  if (ec != std::errc() || end != digits.data() + digits.size() || number == 0) return std::nullopt;
  return number;
}

// Why a file operation failed, in words a technician can act on.
std::string reasonText(int err, const std::string& dir) {
  switch (err) {
    case ENOSPC:
      return "the disk is full (no space left on device)";
    case EDQUOT:
      return "the disk quota of this user is exhausted";
    case EACCES:
    case EPERM:
      return fmt::format("permission denied (check the owner and mode of {}: the gateway's user must be able to "
                         "write there)",
                         dir);
    case EROFS:
      return "the file system is read-only";
    case EIO:
      return "input/output error (the storage may be failing)";
    case ENOENT:
      return "it does not exist";
    case EFBIG:
      return "it is larger than any journal segment can be (1 GiB): it is not a journal file, move it away";
    default:
      return std::strerror(err);
  }
}

core::Error fileError(std::string_view doing, const std::string& path, int err, const std::string& dir,
                      std::string_view tail = {}) {
  return core::makeError(fmt::format("cannot {} {}: {}{}", doing, path, reasonText(err, dir), tail));
}

// 0 or the errno of the failure; partial writes are continued.
int writeAll(int fd, const void* data, size_t size, uint64_t offset) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (size > 0) {
    const ssize_t n = ::pwrite(fd, p, size, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return EIO;
    p += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return 0;
}

int readAll(const std::string& path, std::vector<uint8_t>& out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return err;
  }
  // No segment is ever this large: refuse rather than try to hold it in memory.
  if (st.st_size > (off_t{1} << 30)) {
    ::close(fd);
    return EFBIG;
  }
  out.resize(static_cast<size_t>(st.st_size));
  size_t have = 0;
  while (have < out.size()) {
    const ssize_t n = ::read(fd, out.data() + have, out.size() - have);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return err;
    }
    if (n == 0) break;  // the file shrank under us: use what is there
    have += static_cast<size_t>(n);
  }
  out.resize(have);
  ::close(fd);
  return 0;
}

int syncFd(int fd) {
  while (::fdatasync(fd) != 0) {
    if (errno != EINTR) return errno;
  }
  return 0;
}

// The first offset after `from` where a valid record starts, or npos.
size_t findNextRecord(std::span<const uint8_t> bytes, size_t from) {
  for (size_t at = from; at + kRecordHeaderSize <= bytes.size(); ++at) {
    const void* hit = std::memchr(bytes.data() + at, kRecordMagic[0], bytes.size() - at);
    if (!hit) return std::string::npos;
    at = static_cast<size_t>(static_cast<const uint8_t*>(hit) - bytes.data());
    if (parseRecord(bytes.subspan(at), nullptr)) return at;
  }
  return std::string::npos;
}

}  // namespace

// ---- FsyncPolicy ----

core::Result<FsyncPolicy> FsyncPolicy::parse(std::string_view text) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
  };
  const std::string_view t = trim(text);
  if (t == "always") return always();
  if (t == "never") return never();
  constexpr std::string_view kInterval = "interval_ms";
  if (t.starts_with(kInterval)) {
    std::string_view rest = t.substr(kInterval.size());
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == '=' || rest.front() == ':' || rest.front() == '\t'))
      rest.remove_prefix(1);
    int64_t ms = 0;
    const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), ms);
    if (!rest.empty() && ec == std::errc() && end == rest.data() + rest.size() && ms >= 1 && ms <= 3'600'000)
      return every(std::chrono::milliseconds(ms));
    return core::makeError(fmt::format(
        "journal fsync policy \"{}\": interval_ms needs a number of milliseconds from 1 to 3600000, for example "
        "\"interval_ms 200\"",
        t));
  }
  return core::makeError(
      fmt::format("journal fsync policy \"{}\" is not one of: always, interval_ms N, never", t));
}

std::string FsyncPolicy::describe() const {
  switch (mode) {
    case FsyncMode::kAlways:
      return "always";
    case FsyncMode::kInterval:
      return fmt::format("interval_ms {}", interval.count());
    case FsyncMode::kNever:
      return "never";
  }
  return "always";
}

std::string RecoveryReport::summary() const {
  std::string s = fmt::format(
      "journal {}: {} segment(s), {} record(s), {} event(s) ({} acknowledged, {} expired), backlog {}, next seq {}",
      dir, segments, records, events, acks, expired, backlog, next_seq);
  if (unknown_acks) s += fmt::format(", {} ack(s) of unknown events", unknown_acks);
  if (torn_bytes)
    s += fmt::format(", {} torn byte(s) cut off the end of {} at byte {} ({})", torn_bytes, torn_file, torn_offset,
                     torn_reason);
  if (!corrupt.empty()) s += fmt::format(", {} damaged range(s) skipped", corrupt.size());
  s += fmt::format(", recovered in {} ms", took.count() / 1000);
  return s;
}

// ---- Journal ----

Journal::Journal(std::string dir, JournalOptions options)
    : dir_(std::move(dir)),
      options_(options),
      clock_(options.clock ? *options.clock : core::SystemClock::instance()) {}

Journal::~Journal() {
  if (active_fd_ >= 0) {
    if (options_.fsync.mode != FsyncMode::kNever && unsynced_) syncFd(active_fd_);
    ::close(active_fd_);
  }
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

core::Result<std::unique_ptr<Journal>> Journal::open(const std::string& dir, JournalOptions options) {
  if (options.segment_bytes < kSegmentHeaderSize + kRecordHeaderSize)
    return core::makeError(fmt::format("journal segment size {} is too small", options.segment_bytes));
  std::unique_ptr<Journal> journal(new Journal(dir, options));
  if (auto recovered = journal->recover(); !recovered) return recovered.error();
  return journal;
}

core::Error Journal::fail(core::Error error) {
  ++stats_.write_errors;
  stats_.last_error = error.message;
  return error;
}

Journal::Segment* Journal::segmentByNumber(uint64_t number) {
  for (auto& s : segments_)
    if (s.number == number) return &s;
  return nullptr;
}

core::Result<void> Journal::recover() {
  const auto started = std::chrono::steady_clock::now();
  recovery_.dir = dir_;
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) return fileError("create the journal directory", dir_, ec.value(), fs::path(dir_).parent_path().string());

  const std::string lock_path = (fs::path(dir_) / kLockName).string();
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (lock_fd_ < 0) return fileError("open", lock_path, errno, dir_);
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK)
      return core::makeError(fmt::format(
          "the journal in {} is in use by another process ({} is locked): stop the other vcgated first", dir_,
          lock_path));
    return fileError("lock", lock_path, errno, dir_);
  }

  std::vector<uint64_t> numbers;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    if (auto n = segmentNumber(it->path().filename().string())) numbers.push_back(*n);
  }
  if (ec) return fileError("list", dir_, ec.value(), dir_);
  std::sort(numbers.begin(), numbers.end());

  for (size_t i = 0; i < numbers.size(); ++i) {
    if (i > 0 && numbers[i] != numbers[i - 1] + 1) {
      const uint64_t first = numbers[i - 1] + 1, last = numbers[i] - 1;
      recovery_.corrupt.push_back(
          {(fs::path(dir_) / segmentName(first)).string(), 0, 0,
           first == last ? "segment missing: the events in it are lost"
                         : fmt::format("segments {} to {} missing: the events in them are lost", segmentName(first),
                                       segmentName(last))});
    }
    Segment segment;
    segment.number = numbers[i];
    segment.path = (fs::path(dir_) / segmentName(numbers[i])).string();
    segments_.push_back(std::move(segment));
    if (auto scanned = scanSegment(segments_.back(), i + 1 == numbers.size()); !scanned) return scanned;
  }
  recovery_.segments = segments_.size();

  if (segments_.empty()) {
    if (auto created = createSegment(1); !created) return created;
  } else if (auto opened = openActive(); !opened) {
    return opened;
  }
  if (options_.max_backlog && backlog_.size() > options_.max_backlog) {
    if (auto trimmed = trimBacklog(); !trimmed) return trimmed.error();
  }
  recovery_.backlog = backlog_.size();
  recovery_.next_seq = next_seq_;
  recovery_.took =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
  last_sync_ = clock_.now();
  return {};
}

core::Result<void> Journal::scanSegment(Segment& segment, bool newest) {
  std::vector<uint8_t> bytes;
  if (const int err = readAll(segment.path, bytes))
    return fileError("read the journal segment", segment.path, err, dir_);
  const std::span<const uint8_t> all(bytes);

  std::string why;
  const auto header = parseSegmentHeader(all, &why);
  if (header) {
    segment.first_seq = header->first_seq;
    next_seq_ = std::max(next_seq_, header->first_seq);
    if (header->number != segment.number)
      recovery_.corrupt.push_back({segment.path, 16, 8,
                                   fmt::format("the segment header names segment {}, the file name {}",
                                               header->number, segment.number)});
  } else if (newest && findNextRecord(all, kSegmentHeaderSize) == std::string::npos) {
    // The newest segment with no readable header and no record: its creation
    // was interrupted. openActive() writes the header again.
    if (!bytes.empty()) {
      recovery_.torn_bytes = bytes.size();
      recovery_.torn_file = segment.path;
      recovery_.torn_offset = 0;
      recovery_.torn_reason = why;
    }
    segment.bytes = 0;
    return {};
  } else {
    recovery_.corrupt.push_back(
        {segment.path, 0, std::min<uint64_t>(bytes.size(), kSegmentHeaderSize), why});
    if (newest) rotate_next_ = true;  // do not keep appending behind a damaged header
  }
  if (segments_.size() == 1) floor_seq_ = segment.first_seq ? segment.first_seq : 1;

  size_t at = kSegmentHeaderSize;
  size_t valid_end = std::min(bytes.size(), kSegmentHeaderSize);
  while (at < bytes.size()) {
    auto record = parseRecord(all.subspan(at), &why);
    if (!record) {
      const size_t next = findNextRecord(all, at + 1);
      if (next == std::string::npos) {
        if (newest) {
          // A write the crash interrupted (or blocks the kernel never wrote):
          // nothing valid follows, so it is the tail, cut off in openActive().
          recovery_.torn_bytes = bytes.size() - at;
          recovery_.torn_file = segment.path;
          recovery_.torn_offset = at;
          recovery_.torn_reason = why;
        } else {
          recovery_.corrupt.push_back({segment.path, at, bytes.size() - at, why});
        }
        break;
      }
      recovery_.corrupt.push_back({segment.path, at, next - at, why});
      at = next;
      continue;
    }
    ++recovery_.records;
    switch (record->type) {
      case RecordType::kEvent:
        if (record->seq < next_seq_ || record->seq == 0) {
          recovery_.corrupt.push_back(
              {segment.path, at, record->size,
               fmt::format("event seq {} is not after the previous one ({}): skipped", record->seq, next_seq_ - 1)});
          break;
        }
        ++recovery_.events;
        if (segment.first_seq == 0) segment.first_seq = record->seq;
        backlog_.emplace(record->seq,
                         Entry{PendingEvent{record->seq,
                                            std::string(reinterpret_cast<const char*>(record->payload.data()),
                                                        record->payload.size()),
                                            record->time_us, 0},
                               segment.number});
        ++segment.open_events;
        next_seq_ = record->seq + 1;
        break;
      case RecordType::kAck:
      case RecordType::kExpire:
        if (record->seq >= next_seq_) next_seq_ = record->seq + 1;
        applyTargets(record->type, record->payload, segment.path, at);
        break;
    }
    at += record->size;
    valid_end = at;
  }
  segment.bytes = valid_end;
  return {};
}

void Journal::applyTargets(RecordType type, std::span<const uint8_t> payload, const std::string& file,
                           uint64_t offset) {
  const auto seqs = parseSeqList(payload);
  if (!seqs) {
    recovery_.corrupt.push_back({file, offset, kRecordHeaderSize + payload.size(),
                                 "ack/expire record with a payload that is not a list of seqs"});
    return;
  }
  for (const uint64_t seq : *seqs) {
    auto it = backlog_.find(seq);
    if (it == backlog_.end()) {
      // Below the floor the event was compacted away with its segment: expected.
      if (seq >= floor_seq_) ++recovery_.unknown_acks;
      continue;
    }
    resolve(it);
    if (type == RecordType::kAck) ++recovery_.acks;
    else ++recovery_.expired;
  }
}

core::Result<void> Journal::openActive() {
  Segment& active = segments_.back();
  active_fd_ = ::open(active.path.c_str(), O_RDWR | O_CLOEXEC);
  if (active_fd_ < 0) return fileError("open the journal segment", active.path, errno, dir_);
  struct stat st {};
  if (::fstat(active_fd_, &st) != 0) return fileError("read the size of", active.path, errno, dir_);
  if (active.bytes < kSegmentHeaderSize) {
    // Creation was interrupted: write the header as createSegment() would have.
    const auto header = encodeSegmentHeader({active.number, next_seq_});
    if (::ftruncate(active_fd_, 0) != 0) return fileError("repair", active.path, errno, dir_);
    if (const int err = writeAll(active_fd_, header.data(), header.size(), 0))
      return fileError("repair the header of", active.path, err, dir_);
    active.first_seq = next_seq_;
    active.bytes = kSegmentHeaderSize;
    if (segments_.size() == 1) floor_seq_ = next_seq_;
    if (const int err = syncFd(active_fd_)) return fileError("sync", active.path, err, dir_);
  } else if (static_cast<uint64_t>(st.st_size) != active.bytes) {
    // Cut the torn tail off, so that appends continue right after the last
    // valid record and the damage is not reported again on the next start.
    if (::ftruncate(active_fd_, static_cast<off_t>(active.bytes)) != 0)
      return fileError("cut the torn end off", active.path, errno, dir_);
    if (const int err = syncFd(active_fd_)) return fileError("sync", active.path, err, dir_);
  }
  preallocate();  // best effort: the reservation may be gone after a crash or a copy
  return {};
}

core::Result<void> Journal::createSegment(uint64_t number) {
  const std::string path = (fs::path(dir_) / segmentName(number)).string();
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd < 0) return fail(fileError("create the journal segment", path, errno, dir_));
  // Reserve the whole segment now (without changing the file size), so that
  // a disk filling up later cannot refuse the records that fit in it; a
  // segment that cannot be reserved is not started. File systems without
  // fallocate just go without the reservation.
  int err = 0;
  if (::fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, static_cast<off_t>(options_.segment_bytes)) != 0 &&
      errno != EOPNOTSUPP && errno != ENOSYS)
    err = errno;
  const auto header = encodeSegmentHeader({number, next_seq_});
  if (!err) err = writeAll(fd, header.data(), header.size(), 0);
  if (!err && options_.fsync.mode != FsyncMode::kNever) err = syncFd(fd);
  if (err) {
    ::close(fd);
    ::unlink(path.c_str());
    return fail(fileError("create the journal segment", path, err, dir_,
                          "; the records already in the journal are intact"));
  }
  // The new file's name must survive a power cut too, or its records would
  // be on disk but unreachable.
  if (options_.fsync.mode != FsyncMode::kNever) {
    if (auto synced = syncDir(); !synced) {
      ::close(fd);
      ::unlink(path.c_str());
      return synced;
    }
  }
  if (active_fd_ >= 0) ::close(active_fd_);
  active_fd_ = fd;
  unsynced_ = false;
  Segment segment;
  segment.number = number;
  segment.path = path;
  segment.bytes = kSegmentHeaderSize;
  segment.first_seq = next_seq_;
  if (segments_.empty()) floor_seq_ = next_seq_;
  segments_.push_back(std::move(segment));
  rotate_next_ = false;
  return {};
}

core::Result<void> Journal::syncActive() {
  if (!unsynced_ || active_fd_ < 0) return {};
  if (const int err = syncFd(active_fd_))
    return fail(fileError("sync", segments_.back().path, err, dir_, " (the last record may not be on disk)"));
  ++stats_.fsyncs;
  unsynced_ = false;
  last_sync_ = clock_.now();
  return {};
}

core::Result<void> Journal::syncDir() {
  const int fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fail(fileError("open the journal directory", dir_, errno, dir_));
  const int err = syncFd(fd);
  ::close(fd);
  if (err) return fail(fileError("sync the journal directory", dir_, err, dir_));
  return {};
}

void Journal::preallocate() {
  if (active_fd_ >= 0 && segments_.back().bytes < options_.segment_bytes)
    (void)::fallocate(active_fd_, FALLOC_FL_KEEP_SIZE, 0, static_cast<off_t>(options_.segment_bytes));
}

core::Result<void> Journal::writeRecord(RecordType type, uint8_t flags, uint64_t seq, int64_t time_us,
                                        std::span<const uint8_t> payload) {
  scratch_.clear();
  encodeRecord(type, flags, seq, time_us, payload, scratch_);
  Segment* active = &segments_.back();
  const bool has_records = active->bytes > kSegmentHeaderSize;
  // Events leave the last eighth of a segment to acks and expiries.
  const uint64_t reserve = type == RecordType::kEvent ? options_.segment_bytes / 8 : 0;
  if (rotate_next_ || (has_records && active->bytes + scratch_.size() + reserve > options_.segment_bytes)) {
    // The old segment is complete: make it durable before starting the next,
    // so that only the newest segment can ever end in a torn record.
    if (options_.fsync.mode != FsyncMode::kNever) {
      if (auto synced = syncActive(); !synced) return synced;
    }
    if (auto created = createSegment(active->number + 1); !created) {
      // No room for a new segment. An event fails (the reserve is kept for
      // acks); an ack or expiry goes into the reserve or past the limit, so
      // the backlog can still drain and free space.
      if (type == RecordType::kEvent || rotate_next_) return created;
    }
    active = &segments_.back();
  }
  const uint64_t at = active->bytes;
  if (const int err = writeAll(active_fd_, scratch_.data(), scratch_.size(), at)) {
    // Cut off whatever part of the record did reach the file, so the next
    // append does not land behind garbage. Shrinking needs no space; should
    // it fail anyway, recovery skips the torn record at the next start.
    [[maybe_unused]] const int truncated = ::ftruncate(active_fd_, static_cast<off_t>(at));
    preallocate();
    return fail(fileError("append to the journal segment", active->path, err, dir_,
                          "; nothing was written and the records already in the journal are intact"));
  }
  active->bytes += scratch_.size();
  unsynced_ = true;
  const bool sync_now =
      options_.fsync.mode == FsyncMode::kAlways ||
      (options_.fsync.mode == FsyncMode::kInterval && clock_.now() - last_sync_ >= options_.fsync.interval);
  if (sync_now) {
    if (auto synced = syncActive(); !synced) {
      // Not known to be on disk: take it back, so the caller's error is the truth.
      [[maybe_unused]] const int truncated = ::ftruncate(active_fd_, static_cast<off_t>(at));
      active->bytes = at;
      preallocate();  // the truncation gave the reservation back
      return synced;
    }
  }
  return {};
}

core::Result<uint64_t> Journal::append(std::string_view payload) {
  if (payload.size() > kMaxPayloadBytes)
    return fail(core::makeError(fmt::format("cannot journal an event of {} bytes: the limit is {} bytes",
                                            payload.size(), kMaxPayloadBytes)));
  const uint64_t seq = next_seq_;
  const int64_t now_us = clock_.wallMicros();
  if (auto written = writeRecord(RecordType::kEvent, 0, seq, now_us,
                                 {reinterpret_cast<const uint8_t*>(payload.data()), payload.size()});
      !written)
    return written.error();
  backlog_.emplace(seq, Entry{PendingEvent{seq, std::string(payload), now_us, 0}, segments_.back().number});
  ++segments_.back().open_events;
  next_seq_ = seq + 1;
  ++stats_.appended;
  // Keeps the disk bounded even if nobody calls expire(); a failure here is
  // retried on the next append and does not undo this one.
  if (options_.max_backlog && backlog_.size() > options_.max_backlog) (void)trimBacklog();
  return seq;
}

void Journal::resolve(std::map<uint64_t, Entry>::iterator it) {
  if (Segment* segment = segmentByNumber(it->second.segment); segment && segment->open_events > 0)
    --segment->open_events;
  backlog_.erase(it);
}

core::Result<bool> Journal::acknowledge(uint64_t seq) {
  auto acked = acknowledge(std::span<const uint64_t>(&seq, 1));
  if (!acked) return acked.error();
  return *acked == 1;
}

core::Result<size_t> Journal::acknowledge(std::span<const uint64_t> seqs) {
  std::vector<uint64_t> sorted(seqs.begin(), seqs.end());
  std::sort(sorted.begin(), sorted.end());
  std::vector<uint64_t> known;
  known.reserve(sorted.size());
  for (size_t i = 0; i < sorted.size(); ++i) {
    if ((i == 0 || sorted[i] != sorted[i - 1]) && backlog_.count(sorted[i])) known.push_back(sorted[i]);
    else ++stats_.unknown_acks;
  }
  if (known.empty()) return size_t{0};
  if (auto written = writeTargets(RecordType::kAck, 0, known); !written) return written.error();
  stats_.acknowledged += known.size();
  if (segments_.size() > 1 && segments_.front().open_events == 0) (void)compact();
  return known.size();
}

// Writes ack/expire records for `seqs` (all in the backlog) and resolves
// each as soon as the record holding it is written.
core::Result<void> Journal::writeTargets(RecordType type, uint8_t flags, std::span<const uint64_t> seqs) {
  for (size_t from = 0; from < seqs.size(); from += kMaxSeqsPerRecord) {
    const auto chunk = seqs.subspan(from, std::min(kMaxSeqsPerRecord, seqs.size() - from));
    const std::string payload = encodeSeqList(chunk);
    if (auto written = writeRecord(type, flags, next_seq_ - 1, clock_.wallMicros(),
                                   {reinterpret_cast<const uint8_t*>(payload.data()), payload.size()});
        !written)
      return written;
    for (const uint64_t seq : chunk) {
      if (auto it = backlog_.find(seq); it != backlog_.end()) resolve(it);
    }
  }
  return {};
}

core::Result<size_t> Journal::dropEntries(std::vector<uint64_t> seqs, ExpireReason reason) {
  if (seqs.empty()) return size_t{0};
  if (auto written = writeTargets(RecordType::kExpire, static_cast<uint8_t>(reason), seqs); !written)
    return written.error();
  stats_.expired += seqs.size();
  return seqs.size();
}

core::Result<size_t> Journal::trimBacklog() {
  if (!options_.max_backlog || backlog_.size() <= options_.max_backlog) return size_t{0};
  std::vector<uint64_t> oldest;
  oldest.reserve(backlog_.size() - options_.max_backlog);
  for (auto it = backlog_.begin(); oldest.size() < backlog_.size() - options_.max_backlog; ++it)
    oldest.push_back(it->first);
  return dropEntries(std::move(oldest), ExpireReason::kBacklog);
}

core::Result<size_t> Journal::expire(int64_t now_us) {
  std::vector<uint64_t> aged;
  const int64_t max_age_us = std::chrono::duration_cast<std::chrono::microseconds>(options_.max_age).count();
  if (max_age_us > 0 && now_us >= kSaneWallClockUs) {
    const int64_t cutoff = now_us - max_age_us;
    for (const auto& [seq, entry] : backlog_) {
      const int64_t t = entry.event.appended_us;
      if (t >= kSaneWallClockUs && t < cutoff) aged.push_back(seq);
    }
  }
  auto by_age = dropEntries(std::move(aged), ExpireReason::kAge);
  if (!by_age) return by_age.error();
  auto by_count = trimBacklog();
  if (!by_count) return by_count.error();
  if (segments_.size() > 1 && segments_.front().open_events == 0) (void)compact();
  return *by_age + *by_count;
}

core::Result<size_t> Journal::compact() {
  size_t deleted = 0;
  while (segments_.size() > 1 && segments_.front().open_events == 0) {
    const Segment& oldest = segments_.front();
    if (::unlink(oldest.path.c_str()) != 0 && errno != ENOENT)
      return fail(fileError("delete the finished journal segment", oldest.path, errno, dir_));
    segments_.pop_front();
    floor_seq_ = segments_.front().first_seq;
    ++deleted;
    ++stats_.segments_deleted;
  }
  if (deleted && options_.fsync.mode != FsyncMode::kNever) {
    if (auto synced = syncDir(); !synced) return synced.error();
  }
  return deleted;
}

std::vector<PendingEvent> Journal::unacknowledged(size_t limit) const {
  std::vector<PendingEvent> out;
  out.reserve(std::min(limit, backlog_.size()));
  for (const auto& [seq, entry] : backlog_) {
    if (out.size() >= limit) break;
    out.push_back(entry.event);
  }
  return out;
}

bool Journal::recordAttempt(uint64_t seq) {
  auto it = backlog_.find(seq);
  if (it == backlog_.end()) return false;
  ++it->second.event.attempts;
  return true;
}

core::Result<void> Journal::sync() {
  if (active_fd_ < 0) return {};
  unsynced_ = true;  // an explicit sync always reaches the disk
  return syncActive();
}

core::Result<void> Journal::syncIfDue() {
  if (options_.fsync.mode != FsyncMode::kInterval || !unsynced_) return {};
  if (clock_.now() - last_sync_ < options_.fsync.interval) return {};
  return syncActive();
}

JournalStats Journal::stats() const {
  JournalStats s = stats_;
  s.segments = segments_.size();
  s.disk_bytes = 0;
  for (const auto& segment : segments_) s.disk_bytes += segment.bytes;
  s.backlog = backlog_.size();
  s.next_seq = next_seq_;
  return s;
}

}  // namespace vcgate::journal
