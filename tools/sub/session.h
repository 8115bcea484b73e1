// Session: what vcgate-sub knows about the gateways it hears. It follows
// docs/protocol.md section 6 per camera (seq by boot_id, gaps, waiting for a
// keyframe after a gap or on joining), measures latency, de-duplicates alarm
// events by (alarm id, event, updated_us), watches heartbeats (a gateway is
// unreachable after 3 x its interval without one), feeds the Recorder, and
// builds the final summary. Everything it has to say goes through Output.
//
// Thread rule: one thread (the receive loop) calls every method. Time comes
// from the injected clock, so tests can drive the heartbeat timers.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "gateway/bus/protocol.h"
#include "gateway/bus/subscriber.h"
#include "gateway/core/clock.h"
#include "tools/sub/latency.h"
#include "tools/sub/output.h"
#include "tools/sub/recorder.h"

namespace vcgate::sub {

struct SessionOptions {
  std::optional<std::filesystem::path> record_dir;  // record tagged video here
  std::set<std::string> cameras;                    // only these camera ids (empty: all)
  double heartbeat_misses = 3;                      // unreachable after this many intervals without heartbeat
  core::Duration clear_grace = std::chrono::seconds(5);
  // GOP cache bound (per camera, only when recording): a GOP longer than this is not cached.
  size_t max_gop_units = 600;
  size_t max_gop_bytes = 64u << 20;
};

class Session {
 public:
  Session(SessionOptions options, Output& output, const core::Clock& clock);
  ~Session();

  void onVideo(bus::VideoMessage message);
  void onAlarm(const bus::AlarmEventMessage& message);
  void onStatus(const bus::StatusMessage& message);
  // Malformed messages were skipped: announces a reason at its 1st, 10th, 100th, ... occurrence.
  void onMalformed(const bus::Subscriber& subscriber);
  // Timers: heartbeat silence, recordings after a clear. Call at least every 100 ms or so.
  void tick();
  // Closes the recordings (verifying them) before the summary.
  void finish();
  Json summary(const bus::MalformedCounts& malformed, double duration_s) const;

 private:
  struct CameraState {
    CameraId id;
    bool seen = false;
    bool synced = false;  // decodable from here: a keyframe arrived since the join or the last gap
    uint64_t boot_id = 0;
    uint64_t last_seq = 0;
    uint64_t received = 0;
    uint64_t keyframes = 0;
    uint64_t bytes = 0;
    uint64_t gaps = 0;
    uint64_t lost = 0;
    uint64_t discarded = 0;    // dropped while waiting for a keyframe
    uint64_t duplicates = 0;   // seq not above the last one in the same boot
    uint64_t restarts = 0;     // boot_id changed
    uint64_t discontinuities = 0;
    uint64_t pre_roll = 0;             // units flagged pre-roll: not in the latency figures
    LatencyHistogram capture_latency;  // receipt - capture_us, live units only
    LatencyHistogram gateway_latency;  // receipt - publish_us, live units only
    std::vector<Unit> gop;             // since the last keyframe, for recordings that start mid-GOP
    size_t gop_bytes = 0;
    bool gop_valid = false;
    std::string codec;
    int width = 0;
    int height = 0;
  };
  struct GatewayState {
    uint64_t boot_id = 0;
    std::string version;
    double interval_s = 1;
    core::TimePoint last_seen{};
    bool reachable = true;
    uint64_t heartbeats = 0;
    uint64_t heartbeat_gaps = 0;
    uint64_t last_seq = 0;
    uint64_t restarts = 0;
    uint64_t unreachable = 0;  // times it went silent
    int active_alarms = 0;
  };
  struct AlarmChannel {
    uint64_t boot_id = 0;
    uint64_t last_seq = 0;
    bool seen = false;
  };

  void cacheGop(CameraState& cam, const Unit& unit);

  SessionOptions options_;
  Output& output_;
  const core::Clock& clock_;
  std::unique_ptr<Recorder> recorder_;
  std::map<CameraId, CameraState> cameras_;
  std::map<std::string, GatewayState> gateways_;
  std::map<std::string, AlarmChannel> alarm_channels_;  // per site
  std::set<std::tuple<alarm::AlarmId, int, int64_t>> alarm_events_seen_;
  uint64_t alarm_events_ = 0;
  uint64_t alarm_duplicates_ = 0;
  uint64_t alarm_gaps_ = 0;
  std::array<uint64_t, static_cast<size_t>(bus::MalformedReason::kCount)> malformed_reported_{};
};

}  // namespace vcgate::sub
