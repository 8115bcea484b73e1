// The gateway's configuration: what the YAML file says, after validation.
// Every key, its type, default and meaning is documented once in
// docs/configuration.md; the defaults below are the same numbers.
// Plain data: copy it freely, read it from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "firmware/board/board_config.h"
#include "gateway/analytics/analytics_config.h"
#include "gateway/core/result.h"

namespace vcgate::config {

enum class Transport { kTcp, kUdp };

struct BufferConfig {
  double pre_roll_s = 10.0;                   // buffering.pre_roll_s
  uint64_t max_bytes = 16ull * 1024 * 1024;   // buffering.max_bytes (accepts 16MiB, 512KiB, ...)

  bool operator==(const BufferConfig&) const = default;
};

struct ReconnectConfig {
  std::chrono::milliseconds initial{500};     // reconnect.initial_ms
  std::chrono::milliseconds max{30'000};      // reconnect.max_ms
  std::chrono::milliseconds stable{60'000};   // reconnect.stable_ms

  bool operator==(const ReconnectConfig&) const = default;
};

struct CameraConfig {
  std::string id;                 // required; [A-Za-z0-9_-], unique
  std::string name;               // defaults to id
  std::string uri;                // required; rtsp://, rtsps://, file:// (stored absolute), test://
  std::string sub_uri;            // optional sub-stream (analytics), same schemes
  std::string password_file;      // rtsp:// password, read at each connect from this 0600 file
  bool enabled = true;
  Transport transport = Transport::kTcp;
  std::chrono::milliseconds latency{200};          // rtsp jitterbuffer latency
  std::chrono::milliseconds connect_timeout{10'000};  // no first frame by then -> failure
  std::chrono::milliseconds stall_timeout{5'000};     // no frame for this long -> restart
  bool loop = true;               // file:// only: start again at the end
  BufferConfig buffering;
  ReconnectConfig reconnect;

  bool operator==(const CameraConfig&) const = default;
};

struct SiteConfig {
  std::string id;        // required; [A-Za-z0-9_-]
  std::string name;
  std::string location;
};

struct BusConfig {
  std::vector<std::string> publish{"tcp://127.0.0.1:5556"};   // bus.publish: PUB endpoints to bind
  std::string control = "ipc:///run/vcgate/control.sock";    // bus.control: local control socket (vcgatectl)
  std::vector<std::string> commands;                         // bus.commands: platform request endpoints; none by default
  std::chrono::milliseconds heartbeat{1000};                 // bus.heartbeat_s
  int send_hwm = 1000;                                       // bus.send_hwm: messages queued per subscriber
  uint64_t uplink_budget_kbps = 0;                           // bus.uplink.budget_kbps: alarm video budget; 0 = unlimited
  int realtime_priority = 0;  // bus.realtime_priority: SCHED_FIFO for the delivery threads; 0 = normal policy
};

struct VideoLossConfig {
  bool enabled = true;                       // alarms.video_loss.enabled
  int level = 2;                             // alarms.video_loss.level
  std::chrono::milliseconds after{10'000};   // alarms.video_loss.after_s
};

struct AlarmsConfig {
  double post_roll_s = 10.0;   // alarms.post_roll_s: video published after an alarm clears
  VideoLossConfig video_loss;
};

struct StorageConfig {
  std::string state_dir = "/var/lib/vcgate";          // storage.state_dir
  std::string evidence_dir = "/var/lib/vcgate/evidence";  // storage.evidence_dir
};

// journal: the alarm journal in <storage.state_dir>/journal (docs/evidence-and-journal.md).
struct JournalConfig {
  std::string fsync = "always";                    // journal.fsync: always | never | "interval_ms N" (normalized)
  uint64_t segment_bytes = 4ull << 20;             // journal.segment_bytes
  std::chrono::seconds max_age{7 * 24 * 3600};     // journal.max_age_s: unacknowledged events expire; 0 = never
  uint64_t max_backlog = 100'000;                  // journal.max_backlog: oldest expire beyond it; 0 = no limit
  bool operator==(const JournalConfig&) const = default;
};

// evidence: the clips in storage.evidence_dir (docs/evidence-and-journal.md part 2).
struct EvidenceConfig {
  uint64_t quota_bytes = 2ull << 30;               // evidence.quota_bytes: all clips together; 0 = no quota
  uint64_t min_free_bytes = 0;                     // evidence.min_free_bytes: keep free on the file system; 0 = off
  bool sync_fragments = true;                      // evidence.sync_fragments: fdatasync every complete fragment
  std::chrono::seconds idle_close{60};             // evidence.idle_close_s
  uint64_t prune_on_error_bytes = 64ull << 20;     // evidence.prune_on_error_bytes
  uint64_t queue_units = 1000;                     // evidence.queue_units
  uint64_t queue_bytes = 64ull << 20;              // evidence.queue_bytes
  bool operator==(const EvidenceConfig&) const = default;
};

struct LoggingConfig {
  std::string level = "info";                 // logging.level
  std::chrono::seconds stats_interval{10};    // logging.stats_interval_s; 0 = never
};

// When a rule may fire: days of the week and a daily window in a time zone.
// A window whose end is before its start crosses midnight (22:00-06:00).
struct ScheduleConfig {
  std::string timezone = "UTC";          // an IANA name, e.g. Asia/Shanghai
  std::vector<int> days{0, 1, 2, 3, 4, 5, 6};  // 0 = Monday ... 6 = Sunday (the day the window starts)
  int from_minute = 0;                   // minutes after local midnight, "HH:MM"
  int to_minute = 24 * 60;
  bool operator==(const ScheduleConfig&) const = default;
};

// rules[]: what turns a trigger (analytics, a board input, video loss) into an alarm.
struct RuleConfig {
  std::string name;
  // when: the trigger.
  std::string source;            // motion | blackout | scene_change | defocus | input
  std::string camera = "*";      // analytics: the camera id, or * for any
  std::string zone = "*";        // motion: the zone name, or * for any
  std::string input;             // input: the board input id
  // raise: the alarm.
  std::string type;              // defaults to the source
  int level = 2;
  std::vector<std::string> cameras;  // covered cameras; empty = the triggering camera
  std::string description;
  // timing
  std::chrono::milliseconds debounce{0};   // the trigger must last this long before the alarm is raised
  std::chrono::milliseconds hold{10'000};  // the alarm stays this long after the trigger ends, then clears
  std::chrono::milliseconds cooldown{0};   // after a clear, triggers are ignored this long
  bool auto_clear = true;                  // false: only an operator or the platform clears it
  std::optional<ScheduleConfig> schedule;  // fire only inside this schedule
  std::optional<ScheduleConfig> escalate_schedule;  // inside this schedule the level becomes escalate_level
  int escalate_level = 1;
  bool operator==(const RuleConfig&) const = default;
};

struct MetricsConfig {
  std::string textfile;                      // metrics.textfile: Prometheus text file path; empty = off
  std::chrono::milliseconds interval{15'000};  // metrics.interval_s
};

// security: CURVE on the bus's TCP endpoints and whom to let in (docs/security.md).
struct AuthorizedClientConfig {
  std::string name;        // security.clients[].name: shown in logs and counters
  std::string public_key;  // security.clients[].public_key: Z85, 40 characters
  std::string role = "viewer";  // security.clients[].role: viewer | operator | admin
  bool operator==(const AuthorizedClientConfig&) const = default;
};

struct SecurityConfig {
  bool curve = false;            // security.curve: every tcp:// endpoint encrypts and authenticates
  std::string secret_key_file;   // security.secret_key_file: the gateway's CURVE secret key (mode 0600)
  std::vector<AuthorizedClientConfig> clients;  // security.clients: the allow-list
  std::string user;              // security.user: drop root to this user once started; empty = stay
  bool operator==(const SecurityConfig&) const = default;
};

struct Config {
  std::string source_path;  // the file this was loaded from, for messages
  SiteConfig site;
  LoggingConfig logging;
  BusConfig bus;
  StorageConfig storage;
  JournalConfig journal;
  EvidenceConfig evidence;
  AlarmsConfig alarms;
  MetricsConfig metrics;
  SecurityConfig security;
  // Per-camera analytics (cameras[].analytics in the file), gathered here for the analytics sink.
  analytics::AnalyticsConfig analytics;
  std::optional<board::BoardConfig> board;  // board: absent = no board inputs
  std::vector<CameraConfig> cameras;
  std::vector<RuleConfig> rules;
};

// One problem found in a config file, located so a technician can go to it.
struct Diagnostic {
  std::string file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based; 0 when unknown
  std::string message;
  // "FILE:LINE:COLUMN: error: MESSAGE"; like a compiler, an unknown column is
  // left out ("FILE:LINE: error: ...") and so is an unknown line ("FILE: error: ...").
  std::string format() const;
};

struct LoadResult {
  std::optional<Config> config;        // set only when diagnostics is empty
  std::vector<Diagnostic> diagnostics; // every problem found, in file order
  bool ok() const { return config.has_value(); }
};

// Reads and validates a config file, reporting every problem at once. An
// unreadable file is one diagnostic with line 0. Never throws. Any thread.
LoadResult loadConfigFile(const std::string& path);
// Same, from text in memory; `path` is used in messages and as the directory
// that relative file:// URIs are resolved against (file://clips/a.mp4 next to
// /etc/vcgate/site.yaml becomes file:///etc/vcgate/clips/a.mp4).
LoadResult loadConfigText(const std::string& text, const std::string& path);

}  // namespace vcgate::config
