#include "tools/sub/session.h"

#include <algorithm>

#include <fmt/format.h>

namespace vcgate::sub {
namespace {

Json latencyJson(const LatencyHistogram& h) {
  return Json{{"count", h.count()},
              {"p50", h.percentile(0.50)},
              {"p99", h.percentile(0.99)},
              {"max", h.max()},
              {"min", h.min()}};
}

// 1, 10, 100, ...: how often a repeating malformed message is worth a line.
uint64_t decade(uint64_t n) {
  uint64_t d = 0;
  for (; n > 0; n /= 10) ++d;
  return d;
}

}  // namespace

Session::Session(SessionOptions options, Output& output, const core::Clock& clock)
    : options_(std::move(options)), output_(output), clock_(clock) {
  if (options_.record_dir)
    recorder_ = std::make_unique<Recorder>(*options_.record_dir, output_, clock_, options_.clear_grace);
}

Session::~Session() = default;

void Session::cacheGop(CameraState& cam, const Unit& unit) {
  if (unit.keyframe) {
    cam.gop.clear();
    cam.gop_bytes = 0;
    cam.gop_valid = true;
  }
  if (!cam.gop_valid) return;
  cam.gop.push_back(unit);
  cam.gop_bytes += unit.data->size();
  if (cam.gop.size() > options_.max_gop_units || cam.gop_bytes > options_.max_gop_bytes) {
    // A GOP this long is not worth the memory: a new tag then waits for the next keyframe.
    cam.gop.clear();
    cam.gop_bytes = 0;
    cam.gop_valid = false;
  }
}

void Session::onVideo(bus::VideoMessage m) {
  if (!options_.cameras.empty() && !options_.cameras.contains(m.topic.camera)) return;
  const CameraId id{m.topic.site, m.topic.camera};
  CameraState& cam = cameras_[id];
  const auto& h = m.header;
  cam.id = id;
  ++cam.received;
  cam.bytes += m.payload.size();
  if (h.flags & bus::kFlagPreRoll) {
    // Pre-roll units were captured before the alarm on purpose and leave the
    // gateway in a burst: their age says nothing about the live path.
    ++cam.pre_roll;
  } else {
    cam.capture_latency.add(m.receive_us - h.capture_us);
    cam.gateway_latency.add(m.receive_us - h.publish_us);
  }
  cam.codec = std::string(core::codecName(h.codec));
  if (h.width) cam.width = h.width;
  if (h.height) cam.height = h.height;
  if (h.flags & bus::kFlagDiscontinuity) ++cam.discontinuities;

  if (!cam.seen) {
    // Joining: whatever comes first is only decodable if it is a keyframe.
    cam.seen = true;
    cam.boot_id = h.boot_id;
    cam.synced = false;
  } else if (h.boot_id != cam.boot_id) {
    // The gateway restarted: seq starts again, which is not a loss.
    ++cam.restarts;
    cam.boot_id = h.boot_id;
    cam.synced = false;
  } else if (h.seq <= cam.last_seq) {
    ++cam.duplicates;
    return;
  } else if (h.seq != cam.last_seq + 1) {
    ++cam.gaps;
    cam.lost += h.seq - cam.last_seq - 1;
    cam.synced = false;
    output_.gap("video", id.site, id.camera, h.boot_id, cam.last_seq + 1, h.seq, m.receive_us);
    if (recorder_) recorder_->onGap(id);
  }
  cam.last_seq = h.seq;
  if (recorder_) recorder_->onCameraUnit(id, h.tags);

  if (!cam.synced) {
    if (!h.keyframe()) {
      ++cam.discarded;
      cam.gop_valid = false;
      return;
    }
    cam.synced = true;
  }
  if (h.keyframe()) ++cam.keyframes;
  if (!recorder_) return;
  Unit unit;
  unit.data = std::make_shared<const std::vector<uint8_t>>(std::move(m.payload));
  unit.pts_ns = h.pts_ns;
  unit.dts_ns = h.dts_ns;
  unit.seq = h.seq;
  unit.keyframe = h.keyframe();
  cacheGop(cam, unit);
  static const std::vector<Unit> kNoGop;
  recorder_->write(id, h, unit, cam.gop_valid ? cam.gop : kNoGop);
}

void Session::onAlarm(const bus::AlarmEventMessage& m) {
  ++alarm_events_;
  AlarmChannel& channel = alarm_channels_[m.site];
  if (!channel.seen || channel.boot_id != m.boot_id) {
    channel = AlarmChannel{m.boot_id, m.seq, true};
  } else if (m.seq > channel.last_seq + 1) {
    ++alarm_gaps_;
    output_.gap("alarm", m.site, "", m.boot_id, channel.last_seq + 1, m.seq, clock_.wallMicros());
    channel.last_seq = m.seq;
  } else {
    channel.last_seq = std::max(channel.last_seq, m.seq);
  }

  const auto& a = m.event.alarm;
  // At-least-once delivery: the same event may come again (a resend, two paths through proxies).
  if (!alarm_events_seen_.emplace(a.id, static_cast<int>(m.event.kind), a.updated_us).second) {
    ++alarm_duplicates_;
    return;
  }
  output_.alarm(m);
  if (recorder_ && m.event.kind == alarm::AlarmEventKind::kCleared) recorder_->onCleared(a.id);
}

void Session::onStatus(const bus::StatusMessage& s) {
  const auto now = clock_.now();
  const int64_t wall = clock_.wallMicros();
  auto [it, first] = gateways_.try_emplace(s.site);
  GatewayState& g = it->second;
  if (first) {
    output_.gatewayUp(s, wall);
  } else if (g.boot_id != s.boot_id) {
    ++g.restarts;
    output_.gatewayRestarted(s, g.boot_id, wall);
  } else if (s.seq > g.last_seq + 1) {
    g.heartbeat_gaps += s.seq - g.last_seq - 1;
  }
  if (!first && !g.reachable) {
    output_.gatewayBack(s.site, std::chrono::duration<double>(now - g.last_seen).count(), wall);
  }
  g.reachable = true;
  g.boot_id = s.boot_id;
  g.last_seq = s.seq;
  g.version = s.version;
  g.interval_s = s.interval_s > 0 ? s.interval_s : 1;
  g.last_seen = now;
  g.active_alarms = s.active_alarms;
  ++g.heartbeats;
}

void Session::onMalformed(const bus::Subscriber& subscriber) {
  const auto& counts = subscriber.malformed();
  for (size_t i = 0; i < counts.by_reason.size(); ++i) {
    const uint64_t now_count = counts.by_reason[i];
    const auto reason = static_cast<bus::MalformedReason>(i);
    if (decade(now_count) > decade(malformed_reported_[i])) {
      output_.malformed(bus::malformedReasonName(reason), now_count, subscriber.lastMalformedDetail(reason),
                        clock_.wallMicros());
    }
    malformed_reported_[i] = now_count;
  }
}

void Session::tick() {
  const auto now = clock_.now();
  for (auto& [site, g] : gateways_) {
    if (!g.reachable) continue;
    const auto silent = std::chrono::duration<double>(now - g.last_seen).count();
    if (silent >= options_.heartbeat_misses * g.interval_s) {
      g.reachable = false;
      ++g.unreachable;
      output_.gatewayUnreachable(site, silent, clock_.wallMicros());
    }
  }
  if (recorder_) recorder_->tick();
}

void Session::finish() {
  if (recorder_) recorder_->closeAll("exit");
}

Json Session::summary(const bus::MalformedCounts& malformed, double duration_s) const {
  Json cameras = Json::array();
  for (const auto& [id, c] : cameras_) {
    cameras.push_back(Json{{"site", id.site},
                           {"camera", id.camera},
                           {"codec", c.codec},
                           {"width", c.width},
                           {"height", c.height},
                           {"received", c.received},
                           {"keyframes", c.keyframes},
                           {"bytes", c.bytes},
                           {"gaps", c.gaps},
                           {"lost", c.lost},
                           {"discarded_until_keyframe", c.discarded},
                           {"duplicates", c.duplicates},
                           {"restarts", c.restarts},
                           {"discontinuities", c.discontinuities},
                           {"pre_roll", c.pre_roll},
                           {"latency_capture_us", latencyJson(c.capture_latency)},
                           {"latency_gateway_us", latencyJson(c.gateway_latency)}});
  }
  Json gateways = Json::array();
  for (const auto& [site, g] : gateways_) {
    gateways.push_back(Json{{"site", site},
                            {"boot", bus::bootIdHex(g.boot_id)},
                            {"version", g.version},
                            {"heartbeats", g.heartbeats},
                            {"heartbeats_missed", g.heartbeat_gaps},
                            {"restarts", g.restarts},
                            {"unreachable", g.unreachable},
                            {"reachable", g.reachable},
                            {"active_alarms", g.active_alarms}});
  }
  Json malformed_json = {{"total", malformed.total()}};
  for (size_t i = 0; i < malformed.by_reason.size(); ++i)
    malformed_json[std::string(bus::malformedReasonName(static_cast<bus::MalformedReason>(i)))] =
        malformed.by_reason[i];
  Json recordings = Json::array();
  if (recorder_)
    for (const auto& r : recorder_->reports()) recordings.push_back(toJson(r));
  return Json{{"duration_s", duration_s},
              {"cameras", std::move(cameras)},
              {"gateways", std::move(gateways)},
              {"alarm_events", Json{{"received", alarm_events_},
                                    {"unique", alarm_events_seen_.size()},
                                    {"duplicates", alarm_duplicates_},
                                    {"gaps", alarm_gaps_}}},
              {"malformed", std::move(malformed_json)},
              {"recordings", std::move(recordings)}};
}

}  // namespace vcgate::sub
