// CommandHandler: the request/reply commands of docs/protocol.md section 7,
// for both the local control socket (vcgatectl) and the platform's command
// endpoint. Parses a JSON request, acts, and always answers with a JSON reply:
// malformed input gets a "bad_request" reply, never an exception.
// Main thread only (it calls the alarm engine directly). Nothing here blocks:
// the box facts of "status" (statvfs, adjtimex, a sysfs read) are system
// calls that answer at once, never a child process.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "firmware/board/board.h"
#include "gateway/alarm/alarm_engine.h"
#include "gateway/bus/command_server.h"
#include "gateway/bus/curve.h"
#include "gateway/bus/protocol.h"
#include "gateway/bus/publisher.h"
#include "gateway/config/config.h"
#include "gateway/core/clock.h"
#include "gateway/evidence/evidence_recorder.h"
#include "gateway/media/camera_stats.h"

namespace vcgate::control {

// What the board reports, for "inputs" and the temperature in "status".
// Plain data (the handler never touches the board itself).
struct BoardView {
  std::string kind;  // "simulated", "linux"
  std::vector<board::InputState> inputs;
  std::vector<board::OutputState> outputs;
  std::optional<double> temperature_c;
};

struct CommandContext {
  std::string site;
  std::string version;
  alarm::AlarmEngine* alarms = nullptr;
  bus::Publisher* publisher = nullptr;
  // The current heartbeat object (camera stats, alarms), built on demand.
  std::function<bus::StatusMessage()> status;
  // Re-reads the config file; returns an error text, or empty on success.
  std::function<std::string()> reload;
  const core::Clock* clock = &core::SystemClock::instance();
  // Per-camera ingest stats (codec, size, GOP, reconnects, last error) for
  // "cameras" and the health verdict. Unset: those fields are missing.
  std::function<std::vector<media::CameraStatsSnapshot>()> camera_stats;
  // The running configuration (camera names and URIs, storage directories,
  // endpoints). Unset: "status" reports no storage and "cameras" no names.
  std::function<const config::Config&()> config;
  // Subscribers connected to the publish endpoints, if the publisher counts
  // them. Unset or nullopt: reported as unknown (null).
  std::function<std::optional<int>()> subscribers;
  // CURVE decisions on the bus (security.curve); unset: not reported.
  std::shared_ptr<bus::AuthStats> auth_stats;
  // The platform's acknowledgement of alarm events by their journal event_id;
  // returns how many were outstanding. Unset: event.ack is refused.
  std::function<core::Result<size_t>(const std::vector<uint64_t>&)> ack_events;
  // The board's inputs, outputs and temperature. Unset: "inputs" says this
  // build has no board layer; nullopt: no board is configured or it failed.
  std::function<std::optional<BoardView>()> board;
  // The evidence clips and snapshots (clip.list, clip.fetch, snapshot.fetch).
  // Null: those commands answer "not_available". Its readers are thread-safe.
  evidence::EvidenceRecorder* evidence = nullptr;
  // Where the board's temperature sensors are; tests point it elsewhere.
  std::string thermal_dir = "/sys/class/thermal";
};

// The box facts of the "status" result's "system" object: disk use of the
// storage directories, clock synchronisation, board temperature (a Linux
// board's configured sensor when there is one, else the hottest thermal
// zone). Any thread.
nlohmann::json systemFacts(const config::StorageConfig* storage, const std::string& thermal_dir,
                           const std::optional<BoardView>& board = std::nullopt);

// The one-line verdict of "status" ("health" object) from the status result
// with its "system" object and the camera stats. Pure; any thread.
nlohmann::json assessHealth(const nlohmann::json& status, const std::vector<media::CameraStatsSnapshot>& stats);

// The requests the handler answered, and the refusals among them by their
// protocol error code ("bad_request", "forbidden", "unknown_command",
// "too_large", ...), for the "bus.requests" object of "status".
struct RequestCounts {
  uint64_t answered = 0;
  uint64_t refused = 0;
  std::map<std::string, uint64_t> refused_by_code;
  // The last refusal: code, command and who, e.g.
  // "forbidden: alarm.clear from client 'wall' (viewer) on commands"; never the request's arguments.
  std::string last_refused;
};

class CommandHandler {
 public:
  // A request is a small JSON object: a longer one is refused ("too_large")
  // before it is parsed. (The socket itself drops far larger ones unread.)
  static constexpr size_t kMaxRequestBytes = 64 * 1024;
  static constexpr int kMaxLeaseS = 600;
  static constexpr int kDefaultLeaseS = 60;
  static constexpr int64_t kMaxChunkBytes = 4 << 20;      // clip.fetch max_bytes bound
  static constexpr int64_t kDefaultChunkBytes = 1 << 20;
  static constexpr size_t kMaxListedClips = 1000;         // clip.list answers at most this many

  explicit CommandHandler(CommandContext context) : context_(std::move(context)) {}
  // The reply's JSON, and a data frame for clip.fetch and snapshot.fetch.
  bus::Reply handle(const std::string& request, const bus::RequestOrigin& origin);
  const RequestCounts& counts() const { return counts_; }

 private:
  void count(const std::string& code, const std::string& cmd, const bus::RequestOrigin& origin);

  CommandContext context_;
  RequestCounts counts_;
};

}  // namespace vcgate::control
