#include "tools/sub/recorder.h"

#include <system_error>

#include <fmt/format.h>

namespace vcgate::sub {

Recorder::Recorder(std::filesystem::path dir, Output& output, const core::Clock& clock, core::Duration clear_grace)
    : dir_(std::move(dir)), output_(output), clock_(clock), clear_grace_(clear_grace) {}

Recorder::~Recorder() { closeAll("exit"); }

void Recorder::onCameraUnit(const CameraId& camera, const std::vector<bus::AlarmTag>& tags) {
  last_video_[camera] = clock_.now();
  for (auto it = open_.begin(); it != open_.end();) {
    const auto next = std::next(it);
    if (it->first.second == camera) {
      bool tagged = false;
      for (const auto& t : tags) tagged = tagged || t.id == it->first.first;
      if (!tagged) close(it, "untagged");
    }
    it = next;
  }
}

void Recorder::onGap(const CameraId& camera) {
  for (auto& [key, r] : open_)
    if (key.second == camera) ++r.gaps;
}

void Recorder::onCleared(const alarm::AlarmId& id) { cleared_.emplace(id, clock_.now()); }

// Site and camera ids come from a topic that parseTopic() accepted (A-Z a-z 0-9 - _),
// and the alarm id is hex: nothing here can climb out of the recording directory.
std::string Recorder::nextPath(const Key& key) {
  const int n = ++files_made_[key];
  const auto base = dir_ / key.first.hex();
  // A pair that records again (its camera was covered anew) gets a new file, never overwrites evidence.
  for (int i = n;; ++i) {
    auto path = base / (i == 1 ? key.second.camera + ".mp4" : fmt::format("{}-{}.mp4", key.second.camera, i));
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
      files_made_[key] = i;
      return path.string();
    }
  }
}

Recorder::Recording* Recorder::openRecording(const Key& key, const bus::VideoHeader& header) {
  const std::string path = nextPath(key);
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  auto writer = std::make_unique<evidence::Mp4Writer>();
  auto opened = ec ? core::Result<void>(core::makeError(fmt::format("cannot create the directory {}: {}",
                                                                    std::filesystem::path(path).parent_path().string(),
                                                                    ec.message())))
                   : writer->open(path, header.codec, header.width, header.height);
  if (!opened) {
    failed_.insert(key);
    output_.recordingFailed(key.first.hex(), key.second.site, key.second.camera, path, opened.error().message,
                            clock_.wallMicros());
    return nullptr;
  }
  Recording r;
  r.camera = key.second;
  r.alarm = key.first;
  r.path = path;
  r.codec = header.codec;
  r.writer = std::move(writer);
  return &open_.emplace(key, std::move(r)).first->second;
}

bool Recorder::writeUnit(Recording& r, const Unit& unit) {
  // The unit's bytes are shared and never change: the writer keeps a reference until their fragment is written.
  auto written = r.writer->write(*unit.data, unit.pts_ns, unit.dts_ns, unit.keyframe, unit.data);
  if (!written) return false;
  if (r.writer->framesWritten() == 1) r.first_seq = unit.seq;
  r.last_seq = unit.seq;
  return true;
}

void Recorder::write(const CameraId& camera, const bus::VideoHeader& header, const Unit& unit,
                     const std::vector<Unit>& gop) {
  for (size_t i = 0; i < header.tags.size(); ++i) {
    const auto& tag = header.tags[i];
    // A tag listed twice must not write the unit twice into one file.
    bool repeated = false;
    for (size_t k = 0; k < i; ++k) repeated = repeated || header.tags[k].id == tag.id;
    if (repeated) continue;
    const Key key{tag.id, camera};
    if (failed_.contains(key)) continue;
    auto it = open_.find(key);
    Recording* r = nullptr;
    if (it == open_.end()) {
      // Start at a keyframe: this one, or the one that opened the current GOP.
      const bool from_gop = !unit.keyframe && !gop.empty() && gop.front().keyframe;
      if (!unit.keyframe && !from_gop) continue;
      r = openRecording(key, header);
      if (!r) continue;
      it = open_.find(key);
      bool ok = true;
      for (const auto& u : from_gop ? gop : std::vector<Unit>{unit}) {
        if (!(ok = writeUnit(*r, u))) break;
      }
      if (!ok) close(it, "write_error", "");
      continue;
    }
    if (it->second.codec != header.codec) {
      // The camera was reconfigured (H.264 <-> H.265): one file holds one codec.
      close(it, "codec_changed");
      if (unit.keyframe && (r = openRecording(key, header)) && !writeUnit(*r, unit))
        close(open_.find(key), "write_error", "");
      continue;
    }
    if (!writeUnit(it->second, unit)) close(it, "write_error", "");
  }
}

void Recorder::close(std::map<Key, Recording>::iterator it, const std::string& reason, std::string write_error) {
  Recording& r = it->second;
  RecordingReport report;
  report.alarm = r.alarm.hex();
  report.site = r.camera.site;
  report.camera = r.camera.camera;
  report.path = r.path;
  report.reason = reason;
  report.frames = r.writer->framesWritten();
  report.first_seq = r.first_seq;
  report.last_seq = r.last_seq;
  report.gaps = r.gaps;
  auto closed = r.writer->close();  // after a write error this returns that error
  if (closed) report.duration_s = closed->duration_s;
  else write_error = closed.error().message;
  report.write_error = write_error;
  if (reason == "write_error") failed_.insert(it->first);  // a full disk does not get better frame by frame
  open_.erase(it);
  if (!write_error.empty() && report.frames == 0) {
    reports_.push_back(report);
    output_.recording(report, clock_.wallMicros());
    return;
  }
  const std::string path = report.path;
  std::future<evidence::PlayableReport> check;
  try {
    check = std::async(std::launch::async, [path] { return evidence::verifyPlayable(path); });
  } catch (const std::system_error&) {
    // No thread to be had: check it here, late is better than never.
    std::promise<evidence::PlayableReport> done;
    done.set_value(evidence::verifyPlayable(path));
    check = done.get_future();
  }
  verifying_.emplace_back(std::move(report), std::move(check));
}

void Recorder::tick() {
  const auto now = clock_.now();
  for (auto it = open_.begin(); it != open_.end();) {
    const auto next = std::next(it);
    if (auto c = cleared_.find(it->first.first); c != cleared_.end()) {
      auto idle_since = c->second;
      if (auto v = last_video_.find(it->first.second); v != last_video_.end()) idle_since = std::max(idle_since, v->second);
      if (now - idle_since >= clear_grace_) close(it, "cleared");
    }
    it = next;
  }
  for (auto it = verifying_.begin(); it != verifying_.end();) {
    if (it->second.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
      ++it;
      continue;
    }
    it->first.check = it->second.get();
    reports_.push_back(it->first);
    output_.recording(it->first, clock_.wallMicros());
    it = verifying_.erase(it);
  }
}

void Recorder::closeAll(const std::string& reason) {
  while (!open_.empty()) close(open_.begin(), reason);
  for (auto& [report, future] : verifying_) {
    report.check = future.get();
    reports_.push_back(report);
    output_.recording(report, clock_.wallMicros());
  }
  verifying_.clear();
}

}  // namespace vcgate::sub
