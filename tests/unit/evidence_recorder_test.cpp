// EvidenceRecorder with real H.264 access units: one playable file per
// (alarm, camera) from the first frame's keyframe to the last tagged unit;
// overlapping alarms; closing by tag, by closeAlarm, by an idle camera and at
// shutdown; retention by quota (acknowledged first, oldest first); the index
// rebuilt after a restart; chunked reads; a SIGKILL mid-clip; a full disk.
#include "gateway/evidence/evidence_recorder.h"

#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "gateway/core/sha256.h"
#include "gateway/evidence/mp4_writer.h"
#include "tests/support/encoded_units.h"
#include "tests/support/temp_dir.h"

namespace vcgate::evidence {
namespace {

namespace fs = std::filesystem;
using core::VideoCodec;
using media::AccessUnit;
using media::AccessUnitPtr;
using testing::TempDir;

constexpr int kGop = 10;
constexpr int64_t kBaseUs = 1'764'000'000'000'000;  // 2025-11-24T16:00:00Z
constexpr int64_t kFrameUs = 40'000;

// 100 real H.264 units (a keyframe every 10), encoded once for all tests.
const std::vector<testing::EncodedUnit>& encoded() {
  static const auto units = testing::encodeUnits(VideoCodec::kH264, 100, kGop);
  return units;
}

// Access units as ingest makes them, captured from `start_us` on, 25 fps.
std::vector<AccessUnitPtr> makeUnits(int count, int64_t start_us = kBaseUs) {
  std::vector<AccessUnitPtr> out;
  const auto& enc = encoded();
  for (int i = 0; i < count && i < static_cast<int>(enc.size()); ++i) {
    auto u = std::make_shared<AccessUnit>();
    u->codec = VideoCodec::kH264;
    u->keyframe = enc[static_cast<size_t>(i)].keyframe;
    u->pts_ns = enc[static_cast<size_t>(i)].pts_ns;
    u->dts_ns = enc[static_cast<size_t>(i)].dts_ns;
    u->capture_us = start_us + i * kFrameUs;
    u->width = 320;
    u->height = 240;
    u->index = static_cast<uint64_t>(i) + 1;
    u->data = enc[static_cast<size_t>(i)].data;
    out.push_back(std::move(u));
  }
  return out;
}

alarm::AlarmId alarmId(uint8_t n) {
  alarm::AlarmId id;
  id.bytes.fill(n);
  return id;
}

std::unique_ptr<EvidenceRecorder> startOk(RecorderOptions options) {
  auto started = EvidenceRecorder::start(std::move(options));
  EXPECT_TRUE(started.ok()) << (started ? "" : started.error().message);
  return started ? std::move(started).value() : nullptr;
}

RecorderOptions optionsFor(const fs::path& dir) {
  RecorderOptions options;
  options.dir = dir.string();
  options.quota_bytes = 0;
  options.queue_units = 10'000;  // nothing dropped unless a test wants it
  return options;
}

// Feeds units [from, to) of `units` to `camera`, tagged with `alarms`.
void feed(EvidenceRecorder& recorder, const std::string& camera, const std::vector<AccessUnitPtr>& units, int from,
          int to, const std::vector<CoveringAlarm>& alarms) {
  for (int i = from; i < to; ++i) recorder.onUnit(camera, units[static_cast<size_t>(i)], alarms);
}

// One clip: units [0, frames) of a fresh series starting at `start_us`, then one untagged unit.
void recordClip(EvidenceRecorder& recorder, const std::string& camera, const alarm::AlarmId& id, int frames,
                int64_t start_us) {
  const auto units = makeUnits(frames + 1, start_us);
  feed(recorder, camera, units, 0, frames, {{id, 2}});
  feed(recorder, camera, units, frames, frames + 1, {});
}

std::vector<uint8_t> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::string> mp4Files(const fs::path& dir) {
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.path().extension() == ".mp4") files.push_back(fs::relative(e.path(), dir).string());
  std::sort(files.begin(), files.end());
  return files;
}

TEST(UnitQueue, FullQueueDropsUntilTheNextKeyframeAndCounts) {
  const auto units = makeUnits(25);
  ASSERT_EQ(units.size(), 25u);
  ASSERT_TRUE(units[0]->keyframe && units[10]->keyframe && units[20]->keyframe);
  UnitQueue queue(3, 1 << 30);
  auto push = [&](const std::string& camera, int i) {
    RecorderTask t;
    t.camera = camera;
    t.unit = units[static_cast<size_t>(i)];
    return queue.pushUnit(std::move(t));
  };
  EXPECT_EQ(push("a", 0), UnitQueue::Push::kQueued);
  EXPECT_EQ(push("a", 1), UnitQueue::Push::kQueued);
  EXPECT_EQ(push("a", 2), UnitQueue::Push::kQueued);
  EXPECT_EQ(push("a", 3), UnitQueue::Push::kDroppedFull);
  std::deque<RecorderTask> out;
  ASSERT_TRUE(queue.popBatch(out, std::chrono::milliseconds(0)));
  EXPECT_EQ(out.size(), 3u) << "a full queue is taken as one batch";
  EXPECT_EQ(push("a", 4), UnitQueue::Push::kDroppedUntilKeyframe) << "room again, but 4 cannot be decoded without 3";
  EXPECT_EQ(push("b", 5), UnitQueue::Push::kQueued) << "another camera is not affected";
  for (int i = 6; i < 10; ++i) EXPECT_EQ(push("a", i), UnitQueue::Push::kDroppedUntilKeyframe);
  EXPECT_EQ(push("b", 6), UnitQueue::Push::kQueued);
  EXPECT_EQ(push("b", 7), UnitQueue::Push::kQueued);
  EXPECT_EQ(push("a", 10), UnitQueue::Push::kDroppedFull) << "a keyframe, but the queue is full again";
  out.clear();
  ASSERT_TRUE(queue.popBatch(out, std::chrono::milliseconds(0)));
  EXPECT_EQ(push("a", 11), UnitQueue::Push::kDroppedUntilKeyframe);
  EXPECT_EQ(push("a", 20), UnitQueue::Push::kQueued);
  EXPECT_EQ(queue.dropped(), 8u);
  EXPECT_EQ(queue.accepted(), 7u);
  // Control tasks are never dropped, and keep their place.
  RecorderTask flush;
  flush.kind = RecorderTask::Kind::kFlush;
  EXPECT_TRUE(queue.pushControl(flush));
  out.clear();
  ASSERT_TRUE(queue.popBatch(out, std::chrono::milliseconds(0)));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].kind, RecorderTask::Kind::kUnit);
  EXPECT_EQ(out[0].dropped_before, 8u) << "unit 20 says how many of its camera's units were dropped before it";
  EXPECT_EQ(out[1].kind, RecorderTask::Kind::kFlush);
  EXPECT_FALSE(queue.popBatch(out, std::chrono::milliseconds(0))) << "nothing left";
  queue.close();
  EXPECT_EQ(push("a", 20), UnitQueue::Push::kClosed);
}

// The worker is woken once per batch, but a lone unit never waits for
// company longer than kGatherDelay: a consumer idle with a 60 s timeout gets it.
TEST(UnitQueue, ALoneUnitReachesAnIdleConsumerWithoutABatch) {
  const auto units = makeUnits(1);
  ASSERT_EQ(units.size(), 1u);
  UnitQueue queue(1000, 1 << 30);
  std::deque<RecorderTask> out;
  const auto start = std::chrono::steady_clock::now();
  std::thread consumer([&] { queue.popBatch(out, std::chrono::seconds(60)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // let it go idle (it also works if it has not)
  RecorderTask t;
  t.camera = "a";
  t.unit = units[0];
  ASSERT_EQ(queue.pushUnit(std::move(t)), UnitQueue::Push::kQueued);
  consumer.join();
  EXPECT_EQ(out.size(), 1u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30)) << "it did not wait for the idle timeout";
}

TEST(EvidenceRecorder, OneFilePerAlarmAndCameraPlayableFromItsFirstFrame) {
  TempDir dir;
  const auto units = makeUnits(50);
  ASSERT_EQ(units.size(), 50u);
  const auto a = alarmId(0xa1);
  {
    auto recorder = startOk(optionsFor(dir.path()));
    ASSERT_TRUE(recorder);
    for (const char* camera : {"hall-a-1", "hall-a-2"}) {
      feed(*recorder, camera, units, 0, 10, {});
      feed(*recorder, camera, units, 10, 40, {{a, 1}});
      feed(*recorder, camera, units, 40, 50, {});  // the tag is gone: the clip closes
    }
    recorder->flush();
    const auto clips = recorder->listClips();
    ASSERT_EQ(clips.size(), 2u);
    for (const auto& clip : clips) {
      SCOPED_TRACE(clip.id);
      EXPECT_EQ(clip.state, ClipState::kComplete);
      EXPECT_EQ(clip.alarm, a);
      EXPECT_EQ(clip.part, 1);
      EXPECT_EQ(clip.level, 1);
      EXPECT_EQ(clip.frames, 30u);
      EXPECT_EQ(clip.start_us, units[10]->capture_us);
      EXPECT_EQ(clip.end_us, units[39]->capture_us);
      EXPECT_EQ(clip.id, "2025-11-24/" + a.hex() + "/" + clip.camera + ".mp4");
      EXPECT_EQ(clip.path, (dir.path() / clip.id).string());
      EXPECT_EQ(clip.bytes, fs::file_size(clip.path));
      const auto report = verifyPlayable(clip.path);
      EXPECT_TRUE(report.ok) << report.error;
      EXPECT_TRUE(report.starts_with_keyframe);
      EXPECT_EQ(report.frames_decoded, 30);
      EXPECT_NEAR(report.duration_s, 1.2, 0.05);
    }
    EXPECT_EQ(clips[0].camera, "hall-a-1");
    EXPECT_EQ(clips[1].camera, "hall-a-2");
    const auto stats = recorder->stats();
    EXPECT_EQ(stats.units_queued, 100u);
    EXPECT_EQ(stats.units_written, 60u);
    EXPECT_EQ(stats.units_dropped_queue, 0u);
    EXPECT_EQ(stats.write_errors, 0u);
    EXPECT_EQ(stats.clips, 2u);
    EXPECT_EQ(stats.clips_recording, 0u);
  }
  EXPECT_EQ(mp4Files(dir.path()), (std::vector<std::string>{"2025-11-24/" + a.hex() + "/hall-a-1.mp4",
                                                            "2025-11-24/" + a.hex() + "/hall-a-2.mp4"}));
}

// A second alarm that covers a camera already being published starts on a
// P-frame; its clip starts at that GOP's keyframe, so it still decodes.
TEST(EvidenceRecorder, OverlappingAlarmsWriteBothFiles) {
  TempDir dir;
  const auto units = makeUnits(50);
  const auto a = alarmId(0xa1), b = alarmId(0xb2);
  std::string path_a, path_b;
  {
    auto recorder = startOk(optionsFor(dir.path()));
    feed(*recorder, "cam1", units, 0, 25, {{a, 2}});
    feed(*recorder, "cam1", units, 25, 40, {{a, 2}, {b, 1}});
    feed(*recorder, "cam1", units, 40, 50, {{b, 1}});
    recorder->flush();
    ClipFilter only_a;
    only_a.alarm = a;
    const auto clips_a = recorder->listClips(only_a);
    ASSERT_EQ(clips_a.size(), 1u);
    EXPECT_EQ(clips_a[0].state, ClipState::kComplete);
    EXPECT_EQ(clips_a[0].frames, 40u);
    path_a = clips_a[0].path;
    ClipFilter only_b;
    only_b.alarm = b;
    const auto clips_b = recorder->listClips(only_b);
    ASSERT_EQ(clips_b.size(), 1u);
    EXPECT_EQ(clips_b[0].state, ClipState::kRecording) << "b still covers the camera";
    path_b = clips_b[0].path;
    ClipFilter complete_only;
    complete_only.include_recording = false;
    EXPECT_EQ(recorder->listClips(complete_only).size(), 1u);
  }  // shutdown closes b
  auto report = verifyPlayable(path_a);
  EXPECT_TRUE(report.ok) << report.error;
  EXPECT_EQ(report.frames_decoded, 40);
  report = verifyPlayable(path_b);
  EXPECT_TRUE(report.ok) << report.error;
  EXPECT_TRUE(report.starts_with_keyframe);
  EXPECT_EQ(report.frames_decoded, 30) << "from the keyframe at 20 (b's tag appeared at 25) to 49";
}

TEST(EvidenceRecorder, CloseAlarmEndsTheClipAndATagThatComesBackStartsPart2) {
  TempDir dir;
  const auto units = makeUnits(100);
  const auto a = alarmId(0xa1), b = alarmId(0xb2);
  auto recorder = startOk(optionsFor(dir.path()));
  // a: closed by closeAlarm (post-roll over) while units still carry its tag.
  feed(*recorder, "cam1", units, 0, 30, {{a, 2}});
  recorder->closeAlarm(a);
  feed(*recorder, "cam1", units, 30, 40, {{a, 2}});
  // b on cam2: tag gone after 20 units, back at 30.
  feed(*recorder, "cam2", units, 0, 20, {{b, 3}});
  feed(*recorder, "cam2", units, 20, 30, {});
  feed(*recorder, "cam2", units, 30, 50, {{b, 3}});
  recorder->stop();
  const auto clips = recorder->listClips();
  ASSERT_EQ(clips.size(), 3u);
  ClipFilter filter;
  filter.alarm = a;
  auto of_a = recorder->listClips(filter);
  ASSERT_EQ(of_a.size(), 1u);
  EXPECT_EQ(of_a[0].frames, 30u);
  EXPECT_EQ(recorder->stats().units_after_close, 10u);
  filter.alarm = b;
  auto of_b = recorder->listClips(filter);
  ASSERT_EQ(of_b.size(), 2u);
  EXPECT_EQ(of_b[0].part, 1);
  EXPECT_EQ(of_b[0].frames, 20u);
  EXPECT_EQ(of_b[1].part, 2);
  EXPECT_EQ(of_b[1].frames, 20u);
  EXPECT_TRUE(of_b[1].id.ends_with("/cam2.2.mp4")) << of_b[1].id;
  for (const auto& clip : clips) {
    const auto report = verifyPlayable(clip.path);
    EXPECT_TRUE(report.ok) << clip.id << ": " << report.error;
  }
  recorder->onUnit("cam1", units[50], std::vector<CoveringAlarm>{{b, 3}});  // after stop: ignored, no crash
}

TEST(EvidenceRecorder, IdleCameraClosesItsClipsAndBadCameraIdsAreRefused) {
  TempDir dir;
  core::ManualClock clock;
  auto options = optionsFor(dir.path());
  options.clock = &clock;
  options.idle_close = std::chrono::seconds(30);
  auto recorder = startOk(options);
  const auto units = makeUnits(20);
  feed(*recorder, "cam1", units, 0, 20, {{alarmId(1), 1}});
  feed(*recorder, "../etc", units, 0, 5, {{alarmId(1), 1}});
  recorder->flush();
  ASSERT_EQ(recorder->listClips().size(), 1u);
  EXPECT_EQ(recorder->listClips()[0].state, ClipState::kRecording);
  EXPECT_EQ(recorder->stats().units_bad_camera, 5u);
  clock.advance(std::chrono::seconds(31));
  recorder->flush();  // the idle check runs after the task it handles
  recorder->flush();
  const auto clips = recorder->listClips();
  ASSERT_EQ(clips.size(), 1u);
  EXPECT_EQ(clips[0].state, ClipState::kComplete);
  EXPECT_EQ(clips[0].frames, 20u);
}

TEST(EvidenceRecorder, UnusableDirectoryIsAClearError) {
  TempDir dir;
  const std::string file = dir.write("not-a-dir", "x");
  auto options = optionsFor(fs::path(file) / "evidence");
  auto started = EvidenceRecorder::start(options);
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.error().message.find(file), std::string::npos) << started.error().message;
  if (geteuid() == 0 && fs::is_directory("/sys/kernel")) {
    // Root ignores file modes; sysfs refuses new entries even to root.
    options.dir = "/sys/kernel/vcgate-evidence-test";
    started = EvidenceRecorder::start(options);
    ASSERT_FALSE(started.ok());
    EXPECT_NE(started.error().message.find("/sys/kernel/vcgate-evidence-test"), std::string::npos);
    EXPECT_NE(started.error().message.find("permission denied"), std::string::npos) << started.error().message;
  }
}

// The quota is enforced when clips close: acknowledged alarms' clips go
// first (oldest first, however new they are), unacknowledged ones last.
TEST(EvidenceRecorder, QuotaPrunesAcknowledgedFirstThenOldestFirst) {
  TempDir dir;
  uint64_t clip_bytes = 0;
  {
    // Measure one clip of 20 frames.
    TempDir probe;
    auto recorder = startOk(optionsFor(probe.path()));
    recordClip(*recorder, "cam1", alarmId(0x99), 20, kBaseUs);
    recorder->stop();
    ASSERT_EQ(recorder->listClips().size(), 1u);
    clip_bytes = recorder->listClips()[0].bytes;
    ASSERT_GT(clip_bytes, 1000u);
  }
  auto options = optionsFor(dir.path());
  options.quota_bytes = clip_bytes * 3 + clip_bytes / 2;  // room for three
  const int64_t minute = 60'000'000;
  {
    auto recorder = startOk(options);
    for (uint8_t n = 1; n <= 3; ++n) recordClip(*recorder, "cam1", alarmId(n), 20, kBaseUs + n * minute);
    recorder->setAcknowledged(alarmId(3));  // the newest
    recorder->flush();
    ASSERT_EQ(recorder->listClips().size(), 3u);
    recordClip(*recorder, "cam1", alarmId(4), 20, kBaseUs + 4 * minute);
    recorder->flush();
    auto clips = recorder->listClips();
    ASSERT_EQ(clips.size(), 3u);
    EXPECT_EQ(clips[0].alarm, alarmId(1));
    EXPECT_EQ(clips[1].alarm, alarmId(2));
    EXPECT_EQ(clips[2].alarm, alarmId(4)) << "3 was acknowledged: it went first, though newer";
    recordClip(*recorder, "cam1", alarmId(5), 20, kBaseUs + 5 * minute);
    recorder->flush();
    clips = recorder->listClips();
    ASSERT_EQ(clips.size(), 3u);
    EXPECT_EQ(clips[0].alarm, alarmId(2)) << "then the oldest";
    EXPECT_EQ(clips[2].alarm, alarmId(5));
    const auto stats = recorder->stats();
    EXPECT_EQ(stats.clips_pruned, 2u);
    EXPECT_LE(stats.bytes, options.quota_bytes);
    EXPECT_FALSE(stats.over_quota);
    recorder->setAcknowledged(alarmId(4));
  }
  // At start, with a smaller quota: the acknowledgement of 4 was kept in its
  // metadata, so 4 goes before the older 2.
  options.quota_bytes = clip_bytes * 2 + clip_bytes / 2;
  auto recorder = startOk(options);
  EXPECT_EQ(recorder->startReport().pruned, 1u);
  const auto clips = recorder->listClips();
  ASSERT_EQ(clips.size(), 2u);
  EXPECT_EQ(clips[0].alarm, alarmId(2));
  EXPECT_EQ(clips[1].alarm, alarmId(5));
  EXPECT_EQ(mp4Files(dir.path()).size(), 2u) << "the files are gone, not only the index entries";
}

TEST(EvidenceRecorder, RestartRebuildsTheIndex) {
  TempDir dir;
  std::vector<ClipInfo> before;
  {
    auto recorder = startOk(optionsFor(dir.path()));
    recordClip(*recorder, "cam1", alarmId(1), 30, kBaseUs);
    recordClip(*recorder, "cam2", alarmId(2), 20, kBaseUs + 86'400'000'000);  // the next day
    recorder->setAcknowledged(alarmId(2));
    recorder->stop();
    before = recorder->listClips();
  }
  ASSERT_EQ(before.size(), 2u);
  EXPECT_TRUE(before[1].id.starts_with("2025-11-25/")) << before[1].id;
  auto recorder = startOk(optionsFor(dir.path()));
  EXPECT_TRUE(recorder->startReport().interrupted.empty());
  EXPECT_TRUE(recorder->startReport().problems.empty());
  EXPECT_EQ(recorder->startReport().clips, 2u);
  const auto after = recorder->listClips();
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < after.size(); ++i) {
    SCOPED_TRACE(after[i].id);
    EXPECT_EQ(after[i].id, before[i].id);
    EXPECT_EQ(after[i].path, before[i].path);
    EXPECT_EQ(after[i].alarm, before[i].alarm);
    EXPECT_EQ(after[i].camera, before[i].camera);
    EXPECT_EQ(after[i].part, before[i].part);
    EXPECT_EQ(after[i].level, before[i].level);
    EXPECT_EQ(after[i].bytes, before[i].bytes);
    EXPECT_EQ(after[i].start_us, before[i].start_us);
    EXPECT_EQ(after[i].end_us, before[i].end_us);
    EXPECT_EQ(after[i].frames, before[i].frames);
    EXPECT_EQ(after[i].state, ClipState::kComplete);
    EXPECT_EQ(after[i].acknowledged, before[i].acknowledged);
  }
  EXPECT_FALSE(after[0].acknowledged);
  EXPECT_TRUE(after[1].acknowledged);
  // The same alarm and camera again: a new part, never an overwrite.
  recordClip(*recorder, "cam1", alarmId(1), 10, kBaseUs + 1'000'000);
  recorder->stop();
  EXPECT_EQ(recorder->listClips().size(), 3u);
  EXPECT_TRUE(fs::exists(dir.path() / "2025-11-24" / alarmId(1).hex() / "cam1.2.mp4"));
}

TEST(EvidenceRecorder, ChunkedReadReassemblesTheExactFile) {
  TempDir dir;
  auto recorder = startOk(optionsFor(dir.path()));
  const auto units = makeUnits(40);
  feed(*recorder, "cam1", units, 0, 25, {{alarmId(7), 1}});
  recorder->flush();
  auto clips = recorder->listClips();
  ASSERT_EQ(clips.size(), 1u);
  const std::string id = clips[0].id;
  // While recording: readable, not complete.
  auto first = recorder->readChunk(id, 0, 100);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_FALSE(first->complete);
  EXPECT_FALSE(first->eof);
  feed(*recorder, "cam1", units, 25, 40, {});
  recorder->flush();

  const auto expected = readFile(clips[0].path);
  ASSERT_GT(expected.size(), 3000u);
  std::vector<uint8_t> fetched;
  for (int round = 0; round < 1000; ++round) {
    auto chunk = recorder->readChunk(id, fetched.size(), 1000);
    ASSERT_TRUE(chunk.ok()) << chunk.error().message;
    EXPECT_EQ(chunk->offset, fetched.size());
    EXPECT_EQ(chunk->file_bytes, expected.size());
    EXPECT_TRUE(chunk->complete);
    EXPECT_LE(chunk->bytes.size(), 1000u);
    fetched.insert(fetched.end(), chunk->bytes.begin(), chunk->bytes.end());
    if (chunk->eof) break;
    EXPECT_EQ(chunk->bytes.size(), 1000u);
  }
  EXPECT_EQ(fetched, expected);
  // Resuming from any offset gives the same bytes.
  auto middle = recorder->readChunk(id, 1234, 500);
  ASSERT_TRUE(middle.ok());
  EXPECT_TRUE(std::equal(middle->bytes.begin(), middle->bytes.end(), expected.begin() + 1234));
  auto at_end = recorder->readChunk(id, expected.size(), 1000);
  ASSERT_TRUE(at_end.ok());
  EXPECT_TRUE(at_end->bytes.empty());
  EXPECT_TRUE(at_end->eof);
  auto beyond = recorder->readChunk(id, expected.size() + 1, 1000);
  ASSERT_FALSE(beyond.ok());
  EXPECT_EQ(beyond.error().code, "bad_offset");
  for (const std::string& bad : std::vector<std::string>{"2025-11-24/nope/cam1.mp4", "../../../etc/passwd", "", clips[0].path}) {
    auto unknown = recorder->readChunk(bad, 0, 10);
    ASSERT_FALSE(unknown.ok()) << bad;
    EXPECT_EQ(unknown.error().code, "unknown_clip") << bad;
    EXPECT_NE(unknown.error().message.find("no clip"), std::string::npos);
  }
}

// A real process recording a clip is killed with SIGKILL in the middle of it.
// The fragments it completed play; a start on the same directory reports the
// clip as interrupted, repairs it and keeps it in the index.
TEST(EvidenceRecorder, ClipOfAProcessKilledMidClipStillPlays) {
  TempDir dir;
  const auto units = makeUnits(100);
  ASSERT_EQ(units.size(), 100u);
  const auto a = alarmId(0x5a);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    auto started = EvidenceRecorder::start(optionsFor(dir.path()));
    if (!started) ::_exit(3);
    auto& recorder = **started;
    feed(recorder, "cam1", units, 0, 35, {{a, 1}});  // three complete GOPs and a bit
    recorder.flush();
    if (::write(fds[1], "r", 1) != 1) ::_exit(4);
    // Keep recording until killed, as a live camera would.
    for (int i = 35; i < 100; ++i) {
      recorder.onUnit("cam1", units[static_cast<size_t>(i)], std::vector<CoveringAlarm>{{a, 1}});
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ::pause();
    ::_exit(0);
  }
  ::close(fds[1]);
  pollfd p{fds[0], POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 60'000), 1) << "the child never got going";
  char ready = 0;
  ASSERT_EQ(::read(fds[0], &ready, 1), 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(120));  // mid-way through the rest
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status));
  ::close(fds[0]);

  const auto path = dir.path() / "2025-11-24" / a.hex() / "cam1.mp4";
  ASSERT_TRUE(fs::exists(path));
  auto recorder = startOk(optionsFor(dir.path()));
  const auto& report = recorder->startReport();
  ASSERT_EQ(report.interrupted.size(), 1u);
  EXPECT_EQ(report.interrupted[0].path, path.string());
  EXPECT_NE(report.interrupted[0].note.find("frame(s) play"), std::string::npos) << report.interrupted[0].note;
  const auto clips = recorder->listClips();
  ASSERT_EQ(clips.size(), 1u);
  EXPECT_EQ(clips[0].state, ClipState::kInterrupted);
  EXPECT_GE(clips[0].frames, 30u);
  EXPECT_EQ(clips[0].start_us, units[0]->capture_us);
  const auto playable = verifyPlayable(path.string());
  EXPECT_TRUE(playable.ok) << playable.error;
  EXPECT_GE(playable.frames_decoded, 30) << "at least the three GOPs flushed before the signal";
  EXPECT_EQ(static_cast<uint64_t>(playable.frames_decoded), clips[0].frames);
  EXPECT_EQ(playable.frames_decoded % kGop, 0) << "whole GOPs only";
  // Kept across another restart, and no longer reported as interrupted.
  recorder.reset();
  recorder = startOk(optionsFor(dir.path()));
  EXPECT_TRUE(recorder->startReport().interrupted.empty());
  ASSERT_EQ(recorder->listClips().size(), 1u);
  EXPECT_EQ(recorder->listClips()[0].state, ClipState::kInterrupted);
}

// A small real file system that fills up while a clip is recorded: the
// write error names the file, the oldest clips are deleted, the clip goes on.
class EvidenceDiskFullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mount_ = dir_.path() / "small";
    fs::create_directory(mount_);
    if (::mount("tmpfs", mount_.c_str(), "tmpfs", 0, "size=1m") != 0)
      GTEST_SKIP() << "cannot mount a 1 MiB tmpfs (" << std::strerror(errno) << "): needs root or CAP_SYS_ADMIN";
    mounted_ = true;
  }
  void TearDown() override {
    if (mounted_) ::umount2(mount_.c_str(), MNT_DETACH);
  }
  TempDir dir_;
  fs::path mount_;
  bool mounted_ = false;
};

TEST_F(EvidenceDiskFullTest, WriteErrorPrunesTheOldestClipsAndRecordingGoesOn) {
  auto options = optionsFor(mount_ / "evidence");
  options.quota_bytes = 0;  // only the file system's size limits us
  options.prune_on_error_bytes = 40 * 1024;  // about three of the old clips
  auto recorder = startOk(options);
  ASSERT_TRUE(recorder);
  // Old clips: 6 of 20 frames, an hour apart.
  for (uint8_t n = 1; n <= 6; ++n)
    recordClip(*recorder, "cam1", alarmId(n), 20, kBaseUs + int64_t{n} * 3'600'000'000);
  recorder->flush();
  ASSERT_EQ(recorder->listClips().size(), 6u);
  // Fill what is left but a few KiB.
  {
    std::ofstream filler(mount_ / "filler", std::ios::binary);
    const std::string block(4096, 'f');
    while (filler.write(block.data(), block.size()) && filler.flush()) {
    }
  }
  fs::resize_file(mount_ / "filler", fs::file_size(mount_ / "filler") - 12 * 1024);

  const auto start = std::chrono::steady_clock::now();
  const auto now_alarm = alarmId(0xee);
  const auto units = makeUnits(61, kBaseUs + 10 * 3'600'000'000LL);
  feed(*recorder, "cam1", units, 0, 60, {{now_alarm, 1}});
  const auto feeding = std::chrono::steady_clock::now() - start;
  EXPECT_LT(feeding, std::chrono::milliseconds(500)) << "the caller never waits for the disk";
  feed(*recorder, "cam1", units, 60, 61, {});
  recorder->flush();

  const auto stats = recorder->stats();
  EXPECT_GE(stats.write_errors, 1u);
  EXPECT_NE(stats.last_error.find("disk is full"), std::string::npos) << stats.last_error;
  EXPECT_NE(stats.last_error.find(mount_.string()), std::string::npos) << "names the file: " << stats.last_error;
  EXPECT_GE(stats.clips_pruned, 1u);
  const auto clips = recorder->listClips();
  auto kept = [&](uint8_t n) {
    return std::any_of(clips.begin(), clips.end(), [&](const ClipInfo& c) { return c.alarm == alarmId(n); });
  };
  EXPECT_FALSE(kept(1) || kept(2) || kept(3)) << "the three oldest clips were deleted";
  EXPECT_TRUE(kept(4) && kept(5) && kept(6)) << "no more than needed";
  ClipFilter new_one;
  new_one.alarm = now_alarm;
  const auto recorded = recorder->listClips(new_one);
  ASSERT_FALSE(recorded.empty());
  uint64_t frames = 0;
  for (const auto& clip : recorded) {
    SCOPED_TRACE(clip.id + " " + std::string(clipStateName(clip.state)) + " " + clip.note);
    const auto report = verifyPlayable(clip.path);
    EXPECT_TRUE(report.ok) << report.error;
    frames += static_cast<uint64_t>(report.frames_decoded);
  }
  EXPECT_GE(frames, 40u) << "most of the alarm's video was saved";
  ASSERT_EQ(recorded.size(), 2u);
  EXPECT_EQ(recorded[0].state, ClipState::kFailed) << "the part the disk cut short is kept";
  EXPECT_NE(recorded[0].note.find("disk is full"), std::string::npos) << recorded[0].note;
  EXPECT_GT(recorded[0].frames, 0u);
  EXPECT_EQ(recorded[1].part, 2);
  EXPECT_EQ(recorded[1].state, ClipState::kComplete) << "the retry finished normally";
  // Both parts' metadata made it to disk (after the pruning): a restart sees no crash leftovers.
  recorder.reset();
  recorder = startOk(options);
  EXPECT_TRUE(recorder->startReport().interrupted.empty());
  EXPECT_EQ(recorder->listClips(new_one).size(), 2u);
}


TEST(EvidenceRecorder, ClosedClipCarriesTheChecksumOfItsFile) {
  TempDir dir;
  auto recorder = startOk(optionsFor(dir.path()));
  recordClip(*recorder, "cam", alarmId(7), 30, kBaseUs);
  recorder->flush();
  const auto clips = recorder->listClips();
  ASSERT_EQ(clips.size(), 1u);
  const auto& clip = clips[0];
  ASSERT_EQ(clip.state, ClipState::kComplete);
  ASSERT_EQ(clip.sha256.size(), 64u);
  EXPECT_EQ(clip.sha256, core::sha256Hex(readFile(clip.path)));
  auto last = recorder->readChunk(clip.id, 0, 4 << 20);
  ASSERT_TRUE(last) << last.error().message;
  EXPECT_TRUE(last->eof);
  EXPECT_EQ(last->sha256, clip.sha256);
  // Kept in the metadata: a restart has it without reading the clip again.
  std::string why;
  const auto sidecar = readSidecar(clip.path, &why);
  ASSERT_TRUE(sidecar) << why;
  EXPECT_EQ(sidecar->sha256, clip.sha256);
}

TEST(ClipStore, ClipIdsAreCheckedBeforeAnyFileIsOpened) {
  const std::string alarm(32, 'a');
  EXPECT_TRUE(validClipId("2025-11-24/" + alarm + "/hall-a-1.mp4"));
  EXPECT_TRUE(validClipId("2025-11-24/" + alarm + "/hall-a-1.2.mp4"));
  for (const std::string& bad : std::vector<std::string>{
           "../../etc/passwd", "/etc/passwd", "2025-11-24/" + alarm + "/../x.mp4",
        "2025-11-24/" + alarm + "/hall-a-1.json", "2025-11-24/" + alarm + "/hall a.mp4",
        "2025-11-24/" + alarm + "/sub/hall.mp4", "2025-11-24/" + alarm.substr(1) + "/hall.mp4",
        "2025-1x-24/" + alarm + "/hall.mp4", "2025-11-24/" + alarm + "/hall-a-1.1.mp4", ""})
    EXPECT_FALSE(validClipId(bad)) << bad;
}

// The raise falls in the third GOP (keyframes at units 0, 10, 20, 30): the
// snapshot is keyframe 20, the newest captured at or before the raise.
TEST(EvidenceRecorder, SnapshotIsTheKeyframeAtOrBeforeTheRaise) {
  TempDir dir;
  auto options = optionsFor(dir.path());
  auto recorder = startOk(options);
  const auto id = alarmId(8);
  const auto units = makeUnits(41);
  const std::string sid = snapshotId(id, "cam");
  EXPECT_EQ(recorder->readSnapshot(sid).error().code, "unknown_snapshot");
  recorder->requestSnapshot(id, {"cam"}, kBaseUs + 25 * kFrameUs);
  EXPECT_EQ(recorder->readSnapshot(sid).error().code, "not_ready") << "known as pending at once";
  feed(*recorder, "cam", units, 0, 40, {{id, 1}});
  feed(*recorder, "cam", units, 40, 41, {});
  recorder->flush();
  recorder->flushSnapshots();
  auto shot = recorder->readSnapshot(sid);
  ASSERT_TRUE(shot) << shot.error().message;
  EXPECT_EQ(shot->info.captured_us, kBaseUs + 20 * kFrameUs);
  EXPECT_EQ(shot->info.width, 320);
  EXPECT_EQ(shot->info.height, 240);
  EXPECT_EQ(jpegSize(shot->jpeg), (std::pair{320, 240}));
  const auto clips = recorder->listClips();
  ASSERT_EQ(clips.size(), 1u);
  EXPECT_EQ(fs::path(shot->info.path).parent_path(), fs::path(clips[0].path).parent_path()) << "beside its clip";
  EXPECT_EQ(recorder->stats().bytes, clips[0].bytes + shot->jpeg.size()) << "counted in the evidence bytes";

  // Found again after a restart.
  recorder.reset();
  recorder = startOk(options);
  auto again = recorder->readSnapshot(sid);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->jpeg, shot->jpeg);
  EXPECT_EQ(again->info.width, 320);
}

// Nothing of the camera before the raise: the first keyframe after it.
TEST(EvidenceRecorder, SnapshotWithoutABufferedKeyframeIsTheNextKeyframe) {
  TempDir dir;
  auto recorder = startOk(optionsFor(dir.path()));
  const auto id = alarmId(9);
  const auto units = makeUnits(31);
  recorder->requestSnapshot(id, {"cam"}, kBaseUs);
  feed(*recorder, "cam", units, 5, 30, {{id, 2}});  // starts mid-GOP, after the raise
  recorder->flush();
  recorder->flushSnapshots();
  auto shot = recorder->readSnapshot(snapshotId(id, "cam"));
  ASSERT_TRUE(shot) << shot.error().message;
  EXPECT_EQ(shot->info.captured_us, kBaseUs + 10 * kFrameUs);
}

TEST(EvidenceRecorder, SnapshotIsPrunedWithTheLastClipOfItsAlarmAndCamera) {
  TempDir dir;
  auto options = optionsFor(dir.path());
  auto recorder = startOk(options);
  const auto old_alarm = alarmId(10);
  const auto units = makeUnits(31);
  recorder->requestSnapshot(old_alarm, {"cam"}, kBaseUs + 5 * kFrameUs);
  feed(*recorder, "cam", units, 0, 30, {{old_alarm, 2}});
  feed(*recorder, "cam", units, 30, 31, {});
  recorder->flush();
  recorder->flushSnapshots();
  auto shot = recorder->readSnapshot(snapshotId(old_alarm, "cam"));
  ASSERT_TRUE(shot) << shot.error().message;
  const uint64_t old_bytes = recorder->stats().bytes;
  recorder.reset();
  // A quota that holds one alarm's evidence, not two: the old one goes, snapshot and all.
  options.quota_bytes = old_bytes + old_bytes / 2;
  recorder = startOk(options);
  recordClip(*recorder, "cam", alarmId(11), 30, kBaseUs + 60'000'000);
  recorder->flush();
  EXPECT_EQ(recorder->readSnapshot(snapshotId(old_alarm, "cam")).error().code, "unknown_snapshot");
  EXPECT_FALSE(fs::exists(shot->info.path));
  EXPECT_LE(recorder->stats().bytes, options.quota_bytes);
}

// The clip of an alarm fails (its file cannot be created: the clip's name is
// a link into a directory that does not exist), its snapshot is written. No
// clip takes that snapshot along, yet it counts against the quota: retention
// deletes it on its own, oldest first, instead of newer clips.
TEST(EvidenceRecorder, ASnapshotWhoseClipFailedIsPrunedOnItsOwn) {
  TempDir dir;
  auto options = optionsFor(dir.path());
  options.prune_on_error_bytes = 0;  // the failure alone must not delete anything here
  const auto failed_alarm = alarmId(12);
  const fs::path clip_path = dir.path() / clipRelativePath(kBaseUs, failed_alarm, "cam", 1);
  std::string shot_path;
  uint64_t shot_bytes = 0, all_bytes = 0;
  {
    auto recorder = startOk(options);
    fs::create_directories(clip_path.parent_path());
    fs::create_symlink(dir.path() / "missing" / "cam.mp4", clip_path);
    recorder->requestSnapshot(failed_alarm, {"cam"}, kBaseUs + 5 * kFrameUs);
    const auto units = makeUnits(31);
    feed(*recorder, "cam", units, 0, 30, {{failed_alarm, 2}});
    feed(*recorder, "cam", units, 30, 31, {});
    recorder->flush();
    recorder->flushSnapshots();
    EXPECT_GE(recorder->stats().write_errors, 1u);
    ClipFilter of_failed;
    of_failed.alarm = failed_alarm;
    EXPECT_TRUE(recorder->listClips(of_failed).empty()) << "the clip failed";
    auto shot = recorder->readSnapshot(snapshotId(failed_alarm, "cam"));
    ASSERT_TRUE(shot) << shot.error().message;
    shot_path = shot->info.path;
    shot_bytes = shot->jpeg.size();
    // A later alarm, recorded well. (Later than the snapshot's file too: after
    // a restart a snapshot's capture time is its file's modification time.)
    const int64_t later_us = std::chrono::duration_cast<std::chrono::microseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count() +
                             3'600'000'000;
    recordClip(*recorder, "cam", alarmId(13), 30, later_us);
    recorder->flush();
    all_bytes = recorder->stats().bytes;
    ASSERT_EQ(recorder->listClips().size(), 1u);
    EXPECT_EQ(all_bytes, recorder->listClips()[0].bytes + shot_bytes) << "the snapshot counts against the quota";
  }
  fs::remove(clip_path);  // the fault is gone; what it left is not

  // Room for all but a byte: the oldest piece of evidence goes, which is the snapshot.
  options.quota_bytes = all_bytes - 1;
  auto recorder = startOk(options);
  const auto gone = recorder->readSnapshot(snapshotId(failed_alarm, "cam"));
  EXPECT_FALSE(gone.ok()) << "the snapshot without a clip was kept";
  if (!gone) {
    EXPECT_EQ(gone.error().code, "unknown_snapshot");
  }
  EXPECT_FALSE(fs::exists(shot_path));
  EXPECT_EQ(recorder->stats().snapshots_pruned, 1u);
  ASSERT_EQ(recorder->listClips().size(), 1u) << "the newer clip is kept";
  EXPECT_EQ(recorder->listClips()[0].alarm, alarmId(13));
  EXPECT_EQ(recorder->stats().clips_pruned, 0u);
  EXPECT_LE(recorder->stats().bytes, options.quota_bytes);
  EXPECT_FALSE(recorder->stats().over_quota);
}

}  // namespace
}  // namespace vcgate::evidence
