// Recorder: one MP4 file per (alarm, camera), DIR/<alarm-id>/<camera>.mp4,
// from the alarm-tagged video the subscriber receives. A unit tagged with
// several alarms goes into each alarm's file. A file starts at a keyframe
// (the session hands over the current GOP when a tag first appears mid-GOP),
// and is closed when a unit of its camera arrives without the alarm's tag,
// when no video of the camera came for `clear_grace` after the alarm's
// `cleared` event, or by closeAll(). On close it is decoded in full
// (evidence::verifyPlayable) on a worker thread, so that a long file never
// stalls the receive loop, and reported through Output when done.
//
// Thread rule: one thread (the receive loop) calls every method; the
// verification workers touch only their closed file.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "gateway/alarm/alarm.h"
#include "gateway/bus/protocol.h"
#include "gateway/core/clock.h"
#include "gateway/evidence/mp4_writer.h"
#include "tools/sub/output.h"

namespace vcgate::sub {

// One access unit as the session keeps it (shared: the GOP cache and several recordings may hold it).
struct Unit {
  std::shared_ptr<const std::vector<uint8_t>> data;
  int64_t pts_ns = 0;
  int64_t dts_ns = 0;
  uint64_t seq = 0;
  bool keyframe = false;
};

// Which camera: the site and camera ids of its topic.
struct CameraId {
  std::string site;
  std::string camera;
  auto operator<=>(const CameraId&) const = default;
};

class Recorder {
 public:
  Recorder(std::filesystem::path dir, Output& output, const core::Clock& clock,
           core::Duration clear_grace = std::chrono::seconds(5));
  ~Recorder();  // closes and verifies what is still open
  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  // Every unit of a camera, decodable or not: closes that camera's recordings
  // whose alarm is not in `tags`, and notes that the camera is still sending.
  void onCameraUnit(const CameraId& camera, const std::vector<bus::AlarmTag>& tags);
  // A decodable unit (the session is in sync with the camera). `gop` holds the
  // units since the last keyframe, this one included, or is empty when unknown.
  void write(const CameraId& camera, const bus::VideoHeader& header, const Unit& unit, const std::vector<Unit>& gop);
  // The session saw a sequence gap on this camera: its open recordings note it.
  void onGap(const CameraId& camera);
  void onCleared(const alarm::AlarmId& id);
  // Timers (clear grace) and finished verifications. Call often.
  void tick();
  // Closes everything open with `reason` and waits for every verification.
  void closeAll(const std::string& reason);

  size_t openCount() const { return open_.size(); }
  const std::vector<RecordingReport>& reports() const { return reports_; }

 private:
  struct Recording {
    CameraId camera;
    alarm::AlarmId alarm;
    std::string path;
    core::VideoCodec codec = core::VideoCodec::kH264;
    std::unique_ptr<evidence::Mp4Writer> writer;
    uint64_t first_seq = 0;
    uint64_t last_seq = 0;
    uint64_t gaps = 0;
  };
  using Key = std::pair<alarm::AlarmId, CameraId>;

  Recording* openRecording(const Key& key, const bus::VideoHeader& header);
  bool writeUnit(Recording& r, const Unit& unit);
  void close(std::map<Key, Recording>::iterator it, const std::string& reason, std::string write_error = {});
  std::string nextPath(const Key& key);

  std::filesystem::path dir_;
  Output& output_;
  const core::Clock& clock_;
  core::Duration clear_grace_;
  std::map<Key, Recording> open_;
  std::set<Key> failed_;                              // could not be opened: not retried
  std::map<Key, int> files_made_;                     // for -2, -3 ... when a pair records again
  std::map<alarm::AlarmId, core::TimePoint> cleared_;  // alarm -> when its cleared event arrived
  std::map<CameraId, core::TimePoint> last_video_;
  std::vector<std::pair<RecordingReport, std::future<evidence::PlayableReport>>> verifying_;
  std::vector<RecordingReport> reports_;
};

}  // namespace vcgate::sub
