// Daemon: composes the modules into the running gateway and owns the GLib
// main loop on the main thread. Signal handling follows mosquitto: the
// handlers (GLib unix signal sources) only act on the main loop.
//   SIGINT, SIGTERM  shut down, in this order (docs/deployment.md, "The service"):
//                    1. stop the timers and the command sockets (no new work),
//                    2. every camera lets go of its pipeline (no frame after this)
//                       and the reaper takes them all to NULL at once,
//                    3. let the frame dispatcher deliver what is queued and join,
//                    4. wait up to 10 s for the pipelines of step 2,
//                    5. stop analytics and the board (closing the watchdog),
//                    6. close the publish socket (linger 500 ms for queued messages),
//                    7. close the evidence clips.
//                    Exit 0; exit 3 if a pipeline was still not down at step 4
//                    (after steps 5-7: nothing the daemon keeps is lost).
//   SIGHUP           reload the config file; an invalid file is refused with
//                    its diagnostics and the running config stays.
// Main thread only.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "firmware/board/board.h"
#include "gateway/alarm/alarm_engine.h"
#include "gateway/analytics/analytics_sink.h"
#include "gateway/analytics/main_context_forwarder.h"
#include "gateway/evidence/evidence_recorder.h"
#include "gateway/alarm/rule_engine.h"
#include "gateway/alarm/video_loss_monitor.h"
#include "gateway/bus/command_server.h"
#include "gateway/bus/publisher.h"
#include "gateway/config/config.h"
#include "gateway/control/command_handler.h"
#include "gateway/daemon/event_delivery.h"
#include "gateway/daemon/service_notifier.h"
#include "gateway/media/camera_manager.h"

typedef struct _GMainLoop GMainLoop;

namespace vcgate::daemon {

class Daemon {
 public:
  explicit Daemon(config::Config config);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Runs until SIGINT/SIGTERM. Returns the process exit code (3 when the
  // bus cannot be set up).
  int run();
  // Re-reads the config file; empty on success, else why it was refused.
  std::string reload();
  void requestStop();

 private:
  bool startBus();
  void startDelivery();
  void startEvidence();
  void startSources();
  bus::StatusMessage buildStatus() const;
  void watchCameras();
  void logStats() const;
  void writeMetrics() const;
  std::string summary() const;

  config::Config config_;
  const core::Clock& clock_ = core::SystemClock::instance();
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  GMainLoop* loop_;
  // Destroyed in reverse order of declaration, which is the shutdown order:
  // what the dispatcher thread feeds (recorder, analytics, publisher) outlives
  // the cameras; a forwarder outlives the thread that posts through it.
  std::unique_ptr<evidence::EvidenceRecorder> evidence_;
  std::unique_ptr<analytics::MainContextForwarder<analytics::AnalyticsEvent>> analytics_forward_;
  std::unique_ptr<analytics::AnalyticsSink> analytics_;
  std::unique_ptr<analytics::MainContextForwarder<board::InputEvent>> board_forward_;
  std::unique_ptr<board::Board> board_;
  std::shared_ptr<bus::AuthStats> auth_stats_ = std::make_shared<bus::AuthStats>();  // CURVE decisions, both sockets
  std::unique_ptr<bus::Publisher> publisher_;
  std::unique_ptr<media::CameraManager> cameras_;
  std::unique_ptr<alarm::AlarmEngine> alarms_;
  std::unique_ptr<alarm::VideoLossMonitor> video_loss_;
  std::unique_ptr<alarm::RuleEngine> rules_;
  std::unique_ptr<EventDelivery> delivery_;
  std::unique_ptr<control::CommandHandler> handler_;
  std::unique_ptr<bus::CommandServer> commands_;
  std::unique_ptr<ServiceNotifier> service_;
  std::vector<unsigned> timers_;
  // Alarms whose clips are closed at that time (their post-roll has ended). Main thread.
  std::vector<std::pair<std::chrono::steady_clock::time_point, alarm::AlarmId>> clip_closes_;
};

}  // namespace vcgate::daemon
