#include "gateway/bus/publisher.h"

#include <sched.h>

#include <algorithm>
#include <random>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "gateway/core/realtime.h"

namespace vcgate::bus {

uint64_t newBootId() {
  std::random_device rd;
  uint64_t id = 0;
  while (id == 0) id = (static_cast<uint64_t>(rd()) << 32) | rd();
  return id;
}

namespace {

// A context whose I/O threads (started with its first socket) run at the
// given real-time priority when this process may use it; ZeroMQ would abort
// on a refused priority, so that is tried first (gateway/core/realtime.h).
std::unique_ptr<zmq::context_t> makeContext(int realtime_priority) {
  auto context = std::make_unique<zmq::context_t>(1);
  if (realtime_priority <= 0) return context;
  if (auto allowed = core::realtimeAllowed(realtime_priority); !allowed) {
    spdlog::warn("publisher: {}; ZeroMQ's I/O thread runs at normal priority", allowed.error().message);
    return context;
  }
  context->set(zmq::ctxopt::thread_sched_policy, SCHED_FIFO);
  context->set(zmq::ctxopt::thread_priority, realtime_priority);
  return context;
}

}  // namespace

core::Result<std::unique_ptr<Publisher>> Publisher::create(PublisherOptions options, media::FrameDispatcher& dispatcher,
                                                           const core::Clock& clock) {
  if (options.boot_id == 0) options.boot_id = newBootId();
  std::unique_ptr<Publisher> publisher(new Publisher(std::move(options), dispatcher, clock));
  auto& socket = *publisher->socket_;
  socket.set(zmq::sockopt::sndhwm, publisher->options_.send_hwm);
  if (publisher->options_.send_buffer_bytes > 0) socket.set(zmq::sockopt::sndbuf, publisher->options_.send_buffer_bytes);
  // On shutdown, give queued messages a moment to leave, but never hang on a dead peer.
  socket.set(zmq::sockopt::linger, 500);
  const auto& curve = publisher->options_.curve;
  if (curve) {
    if (!publisher->options_.auth_stats) publisher->options_.auth_stats = std::make_shared<AuthStats>();
    auto zap = ZapAuthenticator::start(*publisher->context_, curve->clients, publisher->options_.auth_stats);
    if (!zap) return zap.error();
    publisher->zap_ = std::move(*zap);
  }
  // A gateway runs without the count rather than not at all.
  if (auto monitor = ConnectionMonitor::start(*publisher->context_, socket, "publish", publisher->options_.auth_stats))
    publisher->monitor_ = std::move(*monitor);
  else
    spdlog::warn("{}: subscribers will not be counted", monitor.error().message);
  for (const auto& endpoint : publisher->options_.endpoints) {
    // One socket binds every endpoint; CURVE applies to the tcp ones, so
    // the options are set per bind (they are read when a bind happens).
    const bool secured = curve && endpoint.starts_with("tcp://");
    if (secured) {
      applyCurveServer(socket, *curve, "vcgate.publish");
    } else if (curve) {
      socket.set(zmq::sockopt::curve_server, 0);
    }
    try {
      socket.bind(endpoint);
    } catch (const zmq::error_t& e) {
      return core::makeError(fmt::format("cannot bind the publish endpoint {}: {}", endpoint, e.what()));
    }
    publisher->bound_.push_back(socket.get(zmq::sockopt::last_endpoint));
  }
  return publisher;
}

Publisher::Publisher(PublisherOptions options, media::FrameDispatcher& dispatcher, const core::Clock& clock)
    : options_(std::move(options)),
      dispatcher_(dispatcher),
      clock_(clock),
      context_(makeContext(options_.realtime_priority)),
      socket_(std::make_unique<zmq::socket_t>(*context_, zmq::socket_type::pub)),
      budget_(options_.uplink_budget_bps, clock) {}

Publisher::~Publisher() {
  socket_->close();
  monitor_.reset();  // their sockets must be closed before the context can terminate
  zap_.reset();
  context_->close();
}

std::optional<int> Publisher::subscriberCount() const {
  if (!monitor_) return std::nullopt;
  return monitor_->count();
}

void Publisher::configureCameras(const std::vector<config::CameraConfig>& cameras) {
  dispatcher_.post([this, cameras] { doConfigure(cameras); });
}

void Publisher::onAlarmEvent(const alarm::AlarmEvent& event, uint64_t event_id) {
  dispatcher_.post([this, event, event_id] { doAlarmEvent(event, event_id); });
}

void Publisher::resendAlarmEvent(const alarm::AlarmEvent& event, uint64_t event_id, uint32_t redelivery) {
  dispatcher_.post([this, event, event_id, redelivery] { sendAlarmEvent(event, event_id, redelivery); });
}

void Publisher::setUplinkBudget(uint64_t bps) {
  dispatcher_.post([this, bps] { budget_.setBudget(bps); });
}

void Publisher::startLiveView(const std::string& camera, int64_t until_us) {
  dispatcher_.post([this, camera, until_us] { doLiveView(camera, until_us); });
}

void Publisher::stopLiveView(const std::string& camera) {
  dispatcher_.post([this, camera] { doLiveView(camera, 0); });
}

void Publisher::publishStatus(StatusMessage status) {
  dispatcher_.post([this, status = std::move(status)]() mutable { doStatus(std::move(status)); });
}

StatusMessage Publisher::lastStatus() const {
  std::lock_guard lock(status_mutex_);
  return last_status_;
}

void Publisher::doConfigure(const std::vector<config::CameraConfig>& cameras) {
  std::map<std::string, Lane> next;
  for (const auto& camera : cameras) {
    auto old = lanes_.find(camera.id);
    if (old != lanes_.end() && old->second.buffer.preRollSeconds() == camera.buffering.pre_roll_s) {
      // Keep the lane: its buffer, covers and sequence numbers go on.
      next.emplace(camera.id, std::move(old->second));
      continue;
    }
    auto [it, _] = next.emplace(std::piecewise_construct, std::forward_as_tuple(camera.id),
                                std::forward_as_tuple(camera.id, videoTopic(options_.site, camera.id),
                                                      camera.buffering.pre_roll_s, camera.buffering.max_bytes));
    if (old != lanes_.end()) {
      // A changed camera keeps its covers and numbering; only the buffer starts afresh.
      it->second.covers = std::move(old->second.covers);
      it->second.seq = old->second.seq;
      it->second.live_until_us = old->second.live_until_us;
    }
  }
  for (const auto& [id, _] : lanes_)
    if (!next.contains(id)) budget_.setLevel(id, 0);  // a removed camera takes no budget
  lanes_ = std::move(next);
}

bool Publisher::covered(Lane& lane, int64_t at_us) {
  std::erase_if(lane.covers, [at_us](const auto& item) { return item.second.until_us < at_us; });
  if (lane.live_until_us && lane.live_until_us < at_us) lane.live_until_us = 0;
  return !lane.covers.empty() || lane.live_until_us;
}

void Publisher::onAccessUnit(const media::CameraId& camera, const media::AccessUnitPtr& unit) {
  auto it = lanes_.find(*camera);
  if (it == lanes_.end()) return;  // a camera removed by a reload, still draining
  Lane& lane = it->second;
  lane.buffer.push(unit);
  budget_.noteUnit(lane.camera, unit->capture_us, unit->data.size(), unit->keyframe);
  if (!covered(lane, unit->capture_us)) {
    if (lane.publishing) {
      lane.publishing = false;
      lane.need_keyframe = true;
      lane.next_discontinuity = true;
      lane.uplink = UplinkMode::kFull;
      lane.budget_wait_keyframe = false;
      budget_.setLevel(lane.camera, 0);
    }
    return;
  }
  if (!lane.publishing) {
    // Covered, but no segment yet (the buffer was empty at the raise): start at the next keyframe.
    lane.publishing = true;
    lane.need_keyframe = true;
    lane.next_discontinuity = true;
  }
  send(lane, *unit, unit, 0);
}

void Publisher::startSegment(Lane& lane, const std::vector<media::AccessUnitPtr>& replay, int64_t pre_roll_before_us) {
  lane.publishing = true;
  lane.need_keyframe = true;
  lane.next_discontinuity = true;
  for (const auto& unit : replay)
    send(lane, *unit, unit, unit->capture_us < pre_roll_before_us ? kFlagPreRoll : 0);
}

bool Publisher::admit(Lane& lane, const media::AccessUnit& unit, uint16_t& flags) {
  if (!budget_.limited()) return true;
  int level = UplinkBudget::kLiveViewLevel;
  for (const auto& [id, cover] : lane.covers) level = std::min<int>(level, cover.level);
  budget_.setLevel(lane.camera, level);
  const UplinkMode mode = budget_.mode(lane.camera);
  if (mode != lane.uplink) {
    spdlog::info("uplink budget: camera {} (level {}) now {}", lane.camera, level, toString(mode));
    // Back to full only at a keyframe: the frames after it need the ones skipped.
    if (mode == UplinkMode::kFull) lane.budget_wait_keyframe = true;
    lane.uplink = mode;
  }
  bool go = false;
  switch (mode) {
    case UplinkMode::kFull:
      go = unit.keyframe || !lane.budget_wait_keyframe;
      break;
    case UplinkMode::kKeyframes:
      go = unit.keyframe;
      flags |= kFlagKeyframesOnly;
      break;
    case UplinkMode::kHeld:
      break;
  }
  if (!go) {
    // No seq is spent: the subscriber sees no gap, and the next unit that goes
    // out carries the discontinuity flag.
    ++lane.budget_skipped;
    lane.next_discontinuity = true;
    return false;
  }
  if (unit.keyframe) lane.budget_wait_keyframe = false;
  return true;
}

void Publisher::send(Lane& lane, const media::AccessUnit& unit, const media::AccessUnitPtr& keep,
                     uint16_t extra_flags) {
  if (unit.index <= lane.last_index) return;  // already published in an earlier segment
  if (lane.need_keyframe && !unit.keyframe) return;
  lane.need_keyframe = false;
  lane.last_index = unit.index;

  tag_scratch_.clear();
  for (const auto& [id, cover] : lane.covers) tag_scratch_.push_back({id, cover.level});
  uint16_t flags = extra_flags;
  if (admit(lane, unit, flags)) {
    VideoHeader header;
    header.flags = flags;
    if (unit.keyframe) header.flags |= kFlagKeyframe;
    if (lane.next_discontinuity || unit.discontinuity) header.flags |= kFlagDiscontinuity;
    if (lane.live_until_us) header.flags |= kFlagLiveView;
    header.boot_id = options_.boot_id;
    header.seq = lane.seq;
    header.pts_ns = unit.pts_ns;
    header.dts_ns = unit.dts_ns;
    header.capture_us = unit.capture_us;
    header.codec = unit.codec;
    header.width = static_cast<uint16_t>(unit.width);
    header.height = static_cast<uint16_t>(unit.height);
    header.tags.swap(tag_scratch_);
    header.publish_us = clock_.wallMicros();
    encodeVideoHeader(header, header_scratch_);
    header.tags.swap(tag_scratch_);

    // The payload leaves without a copy: ZeroMQ holds a reference to the unit
    // until the bytes are on the wire.
    auto* ref = new media::AccessUnitPtr(keep);
    zmq::message_t payload(const_cast<uint8_t*>(unit.data.data()), unit.data.size(),
                           [](void*, void* hint) { delete static_cast<media::AccessUnitPtr*>(hint); }, ref);
    try {
      socket_->send(zmq::buffer(lane.topic), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
      socket_->send(zmq::buffer(header_scratch_), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
      socket_->send(payload, zmq::send_flags::dontwait);
    } catch (const zmq::error_t& e) {
      spdlog::warn("publishing {}: {}", lane.topic, e.what());
    }
    ++lane.seq;
    lane.next_discontinuity = false;
  }
  // The evidence clip gets every covered unit, also those the budget kept back.
  if (observer_ && !tag_scratch_.empty()) observer_(lane.camera, keep, tag_scratch_);
}

void Publisher::sendJson(const std::string& topic, const std::string& json) {
  budget_.noteControl(topic.size() + json.size());
  try {
    socket_->send(zmq::buffer(topic), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
    socket_->send(zmq::buffer(json), zmq::send_flags::dontwait);
  } catch (const zmq::error_t& e) {
    spdlog::warn("publishing {}: {}", topic, e.what());
  }
}

void Publisher::sendAlarmEvent(const alarm::AlarmEvent& event, uint64_t event_id, uint32_t redelivery) {
  AlarmEventMessage message;
  message.boot_id = options_.boot_id;
  message.seq = alarm_seq_++;
  message.event_id = event_id;
  message.redelivery = redelivery;
  message.time_us = clock_.wallMicros();
  message.site = options_.site;
  message.event = event;
  sendJson(alarmTopic(options_.site), encodeAlarmEvent(message));
}

void Publisher::restoreCover(const alarm::Alarm& alarm) {
  dispatcher_.post([this, alarm] { applyToCovers({alarm::AlarmEventKind::kRaised, alarm}); });
}

void Publisher::doAlarmEvent(const alarm::AlarmEvent& event, uint64_t event_id) {
  sendAlarmEvent(event, event_id, 0);
  applyToCovers(event);
}

void Publisher::applyToCovers(const alarm::AlarmEvent& event) {
  const auto& a = event.alarm;
  for (const auto& camera : a.cameras) {
    auto it = lanes_.find(camera);
    if (it == lanes_.end()) continue;
    Lane& lane = it->second;
    switch (event.kind) {
      case alarm::AlarmEventKind::kRaised: {
        lane.covers[a.id] = Cover{static_cast<uint8_t>(a.level), INT64_MAX};
        if (!lane.publishing) {
          const int64_t from = a.raised_us - static_cast<int64_t>(a.pre_roll_s * 1e6);
          startSegment(lane, lane.buffer.since(from), a.raised_us);
        }
        break;
      }
      case alarm::AlarmEventKind::kUpdated:
        if (auto cover = lane.covers.find(a.id); cover != lane.covers.end())
          cover->second.level = static_cast<uint8_t>(a.level);
        break;
      case alarm::AlarmEventKind::kCleared:
        if (auto cover = lane.covers.find(a.id); cover != lane.covers.end())
          cover->second.until_us = a.cleared_us + static_cast<int64_t>(a.post_roll_s * 1e6);
        break;
      case alarm::AlarmEventKind::kAcknowledged:
        break;
    }
  }
}

void Publisher::doLiveView(const std::string& camera, int64_t until_us) {
  auto it = lanes_.find(camera);
  if (it == lanes_.end()) return;
  Lane& lane = it->second;
  lane.live_until_us = until_us;
  // Show a picture at once: start from the newest keyframe already buffered.
  if (until_us && !lane.publishing) startSegment(lane, lane.buffer.fromLastKeyframe(), 0);
}

void Publisher::doStatus(StatusMessage status) {
  status.boot_id = options_.boot_id;
  status.seq = status_seq_++;
  status.site = options_.site;
  status.time_us = clock_.wallMicros();
  for (auto& camera : status.cameras) {
    auto it = lanes_.find(camera.id);
    if (it == lanes_.end()) continue;
    Lane& lane = it->second;
    covered(lane, status.time_us);
    camera.published = lane.seq;
    camera.buffered_bytes = lane.buffer.bytes();
    camera.buffered_s = lane.buffer.seconds();
    camera.live_view = lane.live_until_us != 0;
    camera.alarms.clear();
    for (const auto& [id, cover] : lane.covers) camera.alarms.push_back({id, cover.level});
    camera.uplink = lane.publishing ? std::string(toString(lane.uplink)) : "";
    camera.budget_skipped = lane.budget_skipped;
  }
  status.uplink_budget_kbps = static_cast<double>(budget_.budgetBps()) / 1000;
  status.uplink_demand_kbps = budget_.limited() ? budget_.totalDemandBps() / 1000 : 0;
  sendJson(statusTopic(options_.site), encodeStatus(status));
  std::lock_guard lock(status_mutex_);
  last_status_ = std::move(status);
}

}  // namespace vcgate::bus
