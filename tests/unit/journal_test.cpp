// Journal: events survive reopen, a SIGKILL and a torn last write; damage in
// the middle is reported with file and offset and what follows it is kept;
// acks persist; expiry and compaction keep the disk bounded; a full disk is a
// clear error that leaves the journal readable. Payloads are real alarm
// events as the bus encodes them.
#include "gateway/journal/journal.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "gateway/bus/protocol.h"
#include "gateway/journal/crc32c.h"
#include "gateway/journal/journal_format.h"
#include "tests/support/temp_dir.h"

namespace vcgate::journal {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

std::string eventJson(uint64_t n) {
  bus::AlarmEventMessage m;
  m.boot_id = 0xfeed;
  m.seq = n;
  m.time_us = 1'764'000'000'000'000 + static_cast<int64_t>(n);
  m.site = "north";
  m.event.kind = alarm::AlarmEventKind::kRaised;
  auto& a = m.event.alarm;
  a.id.bytes.fill(static_cast<uint8_t>(n));
  a.id.bytes[0] = static_cast<uint8_t>(n >> 8);
  a.source = "manual";
  a.type = "intrusion";
  a.level = 1 + static_cast<int>(n % 3);
  a.cameras = {"hall-a-1", "hall-a-2"};
  a.description = "person on the tracks #" + std::to_string(n);
  a.raised_us = m.time_us;
  a.updated_us = m.time_us;
  return bus::encodeAlarmEvent(m);
}

std::unique_ptr<Journal> openOk(const std::string& dir, JournalOptions options = {}) {
  auto opened = Journal::open(dir, options);
  EXPECT_TRUE(opened.ok()) << (opened ? "" : opened.error().message);
  return opened ? std::move(opened).value() : nullptr;
}

std::vector<uint64_t> pendingSeqs(const Journal& journal) {
  std::vector<uint64_t> seqs;
  for (const auto& e : journal.unacknowledged()) seqs.push_back(e.seq);
  return seqs;
}

std::vector<uint8_t> readBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void writeBytes(const std::string& path, const std::vector<uint8_t>& bytes, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(size));
}

std::string segmentPath(const std::string& dir, int n) {
  char name[32];
  std::snprintf(name, sizeof name, "journal-%06d.log", n);
  return (fs::path(dir) / name).string();
}

std::vector<std::string> segmentFiles(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".log") names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(Crc32c, KnownVectors) {
  const std::string check = "123456789";
  EXPECT_EQ(crc32c({reinterpret_cast<const uint8_t*>(check.data()), check.size()}), 0xe3069283u);
  std::vector<uint8_t> zeros(32, 0);
  EXPECT_EQ(crc32c(zeros), 0x8a9136aau);  // RFC 3720 B.4
  std::vector<uint8_t> ones(32, 0xff);
  EXPECT_EQ(crc32c(ones), 0x62a8ab43u);
  // Extending in pieces equals the whole, at every split point (the 8-byte loop and the tail).
  std::vector<uint8_t> bytes(100);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 7 + 3);
  const uint32_t whole = crc32c(bytes);
  for (size_t split = 0; split <= bytes.size(); ++split) {
    const std::span<const uint8_t> all(bytes);
    EXPECT_EQ(crc32cExtend(crc32c(all.first(split)), all.subspan(split)), whole) << split;
  }
}

TEST(FsyncPolicy, ParsesTheDocumentedForms) {
  EXPECT_EQ(FsyncPolicy::parse("always")->mode, FsyncMode::kAlways);
  EXPECT_EQ(FsyncPolicy::parse(" never ")->mode, FsyncMode::kNever);
  for (const char* text : {"interval_ms 200", "interval_ms=200", "interval_ms: 200"}) {
    auto p = FsyncPolicy::parse(text);
    ASSERT_TRUE(p.ok()) << text;
    EXPECT_EQ(p->mode, FsyncMode::kInterval);
    EXPECT_EQ(p->interval.count(), 200);
    EXPECT_EQ(p->describe(), "interval_ms 200");
  }
  EXPECT_EQ(FsyncPolicy::always().describe(), "always");
  for (const char* bad : {"", "sometimes", "interval_ms", "interval_ms 0", "interval_ms -5", "interval_ms 2x"}) {
    auto p = FsyncPolicy::parse(bad);
    ASSERT_FALSE(p.ok()) << bad;
    EXPECT_FALSE(p.error().message.empty());
  }
}

TEST(JournalFormat, RecordRoundTripsAndRejectsDamage) {
  std::string out;
  const std::string payload = eventJson(1);
  encodeRecord(RecordType::kEvent, 0, 42, -5, {reinterpret_cast<const uint8_t*>(payload.data()), payload.size()},
               out);
  ASSERT_EQ(out.size(), kRecordHeaderSize + payload.size());
  std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(out.data()), out.size());
  auto r = parseRecord(bytes, nullptr);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->type, RecordType::kEvent);
  EXPECT_EQ(r->seq, 42u);
  EXPECT_EQ(r->time_us, -5);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(r->payload.data()), r->payload.size()), payload);
  std::string why;
  EXPECT_FALSE(parseRecord(bytes.first(bytes.size() - 1), &why));
  EXPECT_NE(why.find("cut short"), std::string::npos) << why;
  std::string damaged = out;
  damaged[kRecordHeaderSize + 3] ^= 0x01;
  EXPECT_FALSE(parseRecord({reinterpret_cast<const uint8_t*>(damaged.data()), damaged.size()}, &why));
  EXPECT_NE(why.find("checksum"), std::string::npos) << why;
  const auto header = encodeSegmentHeader({7, 1234});
  auto parsed = parseSegmentHeader(header, nullptr);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->number, 7u);
  EXPECT_EQ(parsed->first_seq, 1234u);
}

TEST(Journal, AppendReopenRoundTrip) {
  TempDir dir;
  const std::string jdir = (dir.path() / "journal").string();  // created by open()
  core::ManualClock clock;
  JournalOptions options;
  options.clock = &clock;
  std::vector<int64_t> times;
  {
    auto journal = openOk(jdir, options);
    ASSERT_TRUE(journal);
    EXPECT_TRUE(journal->recovery().clean());
    EXPECT_EQ(journal->recovery().next_seq, 1u);
    for (uint64_t i = 1; i <= 20; ++i) {
      auto seq = journal->append(eventJson(i));
      ASSERT_TRUE(seq.ok()) << seq.error().message;
      EXPECT_EQ(*seq, i) << "seqs are 1, 2, 3, ... without gaps";
      times.push_back(clock.wallMicros());
      clock.advance(std::chrono::milliseconds(250));
    }
    EXPECT_EQ(journal->backlogSize(), 20u);
    EXPECT_GE(journal->stats().fsyncs, 20u) << "the default policy syncs every append";
  }
  auto journal = openOk(jdir, options);
  ASSERT_TRUE(journal);
  const auto& report = journal->recovery();
  EXPECT_TRUE(report.clean()) << report.summary();
  EXPECT_EQ(report.records, 20u);
  EXPECT_EQ(report.events, 20u);
  EXPECT_EQ(report.backlog, 20u);
  EXPECT_EQ(report.next_seq, 21u);
  const auto pending = journal->unacknowledged();
  ASSERT_EQ(pending.size(), 20u);
  for (size_t i = 0; i < pending.size(); ++i) {
    EXPECT_EQ(pending[i].seq, i + 1);
    EXPECT_EQ(pending[i].payload, eventJson(i + 1));
    EXPECT_EQ(pending[i].appended_us, times[i]);
    EXPECT_EQ(pending[i].attempts, 0u);
    auto decoded = bus::decodeAlarmEvent(pending[i].payload);
    ASSERT_TRUE(decoded.ok()) << decoded.error().message;
    EXPECT_EQ(decoded->seq, i + 1);
  }
  EXPECT_EQ(journal->unacknowledged(3).size(), 3u);
  EXPECT_TRUE(journal->recordAttempt(5));
  EXPECT_TRUE(journal->recordAttempt(5));
  EXPECT_FALSE(journal->recordAttempt(99));
  EXPECT_EQ(journal->unacknowledged()[4].attempts, 2u);
  auto next = journal->append(eventJson(21));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, 21u);
}

TEST(Journal, SecondOpenOfTheSameDirectoryIsRefused) {
  TempDir dir;
  auto first = openOk(dir.path().string());
  ASSERT_TRUE(first);
  auto second = Journal::open(dir.path().string());
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message.find("in use by another process"), std::string::npos)
      << second.error().message;
  first.reset();
  EXPECT_TRUE(Journal::open(dir.path().string()).ok()) << "the lock goes with the instance";
}

// A power cut in the middle of writing the last record leaves any prefix of
// it on disk. Every such prefix is cut off and reported; nothing before it is lost.
TEST(Journal, TornLastRecordAtEveryByteOffset) {
  for (const bool last_is_ack : {false, true}) {
    SCOPED_TRACE(last_is_ack ? "the last record is an ack" : "the last record is an event");
    TempDir pristine;
    uint64_t before_last = 0;
    {
      auto journal = openOk(pristine.path().string());
      ASSERT_TRUE(journal);
      for (uint64_t i = 1; i <= 5; ++i) ASSERT_TRUE(journal->append(eventJson(i)).ok());
      if (last_is_ack) {
        before_last = fs::file_size(segmentPath(pristine.path().string(), 1));
        ASSERT_TRUE(*journal->acknowledge(2));
      } else {
        before_last = fs::file_size(segmentPath(pristine.path().string(), 1)) - (kRecordHeaderSize + eventJson(5).size());
      }
    }
    const auto bytes = readBytes(segmentPath(pristine.path().string(), 1));
    ASSERT_GT(bytes.size(), before_last);
    for (size_t cut = before_last; cut < bytes.size(); ++cut) {
      TempDir dir;
      const std::string seg = segmentPath(dir.path().string(), 1);
      writeBytes(seg, bytes, cut);
      auto journal = openOk(dir.path().string());
      ASSERT_TRUE(journal) << "cut at " << cut;
      const auto& report = journal->recovery();
      EXPECT_TRUE(report.corrupt.empty()) << "cut at " << cut << ": " << report.summary();
      EXPECT_EQ(report.torn_bytes, cut - before_last) << "cut at " << cut;
      if (cut > before_last) {
        EXPECT_EQ(report.torn_file, seg);
        EXPECT_EQ(report.torn_offset, before_last);
        EXPECT_FALSE(report.torn_reason.empty());
        EXPECT_NE(report.summary().find("torn"), std::string::npos) << report.summary();
      }
      EXPECT_EQ(fs::file_size(seg), before_last) << "the torn bytes are cut off the file";
      if (last_is_ack) {
        EXPECT_EQ(pendingSeqs(*journal), (std::vector<uint64_t>{1, 2, 3, 4, 5})) << "cut at " << cut;
        EXPECT_EQ(report.next_seq, 6u);
      } else {
        EXPECT_EQ(pendingSeqs(*journal), (std::vector<uint64_t>{1, 2, 3, 4})) << "cut at " << cut;
        EXPECT_EQ(report.next_seq, 5u);
      }
      // Appends continue right after the last valid record, and the next open is clean.
      auto seq = journal->append(eventJson(9));
      ASSERT_TRUE(seq.ok());
      journal.reset();
      auto again = openOk(dir.path().string());
      ASSERT_TRUE(again);
      EXPECT_TRUE(again->recovery().clean()) << again->recovery().summary();
      EXPECT_EQ(again->backlogSize(), last_is_ack ? 6u : 5u);
    }
  }
}

// A newest segment whose creation was cut short (empty or a partial header) is repaired.
TEST(Journal, NewestSegmentWithATornHeaderIsRepaired) {
  TempDir dir;
  {
    JournalOptions options;
    options.segment_bytes = 600;
    auto journal = openOk(dir.path().string(), options);
    for (uint64_t i = 1; i <= 3; ++i) ASSERT_TRUE(journal->append(eventJson(i)).ok());
  }
  const auto names = segmentFiles(dir.path().string());
  ASSERT_EQ(names.size(), 3u) << "one event per segment at this size";
  const std::string next = segmentPath(dir.path().string(), 4);
  for (size_t size : {size_t{0}, size_t{17}}) {
    std::ofstream(next, std::ios::binary | std::ios::trunc) << std::string(size, '\x89');
    JournalOptions options;
    options.segment_bytes = 600;
    auto journal = openOk(dir.path().string(), options);
    ASSERT_TRUE(journal);
    EXPECT_TRUE(journal->recovery().corrupt.empty()) << journal->recovery().summary();
    EXPECT_EQ(journal->recovery().torn_bytes, size);
    EXPECT_EQ(pendingSeqs(*journal), (std::vector<uint64_t>{1, 2, 3}));
    EXPECT_EQ(journal->recovery().next_seq, 4u);
    journal.reset();
    fs::remove(next);
  }
}

// Bit rot or a bad sector in the middle: reported with the file and the byte
// offset where the damaged record starts, and the records after it survive.
TEST(Journal, FlippedByteInTheMiddleRecordIsReportedAndLaterRecordsSurvive) {
  TempDir pristine;
  std::vector<uint64_t> starts;  // where each record starts
  {
    auto journal = openOk(pristine.path().string());
    for (uint64_t i = 1; i <= 5; ++i) {
      starts.push_back(fs::file_size(segmentPath(pristine.path().string(), 1)));
      ASSERT_TRUE(journal->append(eventJson(i)).ok());
    }
  }
  const auto bytes = readBytes(segmentPath(pristine.path().string(), 1));
  const uint64_t middle = starts[2];
  const uint64_t middle_end = starts[3];
  for (uint64_t at = middle; at < middle_end; ++at) {
    TempDir dir;
    const std::string seg = segmentPath(dir.path().string(), 1);
    auto damaged = bytes;
    damaged[at] ^= 0x5a;
    writeBytes(seg, damaged, damaged.size());
    auto journal = openOk(dir.path().string());
    ASSERT_TRUE(journal) << "byte " << at;
    const auto& report = journal->recovery();
    ASSERT_EQ(report.corrupt.size(), 1u) << "byte " << at << ": " << report.summary();
    EXPECT_EQ(report.corrupt[0].file, seg);
    EXPECT_EQ(report.corrupt[0].offset, middle) << "byte " << at;
    EXPECT_EQ(report.corrupt[0].length, middle_end - middle) << "byte " << at;
    EXPECT_FALSE(report.corrupt[0].reason.empty());
    EXPECT_EQ(report.torn_bytes, 0u);
    EXPECT_EQ(pendingSeqs(*journal), (std::vector<uint64_t>{1, 2, 4, 5})) << "byte " << at;
    EXPECT_EQ(journal->unacknowledged()[2].payload, eventJson(4));
    EXPECT_EQ(report.next_seq, 6u);
    EXPECT_EQ(fs::file_size(seg), bytes.size()) << "damage in the middle is never cut off";
    EXPECT_FALSE(*journal->acknowledge(3)) << "the damaged event is unknown";
  }
}

TEST(Journal, DamagedSegmentHeaderAndMissingSegmentAreReported) {
  TempDir dir;
  JournalOptions options;
  options.segment_bytes = 600;  // one event per segment
  {
    auto journal = openOk(dir.path().string(), options);
    for (uint64_t i = 1; i <= 4; ++i) ASSERT_TRUE(journal->append(eventJson(i)).ok());
  }
  ASSERT_EQ(segmentFiles(dir.path().string()).size(), 4u);
  fs::remove(segmentPath(dir.path().string(), 2));
  {
    std::fstream f(segmentPath(dir.path().string(), 3), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(20);
    f.put('\x7f');
  }
  auto journal = openOk(dir.path().string(), options);
  ASSERT_TRUE(journal);
  const auto& report = journal->recovery();
  ASSERT_EQ(report.corrupt.size(), 2u) << report.summary();
  EXPECT_EQ(report.corrupt[0].file, segmentPath(dir.path().string(), 2));
  EXPECT_NE(report.corrupt[0].reason.find("missing"), std::string::npos);
  EXPECT_EQ(report.corrupt[1].file, segmentPath(dir.path().string(), 3));
  EXPECT_EQ(report.corrupt[1].offset, 0u);
  EXPECT_EQ(pendingSeqs(*journal), (std::vector<uint64_t>{1, 3, 4})) << "records behind a damaged header are kept";
  EXPECT_EQ(*journal->append(eventJson(5)), 5u);
}

TEST(Journal, AcksPersistAcrossReopenAndUnknownAcksAreCounted) {
  TempDir dir;
  {
    auto journal = openOk(dir.path().string());
    for (uint64_t i = 1; i <= 10; ++i) ASSERT_TRUE(journal->append(eventJson(i)).ok());
    for (uint64_t seq : {2, 4, 6}) {
      auto acked = journal->acknowledge(seq);
      ASSERT_TRUE(acked.ok()) << acked.error().message;
      EXPECT_TRUE(*acked);
    }
    EXPECT_FALSE(*journal->acknowledge(4)) << "twice";
    EXPECT_FALSE(*journal->acknowledge(99)) << "never appended";
    const std::vector<uint64_t> batch = {8, 8, 6, 9, 123};
    EXPECT_EQ(*journal->acknowledge(batch), 2u) << "8 and 9; 8 again, 6 and 123 are unknown";
    EXPECT_FALSE(journal->pending(4));
    EXPECT_TRUE(journal->pending(5));
    const auto stats = journal->stats();
    EXPECT_EQ(stats.acknowledged, 5u);
    EXPECT_EQ(stats.unknown_acks, 5u);
  }
  auto journal = openOk(dir.path().string());
  ASSERT_TRUE(journal);
  EXPECT_TRUE(journal->recovery().clean());
  EXPECT_EQ(journal->recovery().acks, 5u);
  EXPECT_EQ(journal->recovery().records, 14u) << "unknown acks write nothing";
  EXPECT_EQ(pendingSeqs(*journal), (std::vector<uint64_t>{1, 3, 5, 7, 10}));
  EXPECT_EQ(*journal->append(eventJson(11)), 11u) << "acks take no seq";
}

class SkewedClock final : public core::Clock {
 public:
  core::TimePoint now() const override { return core::TimePoint(std::chrono::seconds(1)); }
  int64_t wallMicros() const override { return wall_us; }
  int64_t wall_us = 0;
};

TEST(Journal, ExpiryByAgeAndByBacklogSurvivesReopen) {
  TempDir dir;
  SkewedClock clock;
  clock.wall_us = 1'764'000'000'000'000;  // late 2025
  const int64_t day_us = 86'400'000'000;
  JournalOptions options;
  options.clock = &clock;
  options.max_age = std::chrono::hours(24 * 7);
  {
    auto journal = openOk(dir.path().string(), options);
    for (uint64_t i = 1; i <= 3; ++i) ASSERT_TRUE(journal->append(eventJson(i)).ok());
    clock.wall_us += 4 * day_us;
    for (uint64_t i = 4; i <= 6; ++i) ASSERT_TRUE(journal->append(eventJson(i)).ok());
    auto none = journal->expire(clock.wall_us);
    ASSERT_TRUE(none.ok());
    EXPECT_EQ(*none, 0u) << "nothing is 7 days old yet";
    auto expired = journal->expire(clock.wall_us + 4 * day_us);  // 8 and 4 days old
    ASSERT_TRUE(expired.ok()) << expired.error().message;
    EXPECT_EQ(*expired, 3u);
    EXPECT_EQ(pendingSeqs(*journal), (std::vector<uint64_t>{4, 5, 6}));
    EXPECT_EQ(journal->stats().expired, 3u);
  }
  {
    auto journal = openOk(dir.path().string(), options);
    EXPECT_EQ(journal->recovery().expired, 3u);
    EXPECT_EQ(pendingSeqs(*journal), (std::vector<uint64_t>{4, 5, 6}));
  }
  // A smaller backlog limit drops the oldest, at open and on append.
  options.max_backlog = 2;
  {
    auto journal = openOk(dir.path().string(), options);
    EXPECT_EQ(pendingSeqs(*journal), (std::vector<uint64_t>{5, 6}));
    ASSERT_TRUE(journal->append(eventJson(7)).ok());
    EXPECT_EQ(pendingSeqs(*journal), (std::vector<uint64_t>{6, 7}));
  }
  auto journal = openOk(dir.path().string(), options);
  EXPECT_EQ(pendingSeqs(*journal), (std::vector<uint64_t>{6, 7}));
}

// A box without a real-time clock appends in 1970 until NTP sets the time:
// those events must not all expire the moment the clock jumps.
TEST(Journal, EventsAppendedBeforeTheClockWasSetDoNotExpireByAge) {
  TempDir dir;
  SkewedClock clock;
  clock.wall_us = 60'000'000;  // one minute after the epoch
  JournalOptions options;
  options.clock = &clock;
  auto journal = openOk(dir.path().string(), options);
  ASSERT_TRUE(journal->append(eventJson(1)).ok());
  auto expired = journal->expire(1'764'000'000'000'000);
  ASSERT_TRUE(expired.ok());
  EXPECT_EQ(*expired, 0u);
  EXPECT_EQ(journal->backlogSize(), 1u);
  EXPECT_EQ(*journal->expire(120'000'000), 0u) << "nor when now is unset";
}

TEST(Journal, CompactionDeletesFullyAcknowledgedSegmentsOldestFirst) {
  TempDir dir;
  const std::string d = dir.path().string();
  JournalOptions options;
  options.segment_bytes = 2048;
  // Events stop at 7/8 of a segment (the rest is kept for acks).
  const size_t per_segment =
      (options.segment_bytes * 7 / 8 - kSegmentHeaderSize) / (kRecordHeaderSize + eventJson(10).size());
  ASSERT_GE(per_segment, 2u);
  {
    auto journal = openOk(d, options);
    for (uint64_t i = 10; i <= 21; ++i) ASSERT_TRUE(journal->append(eventJson(i)).ok());
    ASSERT_GE(segmentFiles(d).size(), 4u);
    // Acknowledging all of the second segment deletes nothing: the first still has pending events.
    for (uint64_t seq = per_segment + 1; seq <= 2 * per_segment; ++seq) ASSERT_TRUE(*journal->acknowledge(seq));
    EXPECT_TRUE(fs::exists(segmentPath(d, 1)));
    EXPECT_TRUE(fs::exists(segmentPath(d, 2)));
    EXPECT_EQ(journal->stats().segments_deleted, 0u);
    // Now the first: both go.
    for (uint64_t seq = 1; seq <= per_segment; ++seq) ASSERT_TRUE(*journal->acknowledge(seq));
    EXPECT_FALSE(fs::exists(segmentPath(d, 1)));
    EXPECT_FALSE(fs::exists(segmentPath(d, 2)));
    EXPECT_TRUE(fs::exists(segmentPath(d, 3)));
    EXPECT_EQ(journal->stats().segments_deleted, 2u);
  }
  {
    auto journal = openOk(d, options);
    EXPECT_TRUE(journal->recovery().clean()) << journal->recovery().summary();
    EXPECT_EQ(journal->recovery().unknown_acks, 0u) << "acks of compacted events are expected";
    std::vector<uint64_t> expected;
    for (uint64_t seq = 2 * per_segment + 1; seq <= 12; ++seq) expected.push_back(seq);
    EXPECT_EQ(pendingSeqs(*journal), expected);
    auto acked = journal->acknowledge(expected);  // one record for all
    ASSERT_TRUE(acked.ok()) << acked.error().message;
    EXPECT_EQ(*acked, expected.size());
    EXPECT_EQ(segmentFiles(d).size(), 1u) << "only the newest segment is kept";
  }
  auto journal = openOk(d, options);
  EXPECT_EQ(journal->backlogSize(), 0u);
  EXPECT_EQ(journal->recovery().next_seq, 13u) << "the counter survives compaction";
  EXPECT_EQ(*journal->append(eventJson(13)), 13u);
}

TEST(Journal, FsyncPolicyIntervalAndNever) {
  TempDir dir;
  core::ManualClock clock;
  JournalOptions options;
  options.clock = &clock;
  options.fsync = FsyncPolicy::every(std::chrono::milliseconds(100));
  {
    auto journal = openOk((dir.path() / "interval").string(), options);
    ASSERT_TRUE(journal->append(eventJson(1)).ok());
    EXPECT_EQ(journal->stats().fsyncs, 0u) << "opened just now: within the interval";
    ASSERT_TRUE(journal->append(eventJson(2)).ok());
    ASSERT_TRUE(journal->syncIfDue().ok());
    EXPECT_EQ(journal->stats().fsyncs, 0u);
    clock.advance(std::chrono::milliseconds(100));
    ASSERT_TRUE(journal->syncIfDue().ok());
    EXPECT_EQ(journal->stats().fsyncs, 1u);
    clock.advance(std::chrono::milliseconds(150));
    ASSERT_TRUE(journal->append(eventJson(3)).ok());
    EXPECT_EQ(journal->stats().fsyncs, 2u) << "the first append after a quiet interval syncs at once";
  }
  options.fsync = FsyncPolicy::never();
  auto journal = openOk((dir.path() / "never").string(), options);
  for (uint64_t i = 1; i <= 5; ++i) ASSERT_TRUE(journal->append(eventJson(i)).ok());
  EXPECT_EQ(journal->stats().fsyncs, 0u);
  ASSERT_TRUE(journal->sync().ok());
  EXPECT_EQ(journal->stats().fsyncs, 1u);
}

TEST(Journal, OversizedEventAndUnusableDirectoryAreClearErrors) {
  TempDir dir;
  auto journal = openOk(dir.path().string());
  auto big = journal->append(std::string(kMaxPayloadBytes + 1, 'x'));
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.error().message.find("limit"), std::string::npos) << big.error().message;
  EXPECT_EQ(journal->backlogSize(), 0u);

  // A file where the directory should be.
  const std::string file = dir.write("not-a-dir", "x");
  auto opened = Journal::open(file + "/journal");
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.error().message.find(file), std::string::npos) << opened.error().message;

  // Permission: root ignores file modes, but sysfs refuses new entries even to root.
  if (geteuid() == 0 && fs::is_directory("/sys/kernel")) {
    auto denied = Journal::open("/sys/kernel/vcgate-journal-test");
    ASSERT_FALSE(denied.ok());
    EXPECT_NE(denied.error().message.find("/sys/kernel/vcgate-journal-test"), std::string::npos)
        << denied.error().message;
  }
}

// A real small file system that fills up. Mounting needs root (or
// CAP_SYS_ADMIN); without it the test is skipped and says so.
class JournalDiskFullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mount_ = dir_.path() / "small";
    fs::create_directory(mount_);
    if (::mount("tmpfs", mount_.c_str(), "tmpfs", 0, "size=64k") != 0)
      GTEST_SKIP() << "cannot mount a 64 KiB tmpfs (" << std::strerror(errno)
                   << "): needs root or CAP_SYS_ADMIN";
    mounted_ = true;
  }
  void TearDown() override {
    if (mounted_) ::umount2(mount_.c_str(), MNT_DETACH);
  }
  TempDir dir_;
  fs::path mount_;
  bool mounted_ = false;
};

TEST_F(JournalDiskFullTest, AppendFailsClearlyAndTheJournalStaysReadable) {
  const std::string d = (mount_ / "journal").string();
  JournalOptions options;
  options.segment_bytes = 8 * 1024;
  std::vector<uint64_t> stored;
  std::string error;
  {
    auto journal = openOk(d, options);
    ASSERT_TRUE(journal);
    for (uint64_t i = 1; i <= 1000; ++i) {
      auto seq = journal->append(eventJson(i));
      if (!seq) {
        error = seq.error().message;
        break;
      }
      stored.push_back(*seq);
    }
    ASSERT_FALSE(error.empty()) << "64 KiB never filled up";
    EXPECT_NE(error.find("disk is full"), std::string::npos) << error;
    EXPECT_NE(error.find(d + "/journal-"), std::string::npos) << "names the file: " << error;
    EXPECT_NE(error.find("intact"), std::string::npos) << error;
    EXPECT_GT(stored.size(), 20u);
    // The live instance still has everything, and a second failure is no worse.
    EXPECT_EQ(pendingSeqs(*journal), stored);
    EXPECT_FALSE(journal->append(eventJson(5000)).ok());
    EXPECT_EQ(journal->stats().write_errors, 2u);
    EXPECT_EQ(journal->stats().last_error.empty(), false);
  }
  {
    auto journal = openOk(d, options);
    ASSERT_TRUE(journal);
    EXPECT_TRUE(journal->recovery().clean()) << journal->recovery().summary();
    EXPECT_EQ(pendingSeqs(*journal), stored) << "every event whose append returned is there";
    for (size_t i = 0; i < stored.size(); ++i)
      EXPECT_EQ(journal->unacknowledged()[i].payload, eventJson(i + 1));
    // The disk is still full, but acks go into the space each segment kept
    // for them; acknowledging the backlog frees whole segments, and then
    // events are accepted again.
    for (size_t i = 0; i + 3 < stored.size(); ++i) {
      auto ack = journal->acknowledge(stored[i]);
      ASSERT_TRUE(ack.ok()) << "ack of " << stored[i] << ": " << ack.error().message;
      EXPECT_TRUE(*ack);
    }
    EXPECT_GT(journal->stats().segments_deleted, 0u);
    auto seq = journal->append(eventJson(stored.size() + 1));
    ASSERT_TRUE(seq.ok()) << seq.error().message;
    EXPECT_EQ(*seq, stored.back() + 1);
  }
  auto journal = openOk(d, options);
  EXPECT_TRUE(journal->recovery().clean()) << journal->recovery().summary();
  EXPECT_EQ(journal->backlogSize(), 4u);
}

// A real process killed with SIGKILL in the middle of an append loop: every
// event whose append() had returned (the child reported it through a pipe
// right after) is in the journal when it is opened again; acks likewise.
TEST(Journal, SurvivesSigkillMidAppendLoop) {
  TempDir dir;
  const std::string d = dir.path().string();
  std::set<uint64_t> appended, acked;
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      auto opened = Journal::open(d);
      if (!opened) ::_exit(3);
      auto& journal = **opened;
      for (uint64_t i = 0; i < 1'000'000; ++i) {
        auto seq = journal.append(eventJson(i));
        if (!seq) ::_exit(4);
        uint8_t msg[9] = {'a'};
        std::memcpy(msg + 1, &*seq, 8);
        if (::write(fds[1], msg, sizeof msg) != sizeof msg) ::_exit(5);
        if (*seq % 3 == 0) {
          auto ack = journal.acknowledge(*seq);
          if (!ack || !*ack) ::_exit(6);
          msg[0] = 'k';
          if (::write(fds[1], msg, sizeof msg) != sizeof msg) ::_exit(5);
        }
      }
      ::_exit(0);
    }
    ::close(fds[1]);
    // Kill it at a different point each round, while it is busy appending.
    const size_t kill_after = 150 + static_cast<size_t>(round) * 97;
    size_t messages = 0;
    std::vector<uint8_t> buffer;
    auto drain = [&](int timeout_ms) {
      pollfd p{fds[0], POLLIN, 0};
      if (::poll(&p, 1, timeout_ms) <= 0) return false;
      uint8_t chunk[4096];
      const ssize_t n = ::read(fds[0], chunk, sizeof chunk);
      if (n <= 0) return false;
      buffer.insert(buffer.end(), chunk, chunk + n);
      while (buffer.size() >= 9) {
        uint64_t seq;
        std::memcpy(&seq, buffer.data() + 1, 8);
        (buffer[0] == 'a' ? appended : acked).insert(seq);
        buffer.erase(buffer.begin(), buffer.begin() + 9);
        ++messages;
      }
      return true;
    };
    while (messages < kill_after && drain(20'000)) {
    }
    ASSERT_GE(messages, kill_after) << "the child stopped reporting";
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
    while (drain(0)) {
    }
    ::close(fds[0]);

    auto journal = openOk(d);
    ASSERT_TRUE(journal);
    const auto& report = journal->recovery();
    EXPECT_TRUE(report.corrupt.empty()) << report.summary();
    for (uint64_t seq : appended) {
      if (acked.count(seq)) {
        EXPECT_FALSE(journal->pending(seq)) << "acked " << seq << " came back";
      } else if (seq % 3 != 0) {
        // (A multiple of 3 whose ack was not reported may have been acked just before the kill.)
        EXPECT_TRUE(journal->pending(seq)) << "appended " << seq << " is lost";
      }
    }
    // Anything beyond what was reported is at most the one event in flight.
    EXPECT_LE(report.next_seq, *appended.rbegin() + 2);
  }
}

}  // namespace
}  // namespace vcgate::journal
