#include "gateway/daemon/daemon.h"

#include <glib-unix.h>
#include <glib.h>

#include <chrono>
#include <csignal>

#include <spdlog/spdlog.h>

#include "gateway/core/log.h"
#include "gateway/core/uri.h"

namespace vcgate::daemon {
namespace {

constexpr auto kShutdownBudget = std::chrono::milliseconds(4500);  // the promise is 5 s

}  // namespace

Daemon::Daemon(config::Config config)
    : config_(std::move(config)), loop_(g_main_loop_new(nullptr, FALSE)) {}

Daemon::~Daemon() { g_main_loop_unref(loop_); }

void Daemon::requestStop() { g_main_loop_quit(loop_); }

bool Daemon::reload() {
  spdlog::info("reloading {}", config_.source_path);
  auto loaded = config::loadConfigFile(config_.source_path);
  if (!loaded.ok()) {
    for (const auto& d : loaded.diagnostics) spdlog::error("{}", d.format());
    spdlog::error("reload refused: {} problem(s) in {}; the running configuration stays",
                  loaded.diagnostics.size(), config_.source_path);
    return false;
  }
  config_ = std::move(*loaded.config);
  if (auto level = core::parseLogLevel(config_.logging.level)) spdlog::set_level(*level);
  cameras_->apply(config_.cameras);
  spdlog::info("reload done: {} camera(s)", config_.cameras.size());
  return true;
}

void Daemon::logStats() const {
  const std::string table = media::formatStatsTable(cameras_->stats());
  spdlog::info("camera stats\n{}", table.substr(0, table.size() - 1));
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
  const guint sigint = g_unix_signal_add(SIGINT, on_stop, this);
  const guint sigterm = g_unix_signal_add(SIGTERM, on_stop, this);
  const guint sighup = g_unix_signal_add(SIGHUP, on_reload, this);

  spdlog::info("vcgated {} starting: site {} ({}), {} camera(s), config {}", VCGATE_VERSION, config_.site.id,
               config_.site.name, config_.cameras.size(), config_.source_path);
  cameras_ = std::make_unique<media::CameraManager>();
  cameras_->apply(config_.cameras);
  if (config_.logging.stats_interval.count() > 0) {
    stats_timer_ = g_timeout_add_seconds(
        static_cast<guint>(config_.logging.stats_interval.count()),
        +[](gpointer self) -> gboolean {
          static_cast<Daemon*>(self)->logStats();
          return G_SOURCE_CONTINUE;
        },
        this);
  }
  spdlog::info("running; SIGHUP reloads, SIGTERM stops");

  g_main_loop_run(loop_);

  // Shutdown, in the documented order.
  const auto started = std::chrono::steady_clock::now();
  for (guint source : {stats_timer_, sigint, sigterm, sighup})
    if (source) g_source_remove(source);
  const bool clean = cameras_->stop(kShutdownBudget);
  if (!clean) {
    spdlog::error("a camera pipeline did not stop within {} ms; exiting anyway", kShutdownBudget.count());
    // The stuck pipeline's thread cannot be joined; leave without running destructors.
    std::_Exit(3);
  }
  cameras_.reset();
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  spdlog::info("stopped cleanly in {} ms", took.count());
  return 0;
}

}  // namespace vcgate::daemon
