#include "gateway/evidence/evidence_recorder.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <tuple>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "gateway/core/realtime.h"
#include "gateway/core/sha256.h"
#include "gateway/evidence/mp4_writer.h"
#include "gateway/probe/keyframe.h"

namespace vcgate::evidence {
namespace {

namespace fs = std::filesystem;

// Units held per camera so that a clip (or a retry after a write error) can
// start at a keyframe: from the previous GOP's keyframe on, at most this many.
constexpr size_t kMaxRecentUnits = 600;
// Bounds the remembered alarm ids (closed, acknowledged): old ones no longer matter.
constexpr size_t kMaxRememberedAlarms = 4096;
// After a write error and a failed retry, a clip waits this long before trying again.
constexpr auto kRetryDelay = std::chrono::seconds(10);
constexpr size_t kMaxChunkBytes = 4 << 20;
constexpr auto kIdleCheckEvery = std::chrono::seconds(1);
// A camera that gives no keyframe for this long after a raise gets no snapshot.
constexpr auto kSnapshotWait = std::chrono::seconds(30);
constexpr int kSnapshotQuality = 3;           // MJPEG quantiser: 2 best .. 31 worst
constexpr uint64_t kMaxSnapshotBytes = 8 << 20;  // a JPEG larger than this is not ours

std::string reasonText(int err) {
  switch (err) {
    case ENOSPC:
      return "the disk is full (no space left on device)";
    case EACCES:
    case EPERM:
      return "permission denied";
    case EROFS:
      return "the file system is read-only";
    case ENOTDIR:
      return "a path component is not a directory";
    default:
      return std::strerror(err);
  }
}

void remember(std::set<alarm::AlarmId>& set, std::deque<alarm::AlarmId>& order, const alarm::AlarmId& id) {
  if (!set.insert(id).second) return;
  order.push_back(id);
  if (order.size() > kMaxRememberedAlarms) {
    set.erase(order.front());
    order.pop_front();
  }
}

uint64_t freeBytes(const std::string& dir) {
  struct statvfs st {};
  if (::statvfs(dir.c_str(), &st) != 0) return UINT64_MAX;  // unknown: do not prune for it
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

// Removes the clip's files and the directories the deletion left empty.
void removeClipFiles(const std::string& evidence_dir, const std::string& path) {
  std::error_code ec;
  fs::remove(path, ec);
  fs::remove(sidecarPath(path), ec);
  fs::path dir = fs::path(path).parent_path();
  for (int up = 0; up < 2 && dir != fs::path(evidence_dir) && fs::is_empty(dir, ec) && !ec; ++up) {
    fs::remove(dir, ec);
    dir = dir.parent_path();
  }
}

}  // namespace

struct EvidenceRecorder::OpenClip {
  ClipInfo info;                         // the current part; info.id empty until its file exists
  std::unique_ptr<Mp4Writer> writer;     // open while a part is being written
  int fd = -1;                           // the part's file, for fdatasync and its size
  core::VideoCodec codec = core::VideoCodec::kH264;
  int width = 0;
  int height = 0;
  bool failing = false;                  // a write failed and the retry too: skip until retry_after
  core::TimePoint retry_after{};
  uint64_t waiting_dropped = 0;          // units that could not start the clip (no keyframe held yet)
};

struct EvidenceRecorder::PendingShot {
  std::string id;
  alarm::AlarmId alarm;
  int64_t raised_us = 0;
  core::TimePoint requested{};
  media::AccessUnitPtr candidate;  // the newest keyframe captured at or before the raise, so far
};

struct EvidenceRecorder::CameraState {
  std::deque<media::AccessUnitPtr> recent;
  std::map<alarm::AlarmId, OpenClip> clips;
  std::map<alarm::AlarmId, PendingShot> shots;
  core::TimePoint last_unit{};
};

struct EvidenceRecorder::ShotJob {
  SnapshotInfo info;  // id, alarm, camera, path to write
  media::AccessUnitPtr unit;
};

std::string_view snapshotStateName(SnapshotState state) {
  switch (state) {
    case SnapshotState::kPending:
      return "pending";
    case SnapshotState::kReady:
      return "ready";
    case SnapshotState::kFailed:
      return "failed";
  }
  return "pending";
}

EvidenceRecorder::EvidenceRecorder(RecorderOptions options)
    : options_(std::move(options)),
      clock_(options_.clock ? *options_.clock : core::SystemClock::instance()),
      queue_(options_.queue_units, options_.queue_bytes) {}

core::Result<std::unique_ptr<EvidenceRecorder>> EvidenceRecorder::start(RecorderOptions options) {
  if (options.dir.empty()) return core::makeError("the evidence directory is not set (storage.evidence_dir)");
  std::error_code ec;
  fs::create_directories(options.dir, ec);
  if (ec)
    return core::makeError(
        fmt::format("cannot create the evidence directory {}: {}", options.dir, reasonText(ec.value())));
  if (!fs::is_directory(options.dir, ec))
    return core::makeError(fmt::format("the evidence directory {} is not a directory", options.dir));

  std::unique_ptr<EvidenceRecorder> recorder(new EvidenceRecorder(std::move(options)));
  EvidenceRecorder& r = *recorder;
  ScanResult scan = scanEvidenceDir(r.options_.dir);
  for (auto& clip : scan.clips) {
    if (clip.acknowledged) remember(r.acknowledged_, r.acknowledged_order_, clip.alarm);
    r.start_report_.bytes += clip.bytes;
    r.index_bytes_ += clip.bytes;
    r.index_.emplace(clip.id, std::move(clip));
  }
  r.start_report_.clips = r.index_.size();
  r.start_report_.interrupted = std::move(scan.interrupted);
  r.start_report_.problems = std::move(scan.problems);
  for (const auto& clip : r.start_report_.interrupted)
    spdlog::warn("evidence: clip {} was left open by a crash: {}", clip.path, clip.note);
  for (const auto& problem : r.start_report_.problems) spdlog::warn("evidence: {}", problem);
  r.scanSnapshots();
  r.enforceRetention();
  r.start_report_.pruned = r.stats_.clips_pruned;
  spdlog::info("evidence: {} clip(s), {} MB in {} ({} left open by a crash, {} deleted for the quota)",
               r.start_report_.clips, r.start_report_.bytes / 1'000'000, r.options_.dir,
               r.start_report_.interrupted.size(), r.start_report_.pruned);
  r.worker_ = std::thread([&r] {
    core::nameThisThread("vcg-evidence");
    r.run();
  });
  r.shot_thread_ = std::thread([&r] {
    core::nameThisThread("vcg-snapshot");
    r.runSnapshots();
  });
  return recorder;
}

EvidenceRecorder::~EvidenceRecorder() { stop(); }

void EvidenceRecorder::stop() {
  std::lock_guard lock(stop_mutex_);
  stopped_ = true;
  if (!worker_.joinable()) return;
  RecorderTask task;
  task.kind = RecorderTask::Kind::kStop;
  queue_.pushControl(std::move(task));
  queue_.close();
  worker_.join();
  // The worker hands no more jobs now: write what it gave, then stop.
  {
    std::lock_guard shots(shot_mutex_);
    shot_stop_ = true;
  }
  shot_wake_.notify_all();
  if (shot_thread_.joinable()) shot_thread_.join();
}

void EvidenceRecorder::onUnit(const std::string& camera, const media::AccessUnitPtr& unit,
                              std::span<const CoveringAlarm> alarms) {
  if (!unit || stopped_.load(std::memory_order_relaxed)) return;
  RecorderTask task;
  task.kind = RecorderTask::Kind::kUnit;
  task.camera = camera;
  task.unit = unit;
  task.alarms.assign(alarms.begin(), alarms.end());
  (void)queue_.pushUnit(std::move(task));
}

void EvidenceRecorder::closeAlarm(const alarm::AlarmId& id) {
  RecorderTask task;
  task.kind = RecorderTask::Kind::kCloseAlarm;
  task.alarm = id;
  queue_.pushControl(std::move(task));
}

void EvidenceRecorder::setAcknowledged(const alarm::AlarmId& id) {
  RecorderTask task;
  task.kind = RecorderTask::Kind::kAcknowledged;
  task.alarm = id;
  queue_.pushControl(std::move(task));
}

void EvidenceRecorder::requestSnapshot(const alarm::AlarmId& id, const std::vector<std::string>& cameras,
                                       int64_t raised_us) {
  if (stopped_.load(std::memory_order_relaxed)) return;
  RecorderTask task;
  task.kind = RecorderTask::Kind::kSnapshot;
  task.alarm = id;
  task.raised_us = raised_us;
  {
    // Known as pending at once, so a fetch right after the raise says "not ready", not "unknown".
    std::lock_guard lock(index_mutex_);
    for (const auto& camera : cameras) {
      if (!validCameraId(camera)) continue;
      const std::string sid = snapshotId(id, camera);
      if (snapshots_.count(sid)) continue;  // one per alarm and camera: the raise
      SnapshotInfo info;
      info.id = sid;
      info.alarm = id;
      info.camera = camera;
      snapshots_.emplace(sid, std::move(info));
      task.cameras.push_back(camera);
    }
  }
  if (!task.cameras.empty()) queue_.pushControl(std::move(task));
}

void EvidenceRecorder::flush() {
  uint64_t token;
  {
    std::lock_guard lock(flush_mutex_);
    token = ++flush_requested_;
  }
  RecorderTask task;
  task.kind = RecorderTask::Kind::kFlush;
  task.token = token;
  if (!queue_.pushControl(std::move(task))) return;
  std::unique_lock lock(flush_mutex_);
  flushed_.wait(lock, [&] { return flush_done_ >= token; });
}

void EvidenceRecorder::run() {
  auto last_idle_check = clock_.now();
  std::deque<RecorderTask> batch;
  bool stopping = false;
  // Nothing here throws by design; if something does, the recorder keeps
  // going (with the next task) rather than taking the daemon down.
  auto guarded = [this](auto&& step) {
    try {
      step();
    } catch (const std::exception& e) {
      noteError(fmt::format("evidence recorder: unexpected error: {}", e.what()));
    }
  };
  while (!stopping) {
    batch.clear();
    queue_.popBatch(batch, std::chrono::milliseconds(1000));
    for (auto& task : batch) {
      if (task.kind == RecorderTask::Kind::kStop) {
        stopping = true;
        break;
      }
      guarded([&] { handle(task); });
    }
    if (clock_.now() - last_idle_check >= kIdleCheckEvery) {
      last_idle_check = clock_.now();
      guarded([&] { closeIdle(); });
    }
  }
  try {
    closeAll();
  } catch (const std::exception& e) {
    noteError(fmt::format("evidence recorder: unexpected error while stopping: {}", e.what()));
  }
  std::lock_guard lock(flush_mutex_);
  flush_done_ = UINT64_MAX;  // nobody waits for a stopped worker
  flushed_.notify_all();
}

void EvidenceRecorder::handle(RecorderTask& task) {
  switch (task.kind) {
    case RecorderTask::Kind::kUnit:
      handleUnit(task);
      break;
    case RecorderTask::Kind::kCloseAlarm:
      remember(closed_alarms_, closed_order_, task.alarm);
      for (auto& [name, camera] : cameras_)
        closeClipsOf(*camera, [&](const alarm::AlarmId& id) { return id == task.alarm; });
      break;
    case RecorderTask::Kind::kAcknowledged: {
      remember(acknowledged_, acknowledged_order_, task.alarm);
      std::vector<ClipInfo> changed;
      {
        std::lock_guard lock(index_mutex_);
        for (auto& [id, clip] : index_) {
          if (clip.alarm != task.alarm || clip.acknowledged) continue;
          clip.acknowledged = true;
          changed.push_back(clip);
        }
      }
      for (const auto& clip : changed)
        if (clip.state != ClipState::kRecording) (void)writeSidecar(clip, options_.sync_fragments);
      for (auto& [name, camera] : cameras_)
        for (auto& [id, clip] : camera->clips)
          if (id == task.alarm) clip.info.acknowledged = true;
      break;
    }
    case RecorderTask::Kind::kSnapshot:
      startSnapshot(task);
      break;
    case RecorderTask::Kind::kFlush: {
      std::lock_guard lock(flush_mutex_);
      flush_done_ = std::max(flush_done_, task.token);
      flushed_.notify_all();
      break;
    }
    case RecorderTask::Kind::kStop:
      break;
  }
}

void EvidenceRecorder::handleUnit(const RecorderTask& task) {
  if (!validCameraId(task.camera)) {
    std::lock_guard lock(index_mutex_);
    ++stats_.units_bad_camera;
    return;
  }
  auto& slot = cameras_[task.camera];
  if (!slot) slot = std::make_unique<CameraState>();
  CameraState& camera = *slot;
  camera.last_unit = clock_.now();
  const media::AccessUnitPtr& unit = task.unit;

  // Keep the units since the previous GOP's keyframe; a gap (dropped units)
  // makes what is held useless to start from.
  if (task.dropped_before > 0) camera.recent.clear();
  if (unit->keyframe) {
    auto newest_key = std::find_if(camera.recent.rbegin(), camera.recent.rend(),
                                   [](const media::AccessUnitPtr& u) { return u->keyframe; });
    if (newest_key != camera.recent.rend()) camera.recent.erase(camera.recent.begin(), std::prev(newest_key.base()));
  }
  camera.recent.push_back(unit);
  if (camera.recent.size() > kMaxRecentUnits) {
    camera.recent.pop_front();
    while (!camera.recent.empty() && !camera.recent.front()->keyframe) camera.recent.pop_front();
  }

  // An alarm whose tag is gone from this camera's units: its clip is done.
  closeClipsOf(camera, [&](const alarm::AlarmId& id) {
    return std::none_of(task.alarms.begin(), task.alarms.end(), [&](const CoveringAlarm& a) { return a.id == id; });
  });

  for (const CoveringAlarm& covering : task.alarms) {
    if (closed_alarms_.count(covering.id)) {
      std::lock_guard lock(index_mutex_);
      ++stats_.units_after_close;
      continue;
    }
    auto it = camera.clips.find(covering.id);
    if (it != camera.clips.end()) {
      OpenClip& clip = it->second;
      clip.info.level = std::min<int>(clip.info.level, covering.level);
      clip.info.dropped_units += task.dropped_before;
      writeUnit(clip, unit);
      continue;
    }
    OpenClip fresh;
    fresh.info.alarm = covering.id;
    fresh.info.camera = task.camera;
    fresh.info.level = covering.level;
    fresh.info.acknowledged = acknowledged_.count(covering.id) > 0;
    OpenClip& clip = camera.clips.emplace(covering.id, std::move(fresh)).first->second;
    // Start at the keyframe of this unit's GOP (the unit itself if it is
    // one), so the clip decodes from its first frame.
    auto key = std::find_if(camera.recent.rbegin(), camera.recent.rend(),
                            [](const media::AccessUnitPtr& u) { return u->keyframe; });
    if (key == camera.recent.rend()) {
      ++clip.waiting_dropped;
      continue;
    }
    const std::vector<media::AccessUnitPtr> replay(std::prev(key.base()), camera.recent.end());
    for (const auto& u : replay) writeUnit(clip, u);
  }
  // After the clips: a snapshot goes beside its alarm's clip, whose file now exists.
  if (!camera.shots.empty()) offerShots(task.camera, camera, unit);
}

namespace {
// The snapshot's keyframe, once known: the newest keyframe captured at or
// before the raise, else the first one after it. Null: not decided yet.
media::AccessUnitPtr decideShot(media::AccessUnitPtr& candidate, int64_t raised_us, const media::AccessUnitPtr& unit) {
  if (unit->capture_us <= raised_us) {
    if (unit->keyframe) candidate = unit;
    return nullptr;
  }
  if (candidate) return candidate;
  return unit->keyframe ? unit : nullptr;
}
}  // namespace

void EvidenceRecorder::startSnapshot(const RecorderTask& task) {
  for (const auto& camera_id : task.cameras) {
    auto& slot = cameras_[camera_id];
    if (!slot) slot = std::make_unique<CameraState>();
    PendingShot shot;
    shot.id = snapshotId(task.alarm, camera_id);
    shot.alarm = task.alarm;
    shot.raised_us = task.raised_us;
    shot.requested = clock_.now();
    // The camera may be published already (live view, another alarm): what
    // the recorder holds of it may contain the frame at the raise.
    media::AccessUnitPtr decided;
    for (const auto& unit : slot->recent)
      if ((decided = decideShot(shot.candidate, shot.raised_us, unit))) break;
    if (decided) {
      takeShot(camera_id, shot, decided);
      continue;
    }
    slot->shots[task.alarm] = std::move(shot);
  }
}

void EvidenceRecorder::offerShots(const std::string& camera_id, CameraState& camera, const media::AccessUnitPtr& unit) {
  for (auto it = camera.shots.begin(); it != camera.shots.end();) {
    if (auto decided = decideShot(it->second.candidate, it->second.raised_us, unit)) {
      takeShot(camera_id, it->second, decided);
      it = camera.shots.erase(it);
    } else {
      ++it;
    }
  }
}

void EvidenceRecorder::takeShot(const std::string& camera_id, const PendingShot& shot,
                                const media::AccessUnitPtr& unit) {
  auto job = std::make_unique<ShotJob>();
  job->unit = unit;
  job->info.id = shot.id;
  job->info.camera = camera_id;
  job->info.captured_us = unit->capture_us;
  job->info.alarm = shot.alarm;
  // Beside the alarm's clip of this camera when there is one, else where its
  // clip would go.
  fs::path dir;
  if (auto cam = cameras_.find(camera_id); cam != cameras_.end())
    if (auto clip = cam->second->clips.find(job->info.alarm); clip != cam->second->clips.end() && !clip->second.info.path.empty())
      dir = fs::path(clip->second.info.path).parent_path();
  if (dir.empty())
    dir = (fs::path(options_.dir) / clipRelativePath(unit->capture_us, job->info.alarm, camera_id, 1)).parent_path();
  job->info.path = (dir / (camera_id + ".jpg")).string();
  {
    std::lock_guard lock(shot_mutex_);
    shot_jobs_.push_back(std::move(job));
  }
  shot_wake_.notify_one();
}

void EvidenceRecorder::expireShots() {
  const auto now = clock_.now();
  for (auto& [name, camera] : cameras_) {
    for (auto it = camera->shots.begin(); it != camera->shots.end();) {
      if (now - it->second.requested < kSnapshotWait) {
        ++it;
        continue;
      }
      if (it->second.candidate) {
        takeShot(name, it->second, it->second.candidate);  // nothing came after the raise: the frame before it
      } else {
        failShot(it->second.id, fmt::format("camera {} gave no keyframe within {} s of the raise", name,
                                            kSnapshotWait.count()));
      }
      it = camera->shots.erase(it);
    }
  }
}

void EvidenceRecorder::failShot(const std::string& id, const std::string& why) {
  spdlog::warn("evidence: no snapshot {}: {}", id, why);
  std::lock_guard lock(index_mutex_);
  if (auto it = snapshots_.find(id); it != snapshots_.end()) {
    it->second.state = SnapshotState::kFailed;
    it->second.error = why;
  }
}

void EvidenceRecorder::runSnapshots() {
  while (true) {
    std::unique_ptr<ShotJob> job;
    {
      std::unique_lock lock(shot_mutex_);
      shot_wake_.wait(lock, [&] { return shot_stop_ || !shot_jobs_.empty(); });
      if (shot_jobs_.empty()) break;  // stopping, and everything was written
      job = std::move(shot_jobs_.front());
      shot_jobs_.pop_front();
      shot_busy_ = true;
    }
    try {
      writeShot(*job);
    } catch (const std::exception& e) {
      failShot(job->info.id, fmt::format("unexpected error: {}", e.what()));
    }
    {
      std::lock_guard lock(shot_mutex_);
      shot_busy_ = false;
    }
    shot_idle_.notify_all();
  }
  shot_idle_.notify_all();
}

void EvidenceRecorder::flushSnapshots() {
  std::unique_lock lock(shot_mutex_);
  shot_idle_.wait(lock, [&] { return (shot_jobs_.empty() && !shot_busy_) || !shot_thread_.joinable(); });
}

void EvidenceRecorder::writeShot(const ShotJob& job) {
  const media::AccessUnit& unit = *job.unit;
  auto jpeg = probe::keyframeToJpeg(unit.codec, unit.data, kSnapshotQuality);
  if (!jpeg) {
    failShot(job.info.id, fmt::format("the keyframe of camera {} does not decode: {}", job.info.camera,
                                      jpeg.error().message));
    return;
  }
  const std::string& path = job.info.path;
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  const std::string tmp = path + ".tmp";
  int err = 0;
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) {
    err = errno;
  } else {
    if (::write(fd, jpeg->data.data(), jpeg->data.size()) != static_cast<ssize_t>(jpeg->data.size()))
      err = errno ? errno : EIO;
    if (!err && options_.sync_fragments && ::fdatasync(fd) != 0) err = errno;
    ::close(fd);
    if (!err && ::rename(tmp.c_str(), path.c_str()) != 0) err = errno;
    if (err) ::unlink(tmp.c_str());
  }
  if (err) {
    const std::string why = fmt::format("cannot write {}: {}", path, reasonText(err));
    noteError(why);
    failShot(job.info.id, why);
    return;
  }
  {
    std::lock_guard lock(index_mutex_);
    auto it = snapshots_.find(job.info.id);
    if (it == snapshots_.end()) return;  // cannot happen: only pruning removes entries, and only ready ones
    SnapshotInfo& info = it->second;
    info.path = path;
    info.state = SnapshotState::kReady;
    info.width = jpeg->width;
    info.height = jpeg->height;
    info.bytes = jpeg->data.size();
    info.captured_us = job.info.captured_us;
    index_bytes_ += info.bytes;
  }
  spdlog::info("evidence: snapshot {} ({}x{}, {} bytes) of alarm {} camera {}", path, jpeg->width, jpeg->height,
               jpeg->data.size(), job.info.alarm.hex(), job.info.camera);
}

void EvidenceRecorder::scanSnapshots() {
  std::error_code ec;
  for (fs::directory_iterator day(options_.dir, ec), end; !ec && day != end; day.increment(ec)) {
    std::error_code ec2;
    for (fs::directory_iterator alarm_dir(day->path(), ec2); !ec2 && alarm_dir != end; alarm_dir.increment(ec2)) {
      const auto alarm = alarm::AlarmId::fromHex(alarm_dir->path().filename().string());
      if (!alarm) continue;
      std::error_code ec3;
      for (fs::directory_iterator f(alarm_dir->path(), ec3); !ec3 && f != end; f.increment(ec3)) {
        const fs::path& file = f->path();
        if (file.extension() != ".jpg" || !validCameraId(file.stem().string())) {
          if (file.filename().string().ends_with(".jpg.tmp")) fs::remove(file, ec3);  // a write cut short
          continue;
        }
        SnapshotInfo info;
        info.alarm = *alarm;
        info.camera = file.stem().string();
        info.id = snapshotId(info.alarm, info.camera);
        info.path = file.string();
        info.state = SnapshotState::kReady;
        std::error_code size_ec;
        info.bytes = fs::file_size(file, size_ec);
        if (size_ec || info.bytes > kMaxSnapshotBytes) continue;
        std::ifstream in(file, std::ios::binary);
        std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (auto size = jpegSize(bytes)) std::tie(info.width, info.height) = *size;
        struct stat st {};
        if (::stat(info.path.c_str(), &st) == 0)
          info.captured_us = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000 + st.st_mtim.tv_nsec / 1000;
        index_bytes_ += info.bytes;
        start_report_.bytes += info.bytes;
        snapshots_[info.id] = std::move(info);
      }
    }
  }
}

void EvidenceRecorder::removeSnapshotOf(const alarm::AlarmId& alarm, const std::string& camera) {
  std::string path;
  {
    std::lock_guard lock(index_mutex_);
    auto it = snapshots_.find(snapshotId(alarm, camera));
    if (it == snapshots_.end() || it->second.state != SnapshotState::kReady) return;
    path = it->second.path;
    index_bytes_ -= std::min(index_bytes_, it->second.bytes);
    snapshots_.erase(it);
  }
  std::error_code ec;
  fs::remove(path, ec);
  fs::path dir = fs::path(path).parent_path();
  for (int up = 0; up < 2 && dir != fs::path(options_.dir) && fs::is_empty(dir, ec) && !ec; ++up) {
    fs::remove(dir, ec);
    dir = dir.parent_path();
  }
}

std::optional<SnapshotInfo> EvidenceRecorder::snapshot(const std::string& id) const {
  std::lock_guard lock(index_mutex_);
  auto it = snapshots_.find(id);
  if (it == snapshots_.end()) return std::nullopt;
  return it->second;
}

core::Result<SnapshotFile> EvidenceRecorder::readSnapshot(const std::string& id) const {
  auto info = snapshot(id);
  if (!info)
    return core::makeCodedError("unknown_snapshot",
                                fmt::format("no snapshot \"{}\": none was taken for that alarm and camera (a snapshot "
                                            "is taken at the raise for each camera the alarm covers), or it was "
                                            "deleted with its clips to keep the evidence quota",
                                            id));
  if (info->state == SnapshotState::kPending)
    return core::makeCodedError("not_ready", fmt::format("snapshot \"{}\" is being taken: ask again in a moment", id));
  if (info->state == SnapshotState::kFailed)
    return core::makeCodedError("not_available", fmt::format("snapshot \"{}\" could not be taken: {}", id, info->error));
  std::ifstream in(info->path, std::ios::binary);
  if (!in) return core::makeError(fmt::format("cannot read {}: {}", info->path, reasonText(errno)));
  SnapshotFile file;
  file.jpeg.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (file.jpeg.size() > kMaxSnapshotBytes)
    return core::makeError(fmt::format("{} is {} bytes: too large for a snapshot", info->path, file.jpeg.size()));
  file.info = std::move(*info);
  return file;
}

int EvidenceRecorder::nextPart(const alarm::AlarmId& alarm, const std::string& camera) const {
  int part = 0;
  std::lock_guard lock(index_mutex_);
  for (const auto& [id, clip] : index_)
    if (clip.alarm == alarm && clip.camera == camera) part = std::max(part, clip.part);
  return part + 1;
}

core::Result<void> EvidenceRecorder::openPart(OpenClip& clip, const media::AccessUnit& first) {
  const int64_t start_us = first.capture_us > 0 ? first.capture_us : clock_.wallMicros();
  int part = nextPart(clip.info.alarm, clip.info.camera);
  std::string rel = clipRelativePath(start_us, clip.info.alarm, clip.info.camera, part);
  std::error_code ec;
  while (fs::exists(fs::path(options_.dir) / rel, ec))  // never overwrite a file the index does not know
    rel = clipRelativePath(start_us, clip.info.alarm, clip.info.camera, ++part);
  const std::string path = (fs::path(options_.dir) / rel).string();

  ClipInfo info;
  info.id = rel;
  info.path = path;
  info.alarm = clip.info.alarm;
  info.camera = clip.info.camera;
  info.part = part;
  info.level = clip.info.level;
  info.acknowledged = clip.info.acknowledged;
  info.codec = first.codec;
  info.start_us = start_us;
  info.end_us = start_us;
  info.dropped_units = clip.waiting_dropped;
  info.state = ClipState::kRecording;
  clip.info = info;
  clip.waiting_dropped = 0;

  fs::create_directories(fs::path(path).parent_path(), ec);
  if (ec)
    return core::makeError(fmt::format("cannot create the directory {}: {}", fs::path(path).parent_path().string(),
                                       reasonText(ec.value())));
  auto writer = std::make_unique<Mp4Writer>();
  if (auto opened = writer->open(path, first.codec, first.width, first.height); !opened) return opened.error();
  clip.writer = std::move(writer);
  clip.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  clip.codec = first.codec;
  clip.width = first.width;
  clip.height = first.height;
  if (auto written = writeSidecar(clip.info, options_.sync_fragments); !written) noteError(written.error().message);
  publish(clip.info);
  spdlog::info("evidence: recording alarm {} on camera {} into {}", clip.info.alarm.hex(), clip.info.camera, path);
  return {};
}

void EvidenceRecorder::writeUnit(OpenClip& clip, const media::AccessUnitPtr& unit, bool retrying) {
  if (clip.failing) {
    if (!unit->keyframe || clock_.now() < clip.retry_after) {
      ++clip.info.dropped_units;
      std::lock_guard lock(index_mutex_);
      ++stats_.units_dropped_error;
      return;
    }
    clip.failing = false;  // try again from this keyframe, in a new part
  }
  if (clip.writer && unit->keyframe &&
      (unit->codec != clip.codec || (unit->width && clip.width && unit->width != clip.width) ||
       (unit->height && clip.height && unit->height != clip.height)))
    finishPart(clip, ClipState::kComplete, "the camera changed codec or picture size: the clip goes on in the next part");
  if (!clip.writer) {
    if (!unit->keyframe) {
      ++clip.waiting_dropped;
      return;
    }
    if (auto opened = openPart(clip, *unit); !opened) {
      noteError(opened.error().message);
      handleWriteError(clip, opened.error(), unit, retrying);
      return;
    }
  }
  const uint64_t fragments_before = clip.writer->fragmentsWritten();
  auto written = clip.writer->write(unit->data, unit->pts_ns, unit->dts_ns, unit->keyframe, unit);
  if (!written) {
    noteError(written.error().message);
    handleWriteError(clip, written.error(), unit, retrying);
    return;
  }
  clip.info.frames = clip.writer->framesWritten();
  if (unit->capture_us > 0) clip.info.end_us = unit->capture_us;
  {
    std::lock_guard lock(index_mutex_);
    ++stats_.units_written;
  }
  // A keyframe made the writer write the GOP before it: now it is in the file.
  if (clip.writer->fragmentsWritten() != fragments_before) afterFragment(clip);
}

void EvidenceRecorder::afterFragment(OpenClip& clip) {
  if (clip.fd >= 0) {
    if (options_.sync_fragments && ::fdatasync(clip.fd) != 0)
      noteError(fmt::format("cannot sync {}: {}", clip.info.path, reasonText(errno)));
    struct stat st {};
    if (::fstat(clip.fd, &st) == 0) clip.info.bytes = static_cast<uint64_t>(st.st_size);
  }
  publish(clip.info);
  enforceRetention();
}

void EvidenceRecorder::handleWriteError(OpenClip& clip, const core::Error& error, const media::AccessUnitPtr& unit,
                                        bool retrying) {
  finishPart(clip, ClipState::kFailed, error.message);
  if (retrying) {
    // The retry failed too: give the disk time before the next attempt.
    clip.failing = true;
    clip.retry_after = clock_.now() + kRetryDelay;
    spdlog::warn("evidence: alarm {} camera {}: writing failed again; retrying at a keyframe in {} s",
                 clip.info.alarm.hex(), clip.info.camera, kRetryDelay.count());
    return;
  }
  const std::string failed_id = clip.info.id;
  enforceRetention(options_.prune_on_error_bytes);
  // Its metadata may not have fitted on the full disk either.
  if (!failed_id.empty()) {
    std::optional<ClipInfo> failed;
    {
      std::lock_guard lock(index_mutex_);
      if (auto it = index_.find(failed_id); it != index_.end()) failed = it->second;
    }
    if (failed) (void)writeSidecar(*failed, options_.sync_fragments);
  }
  // Retry once in a new part, from the oldest keyframe still held up to
  // the unit that failed (the caller goes on after it).
  auto cam = cameras_.find(clip.info.camera);
  if (cam == cameras_.end()) return;
  const auto& recent = cam->second->recent;
  auto from = std::find_if(recent.begin(), recent.end(), [](const media::AccessUnitPtr& u) { return u->keyframe; });
  auto to = std::find(recent.begin(), recent.end(), unit);
  if (from == recent.end() || to == recent.end() || to < from) {
    clip.failing = true;
    clip.retry_after = clock_.now();  // at the next keyframe
    return;
  }
  const std::vector<media::AccessUnitPtr> replay(from, std::next(to));
  for (const auto& u : replay) writeUnit(clip, u, /*retrying=*/true);
}

void EvidenceRecorder::finishPart(OpenClip& clip, ClipState state, std::string note) {
  if (!clip.writer) return;
  auto closed = clip.writer->close();
  clip.writer.reset();
  if (clip.fd >= 0) {
    if (options_.sync_fragments) ::fdatasync(clip.fd);
    ::close(clip.fd);
    clip.fd = -1;
  }
  ClipInfo& info = clip.info;
  if (!closed && state == ClipState::kComplete) {
    noteError(closed.error().message);
    state = ClipState::kFailed;
    note = closed.error().message;
  }
  std::error_code ec;
  if (state == ClipState::kFailed && fs::exists(info.path, ec)) {
    // Cut a half-written fragment off, so that what is there plays cleanly,
    // and count what does (the writer counted what it was given).
    if (auto trimmed = trimToCompleteBoxes(info.path); trimmed && *trimmed > 0)
      note += fmt::format(" ({} byte(s) of an unfinished fragment cut off)", *trimmed);
    const PlayableReport report = verifyPlayable(info.path);
    info.frames = static_cast<uint64_t>(report.frames_decoded);
    closed = core::makeError(note);  // keep the writer's count out of it
  }
  if (!fs::exists(info.path, ec)) {
    // The writer removed a file that never got a keyframe: no clip.
    removeClipFiles(options_.dir, info.path);
    std::lock_guard lock(index_mutex_);
    if (auto it = index_.find(info.id); it != index_.end()) {
      index_bytes_ -= std::min(index_bytes_, it->second.bytes);
      index_.erase(it);
    }
    info.id.clear();
    return;
  }
  if (closed) info.frames = closed->frames;
  info.state = state;
  info.note = std::move(note);
  const auto size = fs::file_size(info.path, ec);
  info.bytes = ec ? 0 : size;
  // The file will not change any more: its checksum lets a fetch verify the whole of it.
  if (auto digest = core::sha256File(info.path); digest)
    info.sha256 = *digest;
  else
    noteError(digest.error().message);
  if (auto written = writeSidecar(info, options_.sync_fragments); !written) noteError(written.error().message);
  publish(info);
  spdlog::info("evidence: clip {} {}: {} frame(s), {} bytes{}{}", info.path, clipStateName(state), info.frames,
               info.bytes, info.note.empty() ? "" : ": ", info.note);
  enforceRetention();
}

void EvidenceRecorder::closeClipsOf(CameraState& camera, const std::function<bool(const alarm::AlarmId&)>& which) {
  for (auto it = camera.clips.begin(); it != camera.clips.end();) {
    if (!which(it->first)) {
      ++it;
      continue;
    }
    finishPart(it->second, ClipState::kComplete);
    it = camera.clips.erase(it);
  }
}

void EvidenceRecorder::closeAll() {
  for (auto& [name, camera] : cameras_) closeClipsOf(*camera, [](const alarm::AlarmId&) { return true; });
}

void EvidenceRecorder::closeIdle() {
  expireShots();
  const auto now = clock_.now();
  for (auto& [name, camera] : cameras_) {
    if (now - camera->last_unit < options_.idle_close) continue;
    if (!camera->clips.empty())
      spdlog::info("evidence: camera {} sent nothing for {} s: closing its clips", name, options_.idle_close.count());
    closeClipsOf(*camera, [](const alarm::AlarmId&) { return true; });
    camera->recent.clear();
  }
}

void EvidenceRecorder::publish(const ClipInfo& info) {
  std::lock_guard lock(index_mutex_);
  ClipInfo& slot = index_[info.id];
  index_bytes_ = index_bytes_ - std::min(index_bytes_, slot.bytes) + info.bytes;
  slot = info;
}

void EvidenceRecorder::noteError(const std::string& message) {
  spdlog::warn("evidence: {}", message);
  std::lock_guard lock(index_mutex_);
  ++stats_.write_errors;
  stats_.last_error = message;
}

void EvidenceRecorder::enforceRetention(uint64_t must_free) {
  const uint64_t quota = options_.quota_bytes;
  const uint64_t min_free = options_.min_free_bytes;
  uint64_t total;
  {
    std::lock_guard lock(index_mutex_);
    total = index_bytes_;
  }
  uint64_t free = (min_free || must_free) ? freeBytes(options_.dir) : UINT64_MAX;
  uint64_t freed = 0;
  auto over = [&] { return (quota && total > quota) || (min_free && free < min_free) || freed < must_free; };
  if (!over()) {
    std::lock_guard lock(index_mutex_);
    stats_.over_quota = false;
    return;
  }

  struct Candidate {
    std::string id;
    std::string path;
    uint64_t bytes;
    bool acknowledged;
    int64_t start_us;
    alarm::AlarmId alarm;
    std::string camera;
    bool snapshot_only = false;  // a snapshot whose alarm and camera have no clip (writing it failed)
  };
  // The evidence of an alarm being recorded now (earlier parts included) is
  // the most needed of all: never deleted while it records.
  std::set<alarm::AlarmId> active;
  for (const auto& [name, camera] : cameras_)
    for (const auto& [id, clip] : camera->clips) active.insert(id);
  std::vector<Candidate> candidates;
  {
    std::lock_guard lock(index_mutex_);
    std::set<std::pair<alarm::AlarmId, std::string>> with_clip;
    for (const auto& [id, clip] : index_) {
      with_clip.emplace(clip.alarm, clip.camera);
      if (clip.state != ClipState::kRecording && !active.count(clip.alarm))
        candidates.push_back({id, clip.path, clip.bytes, clip.acknowledged, clip.start_us, clip.alarm, clip.camera});
    }
    // No clip would take it along: it goes on its own, by its capture time.
    for (const auto& [id, shot] : snapshots_)
      if (shot.state == SnapshotState::kReady && !active.count(shot.alarm) &&
          !with_clip.count({shot.alarm, shot.camera}))
        candidates.push_back({id, shot.path, shot.bytes, acknowledged_.count(shot.alarm) > 0, shot.captured_us,
                              shot.alarm, shot.camera, /*snapshot_only=*/true});
  }
  // Acknowledged alarms' clips first, oldest first; then the others, oldest first.
  std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    if (a.acknowledged != b.acknowledged) return a.acknowledged;
    if (a.start_us != b.start_us) return a.start_us < b.start_us;
    return a.id < b.id;
  });
  for (const auto& c : candidates) {
    if (!over()) break;
    if (c.snapshot_only) {
      removeSnapshotOf(c.alarm, c.camera);
      {
        std::lock_guard lock(index_mutex_);
        ++stats_.snapshots_pruned;
      }
      total -= std::min(total, c.bytes);
      freed += c.bytes;
      if (free != UINT64_MAX) free += c.bytes;
      spdlog::info("evidence: deleted {} ({} bytes, its clip had failed) to make room (quota, free space or a full disk)",
                   c.path, c.bytes);
      continue;
    }
    removeClipFiles(options_.dir, c.path);
    bool last_of_camera = true;
    uint64_t snapshot_bytes = 0;
    {
      std::lock_guard lock(index_mutex_);
      if (auto it = index_.find(c.id); it != index_.end()) {
        index_bytes_ -= std::min(index_bytes_, it->second.bytes);
        index_.erase(it);
      }
      ++stats_.clips_pruned;
      stats_.bytes_pruned += c.bytes;
      for (const auto& [id, clip] : index_)
        if (clip.alarm == c.alarm && clip.camera == c.camera) last_of_camera = false;
      if (auto s = snapshots_.find(snapshotId(c.alarm, c.camera)); s != snapshots_.end() && last_of_camera)
        snapshot_bytes = s->second.bytes;
    }
    // The snapshot goes with the last clip of its alarm and camera.
    if (last_of_camera) removeSnapshotOf(c.alarm, c.camera);
    total -= std::min(total, c.bytes + snapshot_bytes);
    freed += c.bytes + snapshot_bytes;
    if (free != UINT64_MAX) free += c.bytes + snapshot_bytes;
    spdlog::info("evidence: deleted {} ({} bytes{}) to make room (quota, free space or a full disk)", c.path, c.bytes,
                 c.acknowledged ? ", alarm acknowledged" : "");
  }
  const bool still_over = (quota && total > quota) || (min_free && free < min_free);
  std::lock_guard lock(index_mutex_);
  if (still_over && !stats_.over_quota)
    spdlog::warn("evidence: {} MB of clips in {}, over the limits, and only clips being recorded are left to delete",
                 total / 1'000'000, options_.dir);
  stats_.over_quota = still_over;
}

std::vector<ClipInfo> EvidenceRecorder::listClips(const ClipFilter& filter) const {
  std::vector<ClipInfo> out;
  {
    std::lock_guard lock(index_mutex_);
    for (const auto& [id, clip] : index_) {
      if (filter.alarm && clip.alarm != *filter.alarm) continue;
      if (filter.camera && clip.camera != *filter.camera) continue;
      if (!filter.include_recording && clip.state == ClipState::kRecording) continue;
      if (clip.end_us < filter.from_us || clip.start_us > filter.to_us) continue;
      out.push_back(clip);
    }
  }
  std::sort(out.begin(), out.end(), [](const ClipInfo& a, const ClipInfo& b) {
    return a.start_us != b.start_us ? a.start_us < b.start_us : a.id < b.id;
  });
  return out;
}

core::Result<Chunk> EvidenceRecorder::readChunk(const std::string& clip_id, uint64_t offset, size_t max_bytes) const {
  std::string path;
  bool complete = false;
  ClipState state = ClipState::kRecording;
  std::string sha256;
  {
    std::lock_guard lock(index_mutex_);
    auto it = index_.find(clip_id);
    if (it != index_.end()) {
      path = it->second.path;
      state = it->second.state;
      complete = state != ClipState::kRecording;
      sha256 = it->second.sha256;
    }
  }
  const auto unknown = [&] {
    return core::makeCodedError("unknown_clip",
                                fmt::format("no clip \"{}\": it was never recorded here, or it has been deleted to "
                                            "keep the evidence quota",
                                            clip_id));
  };
  if (path.empty()) return unknown();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return unknown();
    return core::makeError(fmt::format("cannot read {}: {}", path, reasonText(errno)));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return core::makeError(fmt::format("cannot read {}: {}", path, reasonText(err)));
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (offset > size) {
    ::close(fd);
    return core::makeCodedError("bad_offset",
                                fmt::format("offset {} is beyond the end of clip \"{}\" ({} bytes)", offset, clip_id, size));
  }
  Chunk chunk;
  chunk.offset = offset;
  chunk.file_bytes = size;
  chunk.complete = complete;
  chunk.state = state;
  if (complete) chunk.sha256 = sha256;
  chunk.bytes.resize(static_cast<size_t>(std::min<uint64_t>(std::min(max_bytes, kMaxChunkBytes), size - offset)));
  size_t have = 0;
  while (have < chunk.bytes.size()) {
    const ssize_t n = ::pread(fd, chunk.bytes.data() + have, chunk.bytes.size() - have,
                              static_cast<off_t>(offset + have));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return core::makeError(fmt::format("cannot read {}: {}", path, reasonText(err)));
    }
    if (n == 0) break;
    have += static_cast<size_t>(n);
  }
  ::close(fd);
  chunk.bytes.resize(have);
  chunk.eof = complete && offset + have == size;
  return chunk;
}

RecorderStats EvidenceRecorder::stats() const {
  RecorderStats s;
  {
    std::lock_guard lock(index_mutex_);
    s = stats_;
    s.clips = index_.size();
    s.bytes = index_bytes_;
    for (const auto& [id, clip] : index_)
      if (clip.state == ClipState::kRecording) ++s.clips_recording;
  }
  s.queue_depth = queue_.depth();
  s.units_dropped_queue = queue_.dropped();
  s.units_queued = queue_.accepted();
  return s;
}

}  // namespace vcgate::evidence
