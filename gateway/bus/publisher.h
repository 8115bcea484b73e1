// Publisher: the gateway's side of the bus. Owns the PUB socket and, per
// camera, the pre-alarm buffer and what covers the camera (alarms, their
// post-roll, a live-view lease). Publishes a camera's access units only while
// something covers it, each tagged with the covering alarms; publishes alarm
// events and heartbeats.
//
// Threads: the socket, the buffers and the covers belong to the frame
// dispatcher's worker thread. onAccessUnit() runs there. The other public
// methods may be called from any thread (the daemon calls them from the main
// thread): they post a task to the worker and return at once. lastStatus()
// reads a copy kept under a mutex.
// Create it, register it with the dispatcher, then start the cameras; destroy
// it only after the dispatcher has stopped.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "gateway/alarm/alarm.h"
#include "gateway/bus/connection_monitor.h"
#include "gateway/bus/curve.h"
#include "gateway/bus/protocol.h"
#include "gateway/bus/uplink_budget.h"
#include "gateway/config/config.h"
#include "gateway/core/clock.h"
#include "gateway/core/result.h"
#include "gateway/media/frame_dispatcher.h"
#include "gateway/media/pre_alarm_buffer.h"

namespace zmq {
class context_t;
class socket_t;
}  // namespace zmq

namespace vcgate::bus {

struct PublisherOptions {
  std::string site;
  std::vector<std::string> endpoints;  // bound; tcp://HOST:* picks a port (see boundEndpoints())
  int send_hwm = 1000;                 // messages queued per subscriber before ZeroMQ drops for it
  int send_buffer_bytes = 0;           // kernel send buffer per connection (SO_SNDBUF), 0 = system default
  uint64_t boot_id = 0;
  // bus.uplink.budget_kbps in bits per second; 0 = unlimited. Alarm video
  // beyond it degrades by level (UplinkBudget); events and heartbeats always go.
  uint64_t uplink_budget_bps = 0;
  // security.curve: every tcp:// endpoint is a CURVE server for these keys;
  // decisions are counted in auth_stats (shared with the command server).
  std::optional<CurveServer> curve;
  std::shared_ptr<AuthStats> auth_stats;
  // bus.realtime_priority: ZeroMQ's I/O thread (which writes every message to
  // the network) runs under SCHED_FIFO at this priority; 0 = normal policy.
  int realtime_priority = 0;
};

class Publisher final : public media::FrameSink {
 public:
  static core::Result<std::unique_ptr<Publisher>> create(PublisherOptions options, media::FrameDispatcher& dispatcher,
                                                        const core::Clock& clock = core::SystemClock::instance());
  ~Publisher() override;

  // The endpoints as bound, with the ports the system picked.
  const std::vector<std::string>& boundEndpoints() const { return bound_; }
  // Subscribers connected now (handshake done); nullopt if they cannot be counted. Any thread.
  std::optional<int> subscriberCount() const;
  uint64_t bootId() const { return options_.boot_id; }

  // Any thread: each posts a task to the worker.
  void configureCameras(const std::vector<config::CameraConfig>& cameras);
  // Publishes the event and applies it to the cameras' covers. `event_id` is
  // its journal number (0 if it was not journaled).
  void onAlarmEvent(const alarm::AlarmEvent& event, uint64_t event_id = 0);
  // An alarm that was active before a restart covers its cameras again, with
  // nothing published about it (its events are in the journal's backlog).
  void restoreCover(const alarm::Alarm& alarm);
  // Publishes an event again (not yet acknowledged); the covers are not touched.
  void resendAlarmEvent(const alarm::AlarmEvent& event, uint64_t event_id, uint32_t redelivery);
  // A new uplink budget (bits per second, 0 = unlimited), e.g. after a reload.
  void setUplinkBudget(uint64_t bps);
  void startLiveView(const std::string& camera, int64_t until_us);
  void stopLiveView(const std::string& camera);
  // Fills in the publisher's per-camera fields of `status` and publishes it.
  void publishStatus(StatusMessage status);
  // The last heartbeat published (empty before the first).
  StatusMessage lastStatus() const;

  // Called on the worker thread with every video unit published while alarms
  // cover its camera, with those alarms (the evidence recorder writes clips
  // from exactly this stream) — including the units the uplink budget kept off
  // the bus: a clip is complete whatever the uplink. Set before the dispatcher
  // starts; must not block.
  using PublishedObserver =
      std::function<void(const std::string& camera, const media::AccessUnitPtr& unit, const std::vector<AlarmTag>& tags)>;
  void setPublishedObserver(PublishedObserver observer) { observer_ = std::move(observer); }

  // Worker thread (FrameSink).
  void onAccessUnit(const media::CameraId& camera, const media::AccessUnitPtr& unit) override;

 private:
  struct Cover {
    uint8_t level = 3;
    int64_t until_us = INT64_MAX;  // INT64_MAX while the alarm is active; then clear + post-roll
  };
  struct Lane {
    Lane(std::string camera_, std::string topic_, double pre_roll_s, uint64_t max_bytes)
        : camera(std::move(camera_)), topic(std::move(topic_)), buffer(pre_roll_s, max_bytes) {}
    std::string camera;
    std::string topic;
    media::PreAlarmBuffer buffer;
    std::map<alarm::AlarmId, Cover> covers;
    int64_t live_until_us = 0;
    bool publishing = false;
    bool need_keyframe = true;
    bool next_discontinuity = true;
    uint64_t seq = 0;
    uint64_t last_index = 0;  // the newest unit published, to never publish one twice
    // The uplink budget: the mode last applied, units it kept off the bus, and
    // whether the stream waits for a keyframe to go back to full.
    UplinkMode uplink = UplinkMode::kFull;
    uint64_t budget_skipped = 0;
    bool budget_wait_keyframe = false;
  };

  Publisher(PublisherOptions options, media::FrameDispatcher& dispatcher, const core::Clock& clock);

  // All on the worker thread.
  void doConfigure(const std::vector<config::CameraConfig>& cameras);
  void doAlarmEvent(const alarm::AlarmEvent& event, uint64_t event_id);
  void applyToCovers(const alarm::AlarmEvent& event);
  void sendAlarmEvent(const alarm::AlarmEvent& event, uint64_t event_id, uint32_t redelivery);
  void doLiveView(const std::string& camera, int64_t until_us);
  void doStatus(StatusMessage status);
  bool covered(Lane& lane, int64_t at_us);
  void startSegment(Lane& lane, const std::vector<media::AccessUnitPtr>& replay, int64_t pre_roll_before_us);
  void send(Lane& lane, const media::AccessUnit& unit, const media::AccessUnitPtr& keep, uint16_t extra_flags);
  void sendJson(const std::string& topic, const std::string& json);
  // Whether the uplink budget lets this unit of a covered camera go out now.
  bool admit(Lane& lane, const media::AccessUnit& unit, uint16_t& flags);

  PublisherOptions options_;
  media::FrameDispatcher& dispatcher_;
  const core::Clock& clock_;
  std::unique_ptr<zmq::context_t> context_;
  std::unique_ptr<ZapAuthenticator> zap_;  // started before the socket binds
  std::unique_ptr<ConnectionMonitor> monitor_;  // counts subscribers
  std::unique_ptr<zmq::socket_t> socket_;
  std::vector<std::string> bound_;
  std::map<std::string, Lane> lanes_;
  uint64_t alarm_seq_ = 0;
  uint64_t status_seq_ = 0;
  std::string header_scratch_;   // reused for every video header: no allocation per frame
  std::vector<AlarmTag> tag_scratch_;
  PublishedObserver observer_;
  UplinkBudget budget_;

  mutable std::mutex status_mutex_;
  StatusMessage last_status_;
};

// A random 64-bit boot id (never 0).
uint64_t newBootId();

}  // namespace vcgate::bus
