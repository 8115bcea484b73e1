// Protocol v1: the bytes on the bus, both directions' encoders and decoders.
// docs/protocol.md is the public contract; this file is its implementation
// and must say the same. No ZeroMQ here: pure functions over bytes, any
// thread, so the gateway, vcgate-sub and the fuzzers share them.
//
// Every message is a ZeroMQ multipart message whose first frame is the topic:
//   video/<site>/<camera>/   [topic][video header (binary)][access unit (Annex-B)]
//   alarm/<site>/            [topic][alarm event (JSON)]
//   status/<site>/           [topic][heartbeat (JSON)]
// Topics end in '/' so that subscribing to "video/s/cam1/" never also matches cam10.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway/alarm/alarm.h"
#include "gateway/core/result.h"
#include "gateway/core/synthetic_spec.h"

namespace vcgate::bus {

inline constexpr uint8_t kProtocolVersion = 1;

// ---- topics ----
enum class TopicKind { kVideo, kAlarm, kStatus };
struct Topic {
  TopicKind kind = TopicKind::kVideo;
  std::string site;
  std::string camera;  // video only
};
std::string videoTopic(std::string_view site, std::string_view camera);
std::string alarmTopic(std::string_view site);
std::string statusTopic(std::string_view site);
core::Result<Topic> parseTopic(std::string_view topic);

// ---- video ----
inline constexpr uint8_t kKindVideo = 1;
inline constexpr size_t kVideoFixedHeaderSize = 64;
inline constexpr size_t kAlarmTagSize = 17;
inline constexpr size_t kMaxAlarmTags = 255;

enum VideoFlags : uint16_t {
  kFlagKeyframe = 1 << 0,       // the unit is a keyframe with its parameter sets in front
  kFlagDiscontinuity = 1 << 1,  // the first unit after a gap the gateway knows of (new segment, reconnect, drop)
  kFlagLiveView = 1 << 2,       // published because of a live-view lease (tags may be empty)
  kFlagPreRoll = 1 << 3,        // from the pre-alarm buffer: captured before the alarm that started the segment
  kFlagKeyframesOnly = 1 << 4,  // the uplink budget lets only this camera's keyframes out (docs/protocol.md 6.1)
};

struct AlarmTag {
  alarm::AlarmId id;
  uint8_t level = 3;
  bool operator==(const AlarmTag&) const = default;
};

struct VideoHeader {
  uint16_t flags = 0;
  uint64_t boot_id = 0;     // random per gateway start: sequence numbers restart when it changes
  uint64_t seq = 0;         // per camera: +1 for every video message published
  int64_t pts_ns = 0;       // the camera's timeline (ns), monotonic per camera within a boot
  int64_t dts_ns = 0;
  int64_t capture_us = 0;   // wall clock when ingest received the unit, µs since the Unix epoch
  int64_t publish_us = 0;   // wall clock when the gateway handed the message to ZeroMQ
  core::VideoCodec codec = core::VideoCodec::kH264;
  uint16_t width = 0;
  uint16_t height = 0;
  std::vector<AlarmTag> tags;

  bool keyframe() const { return flags & kFlagKeyframe; }
};

// Writes the header frame into `out` (cleared first): no allocation once `out` has grown.
void encodeVideoHeader(const VideoHeader& header, std::string& out);
core::Result<VideoHeader> decodeVideoHeader(std::span<const uint8_t> frame);

// ---- alarm events (JSON) ----
struct AlarmEventMessage {
  uint64_t boot_id = 0;
  uint64_t seq = 0;       // per gateway and boot, +1 for every alarm event message published (re-sends too)
  // The event's number in the gateway's journal: stable across restarts and
  // re-sends; the platform acknowledges it with the event.ack command. 0 when
  // the event was not journaled.
  uint64_t event_id = 0;
  uint32_t redelivery = 0;  // 0 the first time, then 1, 2, ... for each re-send
  int64_t time_us = 0;    // when the event was published
  std::string site;
  alarm::AlarmEvent event;
};
std::string encodeAlarmEvent(const AlarmEventMessage& message);
core::Result<AlarmEventMessage> decodeAlarmEvent(std::string_view json);

// ---- heartbeats (JSON) ----
struct CameraStatus {
  std::string id;
  std::string state;             // connecting, streaming, backoff, stalled, disabled, finished
  double fps = 0;
  double bitrate_bps = 0;
  uint64_t frames = 0;           // access units ingested since start
  uint64_t published = 0;        // video messages published since start (= next seq)
  uint64_t dropped = 0;          // access units dropped by the gateway (queue full, skip to keyframe)
  uint64_t buffered_bytes = 0;   // pre-alarm buffer in use
  double buffered_s = 0;
  std::vector<AlarmTag> alarms;  // alarms covering the camera now
  bool live_view = false;
  std::string uplink;            // while published: full, keyframes or held (the uplink budget); "" otherwise
  uint64_t budget_skipped = 0;   // units the uplink budget kept off the bus since start
};
struct StatusMessage {
  uint64_t boot_id = 0;
  uint64_t seq = 0;
  int64_t time_us = 0;
  std::string site;
  std::string version;
  double uptime_s = 0;
  double interval_s = 1;   // the next heartbeat is due after this
  int active_alarms = 0;
  uint64_t journal_backlog = 0;  // alarm events not yet acknowledged by the platform
  double uplink_budget_kbps = 0;  // bus.uplink.budget_kbps; 0 = unlimited
  double uplink_demand_kbps = 0;  // what the covered cameras, events and heartbeats would need (measured when limited)
  std::vector<CameraStatus> cameras;
};
std::string encodeStatus(const StatusMessage& message);
core::Result<StatusMessage> decodeStatus(std::string_view json);

std::string bootIdHex(uint64_t boot_id);

// The "alarm" object of alarm events and command replies (docs/protocol.md section 4).
nlohmann::json alarmToJson(const alarm::Alarm& alarm);
// The heartbeat object (section 5), also the result of the "status" command.
nlohmann::json statusToJson(const StatusMessage& status);

}  // namespace vcgate::bus
