#include "gateway/daemon/daemon.h"

#include <glib-unix.h>
#include <glib.h>

#include <csignal>
#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "gateway/control/metrics.h"
#include "gateway/core/log.h"
#include "gateway/core/uri.h"
#include "gateway/daemon/security_setup.h"

namespace vcgate::daemon {
namespace {

// How long shutdown waits for the cameras' pipelines, all going down at once.
// Natively that takes well under a second; an x265 camera that is still
// setting up its encoder on a slow box (or under qemu) takes seconds; a
// camera that never answers its TEARDOWN is abandoned after this. Within
// the unit's TimeoutStopSec (15 s), with room for the rest of the shutdown.
constexpr auto kShutdownBudget = std::chrono::milliseconds(10'000);
constexpr guint kWatchIntervalMs = 250;
// After a clear, the alarm's clips are closed this long after its post-roll
// (the publisher ends the post-roll by capture time; units still queued for
// the recorder are handled before the close).
constexpr auto kClipCloseMargin = std::chrono::seconds(1);

std::string joinIds(const std::vector<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) out += (out.empty() ? "" : ",") + id;
  return out;
}

}  // namespace

Daemon::Daemon(config::Config config) : config_(std::move(config)), loop_(g_main_loop_new(nullptr, FALSE)) {}

Daemon::~Daemon() { g_main_loop_unref(loop_); }

void Daemon::requestStop() { g_main_loop_quit(loop_); }

std::string Daemon::reload() {
  spdlog::info("reloading {}", config_.source_path);
  service_->reloading();
  auto loaded = config::loadConfigFile(config_.source_path);
  if (!loaded.ok()) {
    service_->ready(summary());
    for (const auto& d : loaded.diagnostics) spdlog::error("{}", d.format());
    spdlog::error("reload refused: {} problem(s) in {}; the running configuration stays",
                  loaded.diagnostics.size(), config_.source_path);
    return fmt::format("{} problem(s) in {}; first: {}", loaded.diagnostics.size(), config_.source_path,
                       loaded.diagnostics.front().format());
  }
  config::Config next = std::move(*loaded.config);
  if (next.bus.publish != config_.bus.publish || next.bus.control != config_.bus.control ||
      next.bus.commands != config_.bus.commands || next.site.id != config_.site.id)
    spdlog::warn("reload: changes to site.id and bus endpoints take effect at the next restart");
  if (next.journal != config_.journal || next.evidence != config_.evidence)
    spdlog::warn("reload: changes to journal and evidence take effect at the next restart");
  if (next.bus.uplink_budget_kbps != config_.bus.uplink_budget_kbps) {
    spdlog::info("reload: uplink budget {} kbit/s (0 = unlimited)", next.bus.uplink_budget_kbps);
    publisher_->setUplinkBudget(next.bus.uplink_budget_kbps * 1000);
  }
  const uint64_t budget_kbps = next.bus.uplink_budget_kbps;
  next.site = config_.site;
  next.bus = config_.bus;
  next.bus.uplink_budget_kbps = budget_kbps;
  next.journal = config_.journal;
  next.evidence = config_.evidence;
  for (const auto& old : config_.cameras) {
    const bool kept = std::any_of(next.cameras.begin(), next.cameras.end(), [&](const auto& c) { return c.id == old.id; });
    if (!kept) video_loss_->forget(old.id);
  }
  config_ = std::move(next);
  if (auto level = core::parseLogLevel(config_.logging.level)) spdlog::set_level(*level);
  alarms_->reconfigure(config_);
  video_loss_->reconfigure(config_.alarms.video_loss);
  rules_->reconfigure(config_.rules);
  publisher_->configureCameras(config_.cameras);  // before the cameras, so new ones have a lane
  analytics_->reconfigure(config_.analytics);
  cameras_->apply(config_.cameras);
  service_->ready(summary());
  spdlog::info("reload done: {} camera(s)", config_.cameras.size());
  return {};
}

bus::StatusMessage Daemon::buildStatus() const {
  bus::StatusMessage status;
  status.site = config_.site.id;
  status.version = VCGATE_VERSION;
  status.uptime_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  status.interval_s = std::chrono::duration<double>(config_.bus.heartbeat).count();
  status.active_alarms = static_cast<int>(alarms_->active().size());
  status.journal_backlog = delivery_->backlog();
  // What only the publisher thread knows (published, buffered, covering alarms)
  // comes from its last heartbeat: at most one interval old.
  const auto published = publisher_->lastStatus();
  status.uplink_budget_kbps = published.uplink_budget_kbps;
  status.uplink_demand_kbps = published.uplink_demand_kbps;
  for (const auto& s : cameras_->stats()) {
    bus::CameraStatus c;
    c.id = s.id;
    c.state = std::string(media::stateName(s.state));
    c.fps = s.fps;
    c.bitrate_bps = s.bitrate_bps;
    c.frames = s.frames;
    c.dropped = s.dropped;
    for (const auto& p : published.cameras) {
      if (p.id != s.id) continue;
      c.published = p.published;
      c.buffered_bytes = p.buffered_bytes;
      c.buffered_s = p.buffered_s;
      c.alarms = p.alarms;
      c.live_view = p.live_view;
      c.uplink = p.uplink;
      c.budget_skipped = p.budget_skipped;
    }
    status.cameras.push_back(std::move(c));
  }
  return status;
}

void Daemon::watchCameras() {
  for (auto it = clip_closes_.begin(); it != clip_closes_.end();) {
    if (std::chrono::steady_clock::now() < it->first) {
      ++it;
      continue;
    }
    evidence_->closeAlarm(it->second);
    it = clip_closes_.erase(it);
  }
  rules_->tick();
  delivery_->tick();
  if (board_ && config_.board->watchdog.enabled) (void)board_->pingWatchdog();
  for (const auto& s : cameras_->stats()) {
    if (s.state == media::CameraState::kDisabled || s.state == media::CameraState::kFinished) continue;
    video_loss_->observe(s.id, s.state == media::CameraState::kStreaming, s.last_error);
  }
}

std::string Daemon::summary() const {
  int streaming = 0;
  const auto stats = cameras_->stats();
  for (const auto& s : stats) streaming += s.state == media::CameraState::kStreaming;
  return fmt::format("{}/{} cameras streaming, {} active alarm(s)", streaming, stats.size(), alarms_->active().size());
}

void Daemon::writeMetrics() const {
  if (config_.metrics.textfile.empty()) return;
  // The command server and this timer both run on the main loop: counts() is read between requests.
  control::BusMetrics bus;
  if (handler_) bus.requests = handler_->counts();
  if (config_.security.curve) bus.auth = auth_stats_->snapshot();
  const auto text = control::renderMetrics(buildStatus(), cameras_->stats(), bus);
  if (auto written = control::writeMetricsFile(config_.metrics.textfile, text); !written)
    spdlog::warn("{}", written.error().message);
}

void Daemon::logStats() const {
  const std::string table = media::formatStatsTable(cameras_->stats());
  spdlog::info("camera stats\n{}", table.substr(0, table.size() - 1));
}

void Daemon::startEvidence() {
  evidence::RecorderOptions options;
  options.dir = config_.storage.evidence_dir;
  options.quota_bytes = config_.evidence.quota_bytes;
  options.min_free_bytes = config_.evidence.min_free_bytes;
  options.sync_fragments = config_.evidence.sync_fragments;
  options.idle_close = config_.evidence.idle_close;
  options.prune_on_error_bytes = config_.evidence.prune_on_error_bytes;
  options.queue_units = static_cast<size_t>(config_.evidence.queue_units);
  options.queue_bytes = config_.evidence.queue_bytes;
  auto recorder = evidence::EvidenceRecorder::start(options);
  if (!recorder) {
    spdlog::error("evidence clips are NOT recorded: {}", recorder.error().message);
    return;
  }
  evidence_ = std::move(*recorder);
  publisher_->setPublishedObserver(
      [this](const std::string& camera, const media::AccessUnitPtr& unit, const std::vector<bus::AlarmTag>& tags) {
        // Small (one entry per covering alarm), and only for published units.
        std::vector<evidence::CoveringAlarm> alarms;
        alarms.reserve(tags.size());
        for (const auto& tag : tags) alarms.push_back({tag.id, tag.level});
        evidence_->onUnit(camera, unit, alarms);
      });
  spdlog::info("evidence clips in {} (quota {} bytes, keep {} bytes free)", options.dir, options.quota_bytes,
               options.min_free_bytes);
}

// Where alarms come from besides people: the cameras' analytics and the board's inputs.
void Daemon::startSources() {
  analytics_forward_ = std::make_unique<analytics::MainContextForwarder<analytics::AnalyticsEvent>>(
      [this](const analytics::AnalyticsEvent& e) {
        spdlog::info("analytics {} {} {}{} (score {:.2f})", e.camera, analytics::toString(e.kind),
                     e.active ? "started" : "ended", e.zone.empty() ? "" : " in zone " + e.zone, e.score);
        rules_->onTrigger({.source = std::string(analytics::toString(e.kind)), .camera = e.camera, .zone = e.zone,
                           .input = "", .active = e.active, .detail = fmt::format("score {:.2f}", e.score)});
      });
  analytics_ = std::make_unique<analytics::AnalyticsSink>(config_.analytics, analytics_forward_->callback(),
                                                          core::SystemClock::instance());
  cameras_->dispatcher().addSink(analytics_.get());
  analytics_->start();

  if (!config_.board) return;
  auto made = board::makeBoard(*config_.board, core::SystemClock::instance());
  if (!made) {
    spdlog::error("board inputs are NOT watched: {}", made.error().message);
    return;
  }
  board_forward_ = std::make_unique<analytics::MainContextForwarder<board::InputEvent>>([this](const board::InputEvent& e) {
    spdlog::info("input {} {}", e.id, e.active ? "active" : "inactive");
    rules_->onTrigger({.source = "input", .camera = "", .zone = "", .input = e.id, .active = e.active, .detail = ""});
  });
  if (auto started = made.value()->start(board_forward_->callback()); !started) {
    spdlog::error("board inputs are NOT watched: {}", started.error().message);
    return;
  }
  board_ = std::move(*made);
  if (config_.board->watchdog.enabled) {
    if (auto opened = board_->openWatchdog(); !opened) spdlog::error("hardware watchdog: {}", opened.error().message);
  }
}

void Daemon::startDelivery() {
  const std::filesystem::path state = config_.storage.state_dir;
  std::error_code ec;
  std::filesystem::create_directories(state, ec);
  journal::JournalOptions journal_options;
  journal_options.segment_bytes = config_.journal.segment_bytes;
  journal_options.max_age = config_.journal.max_age;
  journal_options.max_backlog = static_cast<size_t>(config_.journal.max_backlog);
  if (auto fsync = journal::FsyncPolicy::parse(config_.journal.fsync))
    journal_options.fsync = *fsync;
  else  // the config loader accepts only what parse() reads; keep the safe default if they ever disagree
    spdlog::error("journal.fsync: {}; using 'always'", fsync.error().message);
  auto journal = journal::Journal::open((state / "journal").string(), journal_options);
  std::unique_ptr<journal::Journal> opened;
  if (journal) {
    opened = std::move(*journal);
    const auto& report = opened->recovery();
    spdlog::info("journal: {} (fsync {})", report.summary(), journal_options.fsync.describe());
    for (const auto& range : report.corrupt)
      spdlog::error("journal: {} at byte {} ({} bytes skipped): {}", range.file, range.offset, range.length,
                    range.reason);
  } else {
    spdlog::error("journal unavailable, alarm events will NOT survive a restart: {}", journal.error().message);
  }
  const std::string active_file = (state / "active-alarms.json").string();
  delivery_ = std::make_unique<EventDelivery>(std::move(opened), *publisher_, config_.site.id, active_file, clock_);
  const auto restored = EventDelivery::loadActive(active_file);
  alarms_->restore(restored);
  for (const auto& alarm : restored) {
    publisher_->restoreCover(alarm);
    spdlog::info("alarm {} restored: level {} {} on {}", alarm.id.hex(), alarm.level, alarm.type,
                 joinIds(alarm.cameras));
  }
  // Alarms a rule or the video-loss watch raised are theirs again: a trigger
  // that is still on keeps the same alarm, and they clear it as before.
  rules_->adopt(restored);
  video_loss_->adopt(restored);
}

bool Daemon::startBus() {
  auto curve = curveServerFrom(config_.security);
  if (!curve) {
    spdlog::error("{}", curve.error().message);
    return false;
  }
  warnAboutClearText(config_);
  bus::PublisherOptions options;
  options.curve = *curve;
  options.auth_stats = auth_stats_;
  options.site = config_.site.id;
  options.endpoints = config_.bus.publish;
  options.send_hwm = config_.bus.send_hwm;
  options.uplink_budget_bps = config_.bus.uplink_budget_kbps * 1000;
  options.realtime_priority = config_.bus.realtime_priority;
  auto publisher = bus::Publisher::create(options, cameras_->dispatcher(), clock_);
  if (!publisher) {
    spdlog::error("{}", publisher.error().message);
    return false;
  }
  publisher_ = std::move(*publisher);
  cameras_->dispatcher().addSink(publisher_.get());
  publisher_->configureCameras(config_.cameras);
  for (const auto& endpoint : publisher_->boundEndpoints())
    spdlog::info("publishing on {}{}", endpoint,
                 *curve && endpoint.starts_with("tcp://")
                     ? fmt::format(" (CURVE, {} allowed key(s))", (*curve)->clients.size())
                     : "");
  if (options.uplink_budget_bps)
    spdlog::info("uplink budget {} kbit/s: beyond it, alarm video degrades from level 3 up", config_.bus.uplink_budget_kbps);

  alarms_ = std::make_unique<alarm::AlarmEngine>(config_, clock_);
  alarms_->addListener([this](const alarm::AlarmEvent& event) {
    const auto& a = event.alarm;
    spdlog::info("alarm {} {}: level {} {} from {} on {}{}", a.id.hex(), alarm::eventName(event.kind), a.level,
                 a.type, a.source, joinIds(a.cameras), a.description.empty() ? "" : " (" + a.description + ")");
    // Before the event goes out: a fetch right after it finds the snapshot pending.
    if (event.kind == alarm::AlarmEventKind::kRaised && evidence_)
      evidence_->requestSnapshot(a.id, a.cameras, a.raised_us);
    delivery_->onEvent(event, alarms_->active());
    if (event.kind == alarm::AlarmEventKind::kAcknowledged && evidence_) evidence_->setAcknowledged(a.id);
    // The publisher stops publishing the camera when the post-roll ends, so no
    // untagged unit comes to close the clips: close them when it has ended.
    if (event.kind == alarm::AlarmEventKind::kCleared && evidence_)
      clip_closes_.emplace_back(std::chrono::steady_clock::now() + kClipCloseMargin +
                                    std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                        std::chrono::duration<double>(std::max(0.0, a.post_roll_s))),
                                a.id);
    if (event.kind == alarm::AlarmEventKind::kCleared && rules_) rules_->onAlarmCleared(a.id.hex());
  });
  video_loss_ = std::make_unique<alarm::VideoLossMonitor>(*alarms_, clock_, config_.alarms.video_loss);
  rules_ = std::make_unique<alarm::RuleEngine>(config_.rules, *alarms_, clock_);
  startDelivery();
  startEvidence();

  control::CommandContext context;
  context.site = config_.site.id;
  context.version = VCGATE_VERSION;
  context.alarms = alarms_.get();
  context.publisher = publisher_.get();
  context.status = [this] { return buildStatus(); };
  context.reload = [this] { return reload(); };
  context.clock = &clock_;
  context.ack_events = [this](const std::vector<uint64_t>& ids) { return delivery_->acknowledge(ids); };
  context.camera_stats = [this] { return cameras_->stats(); };
  context.evidence = evidence_.get();
  context.config = [this]() -> const config::Config& { return config_; };
  context.auth_stats = auth_stats_;
  context.subscribers = [this] { return publisher_->subscriberCount(); };
  context.board = [this]() -> std::optional<control::BoardView> {
    if (!board_) return std::nullopt;  // none configured, or it failed to start (logged then)
    return control::BoardView{std::string(board::toString(board_->kind())), board_->inputs(), board_->outputs(),
                              board_->temperatureC()};
  };
  handler_ = std::make_unique<control::CommandHandler>(std::move(context));
  std::vector<bus::CommandServer::Endpoint> endpoints{{"control", config_.bus.control}};
  for (const auto& address : config_.bus.commands) endpoints.push_back({"commands", address});
  auto server = bus::CommandServer::create(
      endpoints, [this](const std::string& request, const bus::RequestOrigin& origin) {
        return handler_->handle(request, origin);
      },
      *curve, auth_stats_);
  if (!server) {
    spdlog::error("{}", server.error().message);
    return false;
  }
  commands_ = std::move(*server);
  for (const auto& endpoint : commands_->boundEndpoints()) spdlog::info("accepting commands on {}", endpoint);
  return true;
}

int Daemon::run() {
  const auto on_stop = +[](gpointer self) -> gboolean {
    spdlog::info("stop requested");
    static_cast<Daemon*>(self)->requestStop();
    return G_SOURCE_CONTINUE;
  };
  const auto on_reload = +[](gpointer self) -> gboolean {
    static_cast<Daemon*>(self)->reload();
    return G_SOURCE_CONTINUE;
  };
  timers_.push_back(g_unix_signal_add(SIGINT, on_stop, this));
  timers_.push_back(g_unix_signal_add(SIGTERM, on_stop, this));
  timers_.push_back(g_unix_signal_add(SIGHUP, on_reload, this));

  spdlog::info("vcgated {} starting: site {} ({}), {} camera(s), config {}", VCGATE_VERSION, config_.site.id,
               config_.site.name, config_.cameras.size(), config_.source_path);
  cameras_ = std::make_unique<media::CameraManager>(clock_);
  cameras_->dispatcher().setRealtimePriority(config_.bus.realtime_priority);
  if (config_.bus.realtime_priority > 0)
    spdlog::info("delivery threads (frame dispatcher, ZeroMQ I/O): asking for real-time priority {}",
                 config_.bus.realtime_priority);
  if (!startBus()) {
    spdlog::error("cannot start the bus; exiting");
    cameras_->stop(kShutdownBudget);
    return 3;
  }
  startSources();
  // Everything that may need root is open now: sockets, the board's lines, the watchdog.
  if (auto dropped = dropPrivileges(config_.security.user, {config_.storage.state_dir, config_.storage.evidence_dir});
      !dropped) {
    spdlog::error("{}; exiting", dropped.error().message);
    cameras_->stop(kShutdownBudget);
    return 3;
  } else if (!config_.security.user.empty()) {
    spdlog::info("running as user {}", config_.security.user);
  }
  cameras_->apply(config_.cameras);

  timers_.push_back(g_timeout_add(kWatchIntervalMs, +[](gpointer self) -> gboolean {
    static_cast<Daemon*>(self)->watchCameras();
    return G_SOURCE_CONTINUE;
  }, this));
  timers_.push_back(g_timeout_add(static_cast<guint>(config_.bus.heartbeat.count()), +[](gpointer self) -> gboolean {
    auto* daemon = static_cast<Daemon*>(self);
    daemon->publisher_->publishStatus(daemon->buildStatus());
    return G_SOURCE_CONTINUE;
  }, this));
  if (config_.logging.stats_interval.count() > 0) {
    timers_.push_back(g_timeout_add_seconds(static_cast<guint>(config_.logging.stats_interval.count()),
                                            +[](gpointer self) -> gboolean {
                                              static_cast<Daemon*>(self)->logStats();
                                              return G_SOURCE_CONTINUE;
                                            },
                                            this));
  }
  if (!config_.metrics.textfile.empty()) {
    timers_.push_back(g_timeout_add(static_cast<guint>(config_.metrics.interval.count()), +[](gpointer self) -> gboolean {
      static_cast<Daemon*>(self)->writeMetrics();
      return G_SOURCE_CONTINUE;
    }, this));
  }
  // Watchdog liveness: the main loop pings, and only if the publishing thread ran a task since.
  service_ = std::make_unique<ServiceNotifier>(
      [this](std::function<void()> done) { cameras_->dispatcher().post(std::move(done)); });
  service_->ready(summary());
  timers_.push_back(g_timeout_add_seconds(5, +[](gpointer self) -> gboolean {
    auto* daemon = static_cast<Daemon*>(self);
    daemon->service_->status(daemon->summary());
    return G_SOURCE_CONTINUE;
  }, this));
  spdlog::info("running; SIGHUP reloads, SIGTERM stops");

  g_main_loop_run(loop_);

  // Shutdown, in the documented order.
  const auto started = std::chrono::steady_clock::now();
  service_->stopping();
  for (guint source : timers_) g_source_remove(source);
  timers_.clear();
  commands_.reset();
  const bool pipelines_down = cameras_->stop(kShutdownBudget);
  const size_t stuck = cameras_->pipelinesGoingDown();
  service_.reset();
  analytics_->stop();
  if (board_) {
    board_->stop();
    if (config_.board->watchdog.enabled) (void)board_->closeWatchdog();  // magic close: a clean stop must not reboot the box
  }
  publisher_.reset();
  evidence_.reset();  // closes open clips
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  if (!pipelines_down) {
    // Everything the daemon keeps (journal, clips) is closed; only a camera
    // session is left open. Its thread cannot be joined, so the camera
    // manager is left to the exit.
    spdlog::error("{} camera pipeline(s) did not stop within {} ms (a camera that does not answer its "
                  "TEARDOWN?); exiting without them after {} ms",
                  stuck, kShutdownBudget.count(), took.count());
    spdlog::default_logger()->flush();
    std::_Exit(3);
  }
  cameras_.reset();
  spdlog::info("stopped cleanly in {} ms", took.count());
  return 0;
}

}  // namespace vcgate::daemon
