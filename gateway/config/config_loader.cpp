// Reads the YAML config into Config. The schema lives here as tables of
// Fields, one per mapping; yaml_schema.h does the walking and the typed
// reading. Every key, default and range below is documented once in
// docs/configuration.md: change both together.
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "gateway/config/config.h"
#include "gateway/config/yaml_schema.h"
#include "gateway/core/synthetic_spec.h"
#include "gateway/core/uri.h"

namespace vcgate::config {
namespace {

// Ranges, inclusive. Outside them a camera either cannot work (a 10 ms
// connect timeout) or would hold resources the box does not have.
constexpr int64_t kMaxStatsIntervalS = 86'400;
constexpr int64_t kMaxLatencyMs = 10'000;
constexpr int64_t kMinTimeoutMs = 500;
constexpr int64_t kMaxTimeoutMs = 600'000;
constexpr double kMaxPreRollS = 300;
constexpr uint64_t kMinBufferBytes = 64ull << 10;
constexpr uint64_t kMaxBufferBytes = 4ull << 30;
constexpr int64_t kMinReconnectMs = 50;
constexpr int64_t kMaxReconnectInitialMs = 600'000;
constexpr int64_t kMaxReconnectMaxMs = 3'600'000;
constexpr int64_t kMaxStableMs = 86'400'000;
constexpr size_t kMaxIdLength = 64;
constexpr std::string_view kRuleSources[] = {"motion", "blackout", "scene_change", "defocus", "input"};
constexpr std::string_view kBoardKinds[] = {"simulated", "linux"};
constexpr std::string_view kDays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
constexpr double kMinHeartbeatS = 0.1;
constexpr double kMaxHeartbeatS = 60;
constexpr int64_t kMinSendHwm = 10;
constexpr int64_t kMaxSendHwm = 1'000'000;
constexpr int64_t kMaxRealtimePriority = 99;  // SCHED_FIFO's range on Linux is 1-99
constexpr double kMaxPostRollS = 300;
constexpr double kMinVideoLossS = 1;
constexpr double kMaxVideoLossS = 3600;
constexpr int64_t kMaxUplinkKbps = 10'000'000;  // 10 Gbit/s
constexpr uint64_t kMinSegmentBytes = 64ull << 10;
constexpr uint64_t kMaxSegmentBytes = 1ull << 30;
constexpr int64_t kMaxJournalAgeS = 366ll * 86'400;
constexpr int64_t kMaxJournalBacklog = 10'000'000;
constexpr int64_t kMaxFsyncIntervalMs = 60'000;
constexpr uint64_t kMaxEvidenceBytes = 1ull << 50;  // 1 PiB: "no practical limit"
constexpr int64_t kMinIdleCloseS = 1;
constexpr int64_t kMaxIdleCloseS = 3600;
constexpr int64_t kMaxQueueUnits = 1'000'000;
constexpr uint64_t kMinQueueBytes = 1ull << 20;
constexpr uint64_t kMaxQueueBytes = 4ull << 30;
// sun_path is 108 bytes on Linux, one of them the terminating NUL; ZeroMQ
// fails a longer ipc:// path only when it binds, so say it here.
constexpr size_t kMaxIpcPath = 107;

constexpr std::string_view kLogLevels[] = {"trace", "debug", "info", "warn", "error", "off"};  // core::parseLogLevel
constexpr std::string_view kTransports[] = {"tcp", "udp"};
constexpr std::string_view kPublishSchemes[] = {"tcp", "ipc", "inproc"};
constexpr std::string_view kControlSchemes[] = {"tcp", "ipc"};

template <class T, class U>
void assign(T& out, const std::optional<U>& value) {
  if (value) out = T(*value);
}

bool validId(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdLength) return false;
  return std::all_of(id.begin(), id.end(), [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '-'; });
}

// The value of `key` in a mapping, without yaml-cpp's operator[] (which on a
// non-const node inserts the key, and on a missing one returns a node that
// throws when looked at).
std::optional<YAML::Node> findKey(const YAML::Node& map, std::string_view key) {
  if (!map.IsMap()) return std::nullopt;
  for (auto it = map.begin(); it != map.end(); ++it)
    if (it->first.IsScalar() && it->first.Scalar() == key) return it->second;
  return std::nullopt;
}

class Loader {
 public:
  Loader(const std::string& path, Diagnostics& diag) : diag_(diag) {
    // Relative file:// URIs are relative to the config file, not to wherever
    // the daemon happened to be started.
    std::error_code ec;
    const auto absolute = std::filesystem::absolute(path.empty() ? "." : path, ec);
    base_dir_ = ec ? std::filesystem::current_path(ec) : absolute.parent_path();
  }

  void read(const YAML::Node& root, Config& config) {
    // camera_defaults must be known before any camera is read, wherever it
    // stands in the file, so both are read after the walk.
    std::optional<Entry> defaults_entry;
    std::optional<Entry> cameras_entry;
    std::optional<Entry> rules_entry;
    const Field fields[] = {
        {"site", [&](const Entry& e) { readSite(e, config.site); }, true,
         "add a 'site:' section with at least 'id: SITE-ID'"},
        {"logging", [&](const Entry& e) { readLogging(e, config.logging); }},
        {"bus", [&](const Entry& e) { readBus(e, config.bus); }},
        {"storage", [&](const Entry& e) { readStorage(e, config.storage); }},
        {"journal", [&](const Entry& e) { readJournal(e, config.journal); }},
        {"evidence", [&](const Entry& e) { readEvidence(e, config.evidence); }},
        {"alarms", [&](const Entry& e) { readAlarms(e, config.alarms); }},
        {"metrics", [&](const Entry& e) { readMetrics(e, config.metrics); }},
        {"security", [&](const Entry& e) { readSecurity(e, config.security); }},
        {"rules", [&](const Entry& e) { rules_entry = e; }},
        {"board", [&](const Entry& e) { config.board = readBoard(e); }},
        {"camera_defaults", [&](const Entry& e) { defaults_entry = e; }},
        {"cameras", [&](const Entry& e) { cameras_entry = e; }, true,
         "add a 'cameras:' list with at least one camera (id and uri)"},
    };
    walkMapping(root, {1, 1}, fields, "", "the config file", diag_);

    CameraConfig defaults;
    if (defaults_entry) readCameraDefaults(*defaults_entry, defaults);
    if (cameras_entry) readCameras(*cameras_entry, defaults, config.cameras, config.analytics);
    // Rules name cameras: read them once the cameras are known.
    if (rules_entry) readRules(*rules_entry, config.cameras, config.rules);
  }

 private:
  void readSite(const Entry& e, SiteConfig& site) {
    const Field fields[] = {
        {"id", [&](const Entry& v) { assign(site.id, readId(v)); }, true, "add 'id: SITE-ID' (letters, digits, _ and -)"},
        {"name", [&](const Entry& v) { assign(site.name, readString(v, diag_)); }},
        {"location", [&](const Entry& v) { assign(site.location, readString(v, diag_)); }},
    };
    walkMapping(e.value, e.keyAt(), fields, "site.", "site", diag_);
    if (site.name.empty()) site.name = site.id;
  }

  void readLogging(const Entry& e, LoggingConfig& logging) {
    const Field fields[] = {
        {"level", [&](const Entry& v) { assign(logging.level, readChoice(v, kLogLevels, diag_)); }},
        {"stats_interval_s",
         [&](const Entry& v) { assign(logging.stats_interval, readInteger(v, 0, kMaxStatsIntervalS, diag_)); }},
    };
    walkMapping(e.value, e.keyAt(), fields, "logging.", "logging", diag_);
  }

  void readBus(const Entry& e, BusConfig& bus) {
    const Field fields[] = {
        {"publish", [&](const Entry& v) { readPublish(v, bus.publish); }},
        {"control", [&](const Entry& v) { assign(bus.control, readEndpoint(v, kControlSchemes)); }},
        {"commands", [&](const Entry& v) { readEndpointList(v, kControlSchemes, bus.commands); }},
        {"heartbeat_s",
         [&](const Entry& v) {
           if (auto s = readNumber(v, kMinHeartbeatS, kMaxHeartbeatS, diag_))
             bus.heartbeat = std::chrono::milliseconds(static_cast<int64_t>(*s * 1000));
         }},
        {"send_hwm", [&](const Entry& v) { assign(bus.send_hwm, readInteger(v, kMinSendHwm, kMaxSendHwm, diag_)); }},
        {"realtime_priority",
         [&](const Entry& v) { assign(bus.realtime_priority, readInteger(v, 0, kMaxRealtimePriority, diag_)); }},
        {"uplink",
         [&](const Entry& v) {
           const Field uplink_fields[] = {
               {"budget_kbps",
                [&](const Entry& b) { assign(bus.uplink_budget_kbps, readInteger(b, 0, kMaxUplinkKbps, diag_)); }},
           };
           walkMapping(v.value, v.keyAt(), uplink_fields, "bus.uplink.", "bus.uplink", diag_);
         }},
    };
    walkMapping(e.value, e.keyAt(), fields, "bus.", "bus", diag_);
  }

  void readJournal(const Entry& e, JournalConfig& journal) {
    const Field fields[] = {
        {"fsync", [&](const Entry& v) { assign(journal.fsync, readFsync(v)); }},
        {"segment_bytes",
         [&](const Entry& v) { assign(journal.segment_bytes, readByteSize(v, kMinSegmentBytes, kMaxSegmentBytes, diag_)); }},
        {"max_age_s", [&](const Entry& v) { assign(journal.max_age, readInteger(v, 0, kMaxJournalAgeS, diag_)); }},
        {"max_backlog", [&](const Entry& v) { assign(journal.max_backlog, readInteger(v, 0, kMaxJournalBacklog, diag_)); }},
    };
    walkMapping(e.value, e.keyAt(), fields, "journal.", "journal", diag_);
  }

  // journal.fsync: "always", "never" or "interval_ms N"; normalized to one of those spellings.
  std::optional<std::string> readFsync(const Entry& e) {
    auto text = readString(e, diag_);
    if (!text) return std::nullopt;
    if (*text == "always" || *text == "never") return text;
    constexpr std::string_view kInterval = "interval_ms";
    if (text->starts_with(kInterval)) {
      std::string_view rest = std::string_view(*text).substr(kInterval.size());
      while (!rest.empty() && (rest.front() == ' ' || rest.front() == '=' || rest.front() == ':')) rest.remove_prefix(1);
      int64_t ms = 0;
      const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), ms);
      if (ec == std::errc() && end == rest.data() + rest.size() && ms >= 1 && ms <= kMaxFsyncIntervalMs)
        return fmt::format("interval_ms {}", ms);
      diag_.error(e.at(), fmt::format("{} 'interval_ms N' needs N from 1 to {} milliseconds, got '{}'", e.name,
                                      kMaxFsyncIntervalMs, *text));
      return std::nullopt;
    }
    diag_.error(e.at(), fmt::format("{} must be 'always', 'never' or 'interval_ms N' (N from 1 to {}), got '{}'",
                                    e.name, kMaxFsyncIntervalMs, *text));
    return std::nullopt;
  }

  void readEvidence(const Entry& e, EvidenceConfig& evidence) {
    const Field fields[] = {
        {"quota_bytes", [&](const Entry& v) { assign(evidence.quota_bytes, readByteSize(v, 0, kMaxEvidenceBytes, diag_)); }},
        {"min_free_bytes",
         [&](const Entry& v) { assign(evidence.min_free_bytes, readByteSize(v, 0, kMaxEvidenceBytes, diag_)); }},
        {"sync_fragments", [&](const Entry& v) { assign(evidence.sync_fragments, readBool(v, diag_)); }},
        {"idle_close_s",
         [&](const Entry& v) { assign(evidence.idle_close, readInteger(v, kMinIdleCloseS, kMaxIdleCloseS, diag_)); }},
        {"prune_on_error_bytes",
         [&](const Entry& v) { assign(evidence.prune_on_error_bytes, readByteSize(v, 0, kMaxEvidenceBytes, diag_)); }},
        {"queue_units", [&](const Entry& v) { assign(evidence.queue_units, readInteger(v, 1, kMaxQueueUnits, diag_)); }},
        {"queue_bytes",
         [&](const Entry& v) { assign(evidence.queue_bytes, readByteSize(v, kMinQueueBytes, kMaxQueueBytes, diag_)); }},
    };
    walkMapping(e.value, e.keyAt(), fields, "evidence.", "evidence", diag_);
  }

  void readRules(const Entry& e, const std::vector<CameraConfig>& cameras, std::vector<RuleConfig>& rules) {
    if (e.value.IsNull()) return;
    if (!e.value.IsSequence()) {
      diag_.error(e.at(), fmt::format("rules must be a list (one '- name: ...' entry per rule), got {}", describe(e.value)));
      return;
    }
    std::set<std::string> names;
    int index = 0;
    for (const auto& item : e.value) {
      ++index;
      RuleConfig rule;
      std::string where = fmt::format("rule {}", index);
      if (const auto name = findKey(item, "name"); name && name->IsScalar()) where += fmt::format(" ('{}')", name->Scalar());
      const auto knownCamera = [&](const Entry& v, const std::string& id) {
        if (id == "*") return true;
        for (const auto& c : cameras)
          if (c.id == id) return true;
        std::vector<std::string_view> ids;
        for (const auto& c : cameras) ids.push_back(c.id);
        const std::string close = suggest(id, ids);
        diag_.error(v.at(), fmt::format("{}: no camera '{}' in this config{}", where, id,
                                        close.empty() ? "" : fmt::format(": did you mean '{}'?", close)));
        return false;
      };
      const Field when_fields[] = {
          {"source", [&](const Entry& v) { assign(rule.source, readChoice(v, kRuleSources, diag_)); }, true,
           "say what triggers it: motion, blackout, scene_change, defocus or input"},
          {"camera",
           [&](const Entry& v) {
             auto id = readString(v, diag_);
             if (id && knownCamera(v, *id)) rule.camera = *id;
           }},
          {"zone", [&](const Entry& v) { assign(rule.zone, readString(v, diag_)); }},
          {"input", [&](const Entry& v) { assign(rule.input, readString(v, diag_)); }},
      };
      const Field raise_fields[] = {
          {"type", [&](const Entry& v) { assign(rule.type, readString(v, diag_)); }},
          {"level", [&](const Entry& v) { assign(rule.level, readInteger(v, 1, 3, diag_)); }},
          {"description", [&](const Entry& v) { assign(rule.description, readString(v, diag_)); }},
      };
      const auto seconds = [&](std::chrono::milliseconds& out) {
        return [&](const Entry& v) {
          if (auto s = readNumber(v, 0, 86'400, diag_)) out = std::chrono::milliseconds(static_cast<int64_t>(*s * 1000));
        };
      };
      const Field fields[] = {
          {"name",
           [&](const Entry& v) {
             if (auto name = readId(v)) {
               rule.name = *name;
               if (!names.insert(*name).second)
                 diag_.error(v.at(), fmt::format("rule name '{}' is used twice: rule names must be unique", *name));
             }
           },
           true, "give each rule a unique name, e.g. 'name: hall-b-panic'"},
          {"when", [&](const Entry& v) { walkMapping(v.value, v.keyAt(), when_fields, "when.", where + " 'when'", diag_); },
           true, "say what triggers it, e.g. 'when: {source: input, input: panic-hall-b}'"},
          {"raise", [&](const Entry& v) { walkMapping(v.value, v.keyAt(), raise_fields, "raise.", where + " 'raise'", diag_); }},
          {"cameras",
           [&](const Entry& v) {
             if (!v.value.IsSequence()) {
               diag_.error(v.at(), fmt::format("{}: cameras must be a list of camera ids", where));
               return;
             }
             for (const auto& c : v.value) {
               const Entry item_entry{v.key, c, v.name};
               auto id = readString(item_entry, diag_);
               if (id && *id != "*" && knownCamera(item_entry, *id)) rule.cameras.push_back(*id);
             }
           }},
          {"debounce_s", seconds(rule.debounce)},
          {"hold_s", seconds(rule.hold)},
          {"cooldown_s", seconds(rule.cooldown)},
          {"auto_clear", [&](const Entry& v) { assign(rule.auto_clear, readBool(v, diag_)); }},
          {"schedule", [&](const Entry& v) { rule.schedule = readSchedule(v, where); }},
          {"escalate",
           [&](const Entry& v) {
             const Field escalate_fields[] = {
                 {"level", [&](const Entry& l) { assign(rule.escalate_level, readInteger(l, 1, 3, diag_)); }},
                 {"schedule", [&](const Entry& s) { rule.escalate_schedule = readSchedule(s, where); }, true,
                  "say when the level is raised, e.g. 'schedule: {from: \"22:00\", to: \"06:00\"}'"},
             };
             walkMapping(v.value, v.keyAt(), escalate_fields, "escalate.", where + " 'escalate'", diag_);
           }},
      };
      const Location at = locationOf(item);
      if (!walkMapping(item, at.line ? at : e.keyAt(), fields, "", where, diag_)) continue;
      if (rule.source == "input" && rule.input.empty())
        diag_.error(at, fmt::format("{}: an input rule needs 'when.input: INPUT-ID'", where));
      if (rule.source != "input" && !rule.input.empty())
        diag_.error(at, fmt::format("{}: 'when.input' only applies to source: input", where));
      if (rule.source == "input" && rule.cameras.empty())
        diag_.error(at, fmt::format("{}: an input rule must list the cameras it covers ('cameras: [...]')", where));
      if (rule.type.empty()) rule.type = rule.source;
      rules.push_back(std::move(rule));
    }
  }

  std::optional<ScheduleConfig> readSchedule(const Entry& e, const std::string& where) {
    ScheduleConfig schedule;
    bool ok = true;
    const auto clock = [&](int& out) {
      return [&](const Entry& v) {
        auto text = readString(v, diag_);
        if (!text) return void(ok = false);
        int h = -1, m = -1;
        char extra = 0;
        if (std::sscanf(text->c_str(), "%d:%d%c", &h, &m, &extra) != 2 || h < 0 || h > 24 || m < 0 || m > 59 ||
            (h == 24 && m != 0)) {
          diag_.error(v.at(), fmt::format("{} '{}' is not a time of day: write HH:MM, 00:00 to 24:00", v.name, *text));
          ok = false;
          return;
        }
        out = h * 60 + m;
      };
    };
    const Field fields[] = {
        {"timezone",
         [&](const Entry& v) {
           auto tz = readString(v, diag_);
           if (!tz) return void(ok = false);
           if (!validTimeZone(*tz)) {
             diag_.error(v.at(), fmt::format("{}: unknown time zone '{}' (an IANA name such as Europe/Berlin or "
                                             "Asia/Shanghai, from /usr/share/zoneinfo)", where, *tz));
             ok = false;
             return;
           }
           schedule.timezone = *tz;
         }},
        {"days",
         [&](const Entry& v) {
           if (!v.value.IsSequence()) {
             diag_.error(v.at(), fmt::format("{}: days must be a list such as [mon, tue, wed]", where));
             return void(ok = false);
           }
           schedule.days.clear();
           for (const auto& d : v.value) {
             auto day = readChoice(Entry{v.key, d, v.name}, kDays, diag_);
             if (!day) return void(ok = false);
             schedule.days.push_back(static_cast<int>(std::find(std::begin(kDays), std::end(kDays), *day) - std::begin(kDays)));
           }
         }},
        {"from", clock(schedule.from_minute)},
        {"to", clock(schedule.to_minute)},
    };
    if (!walkMapping(e.value, e.keyAt(), fields, e.name + ".", where + " '" + e.name + "'", diag_) || !ok)
      return std::nullopt;
    return schedule;
  }

  static bool validTimeZone(const std::string& name) {
    if (name == "UTC") return true;
    if (name.empty() || name.find("..") != std::string::npos || name.front() == '/') return false;
    return std::filesystem::is_regular_file("/usr/share/zoneinfo/" + name);
  }

  std::optional<analytics::CameraAnalyticsConfig> readAnalytics(const Entry& e, const std::string& where) {
    analytics::CameraAnalyticsConfig out;
    const std::string here = where + " analytics";
    std::set<std::string> zone_names;
    const auto readZone = [&](const Entry& z, int index) {
      analytics::MotionZoneConfig zone;
      const std::string zone_where = fmt::format("{} zone {}", here, index);
      const Field zone_fields[] = {
          {"name",
           [&](const Entry& v) {
             if (auto name = readId(v)) {
               zone.name = *name;
               if (!zone_names.insert(*name).second)
                 diag_.error(v.at(), fmt::format("{}: zone name '{}' is used twice", here, *name));
             }
           },
           true, "name the zone, e.g. 'name: platform-edge'"},
          {"polygon",
           [&](const Entry& v) {
             if (!v.value.IsSequence() || v.value.size() < 3) {
               diag_.error(v.at(), fmt::format("{}: polygon needs at least 3 points [x, y], each 0.0 to 1.0 "
                                               "(fractions of the picture width and height)", zone_where));
               return;
             }
             for (const auto& point : v.value) {
               const Location at = locationOf(point);
               if (!point.IsSequence() || point.size() != 2) {
                 diag_.error(at, fmt::format("{}: a point is [x, y], e.g. [0.25, 0.5]", zone_where));
                 return;
               }
               auto x = readNumber(Entry{v.key, point[0], "x"}, 0, 1, diag_);
               auto y = readNumber(Entry{v.key, point[1], "y"}, 0, 1, diag_);
               if (!x || !y) return;
               zone.polygon.push_back({*x, *y});
             }
           },
           true, "give the zone's corners, e.g. 'polygon: [[0,0.5],[1,0.5],[1,1],[0,1]]'"},
          {"sensitivity", [&](const Entry& v) { assign(zone.sensitivity, readNumber(v, 0, 1, diag_)); }},
          {"min_area", [&](const Entry& v) { assign(zone.min_area, readNumber(v, 0.0001, 1, diag_)); }},
          {"min_duration_s", [&](const Entry& v) { assign(zone.min_duration_s, readNumber(v, 0, 3600, diag_)); }},
          {"hold_s", [&](const Entry& v) { assign(zone.hold_s, readNumber(v, 0, 3600, diag_)); }},
      };
      walkMapping(z.value, z.keyAt(), zone_fields, "zones.", zone_where, diag_);
      out.zones.push_back(std::move(zone));
    };
    const Field tamper_fields[] = {
        {"blackout", [&](const Entry& v) { assign(out.tamper.blackout, readBool(v, diag_)); }},
        {"scene_change", [&](const Entry& v) { assign(out.tamper.scene_change, readBool(v, diag_)); }},
        {"defocus", [&](const Entry& v) { assign(out.tamper.defocus, readBool(v, diag_)); }},
        {"hold_s", [&](const Entry& v) { assign(out.tamper.hold_s, readNumber(v, 0, 3600, diag_)); }},
    };
    const Field fields[] = {
        {"enabled", [&](const Entry& v) { assign(out.enabled, readBool(v, diag_)); }},
        {"interval_s", [&](const Entry& v) { assign(out.interval_s, readNumber(v, 0.1, 3600, diag_)); }},
        {"width", [&](const Entry& v) { assign(out.width, readInteger(v, 16, 1920, diag_)); }},
        {"height", [&](const Entry& v) { assign(out.height, readInteger(v, 16, 1080, diag_)); }},
        {"background_s", [&](const Entry& v) { assign(out.background_s, readNumber(v, 1, 86400, diag_)); }},
        {"zones",
         [&](const Entry& v) {
           if (!v.value.IsSequence()) {
             diag_.error(v.at(), fmt::format("{}: zones must be a list", here));
             return;
           }
           int index = 0;
           for (const auto& item : v.value) readZone(Entry{v.key, item, v.name}, ++index);
         }},
        {"tamper", [&](const Entry& v) { walkMapping(v.value, v.keyAt(), tamper_fields, "tamper.", here + " tamper", diag_); }},
    };
    if (!walkMapping(e.value, e.keyAt(), fields, "analytics.", here, diag_)) return std::nullopt;
    return out;
  }

  std::optional<board::BoardConfig> readBoard(const Entry& e) {
    board::BoardConfig out;
    std::set<std::string> ids;
    const auto uniqueId = [&](const Entry& v, std::string& id) {
      if (auto text = readId(v)) {
        id = *text;
        if (!ids.insert(id).second) diag_.error(v.at(), fmt::format("board: '{}' is used twice", id));
      }
    };
    const Field fields[] = {
        {"kind",
         [&](const Entry& v) {
           if (auto kind = readChoice(v, kBoardKinds, diag_)) out.kind = *board::parseBoardKind(*kind);
         }},
        {"chip", [&](const Entry& v) { assign(out.chip, readString(v, diag_)); }},
        {"control_path", [&](const Entry& v) { assign(out.control_path, readAbsolutePath(v)); }},
        {"thermal_zone", [&](const Entry& v) { assign(out.thermal_zone, readString(v, diag_)); }},
        {"simulated_temperature_c",
         [&](const Entry& v) { assign(out.simulated_temperature_c, readNumber(v, -60, 200, diag_)); }},
        {"inputs",
         [&](const Entry& v) {
           if (!v.value.IsSequence()) return diag_.error(v.at(), "board.inputs must be a list");
           int index = 0;
           for (const auto& item : v.value) {
             board::InputConfig input;
             const Field input_fields[] = {
                 {"id", [&](const Entry& f) { uniqueId(f, input.id); }, true, "name the input, e.g. 'id: panic-hall-b'"},
                 {"line", [&](const Entry& f) { assign(input.line, readInteger(f, 0, 1023, diag_)); }},
                 {"active_low", [&](const Entry& f) { assign(input.active_low, readBool(f, diag_)); }},
                 {"debounce_ms", [&](const Entry& f) { assign(input.debounce, readInteger(f, 0, 10'000, diag_)); }},
             };
             walkMapping(item, locationOf(item), input_fields, "inputs.", fmt::format("board input {}", ++index), diag_);
             out.inputs.push_back(std::move(input));
           }
         }},
        {"outputs",
         [&](const Entry& v) {
           if (!v.value.IsSequence()) return diag_.error(v.at(), "board.outputs must be a list");
           int index = 0;
           for (const auto& item : v.value) {
             board::OutputConfig output;
             const Field output_fields[] = {
                 {"id", [&](const Entry& f) { uniqueId(f, output.id); }, true, "name the output, e.g. 'id: status-led'"},
                 {"line", [&](const Entry& f) { assign(output.line, readInteger(f, 0, 1023, diag_)); }},
                 {"active_low", [&](const Entry& f) { assign(output.active_low, readBool(f, diag_)); }},
                 {"initial_on", [&](const Entry& f) { assign(output.initial_on, readBool(f, diag_)); }},
             };
             walkMapping(item, locationOf(item), output_fields, "outputs.", fmt::format("board output {}", ++index), diag_);
             out.outputs.push_back(std::move(output));
           }
         }},
        {"watchdog",
         [&](const Entry& v) {
           const Field watchdog_fields[] = {
               {"enabled", [&](const Entry& f) { assign(out.watchdog.enabled, readBool(f, diag_)); }},
               {"device", [&](const Entry& f) { assign(out.watchdog.device, readAbsolutePath(f)); }},
               {"timeout_s", [&](const Entry& f) { assign(out.watchdog.timeout_s, readInteger(f, 0, 600, diag_)); }},
           };
           walkMapping(v.value, v.keyAt(), watchdog_fields, "watchdog.", "board.watchdog", diag_);
         }},
    };
    if (!walkMapping(e.value, e.keyAt(), fields, "board.", "board", diag_)) return std::nullopt;
    return out;
  }

  void readMetrics(const Entry& e, MetricsConfig& metrics) {
    const Field fields[] = {
        {"textfile", [&](const Entry& v) { assign(metrics.textfile, readAbsolutePath(v)); }},
        {"interval_s",
         [&](const Entry& v) {
           if (auto s = readNumber(v, 1, 3600, diag_)) metrics.interval = std::chrono::milliseconds(static_cast<int64_t>(*s * 1000));
         }},
    };
    walkMapping(e.value, e.keyAt(), fields, "metrics.", "metrics", diag_);
  }

  void readSecurity(const Entry& e, SecurityConfig& security) {
    const Field fields[] = {
        {"curve", [&](const Entry& v) { assign(security.curve, readBool(v, diag_)); }},
        {"secret_key_file", [&](const Entry& v) { assign(security.secret_key_file, readAbsolutePath(v)); }},
        {"user", [&](const Entry& v) { assign(security.user, readString(v, diag_)); }},
        {"clients", [&](const Entry& v) { readClients(v, security.clients); }},
    };
    if (!walkMapping(e.value, e.keyAt(), fields, "security.", "security", diag_)) return;
    if (security.curve && security.secret_key_file.empty())
      diag_.error(e.keyAt(), "security.curve is on but there is no 'secret_key_file' (make one with 'vcgatectl keygen')");
    if (security.curve && security.clients.empty())
      diag_.error(e.keyAt(), "security.curve is on but 'clients' is empty: no platform could connect");
  }

  void readClients(const Entry& e, std::vector<AuthorizedClientConfig>& clients) {
    if (!e.value.IsSequence()) {
      diag_.error(e.at(), "security.clients must be a list of {name, public_key, role}");
      return;
    }
    std::set<std::string> names, keys;
    int index = 0;
    for (const auto& item : e.value) {
      AuthorizedClientConfig client;
      const Location at = locationOf(item);
      const Field fields[] = {
          {"name", [&](const Entry& v) { assign(client.name, readId(v)); }, true, "add 'name: NAME' (who this key is)"},
          {"public_key",
           [&](const Entry& v) {
             auto key = readString(v, diag_);
             if (!key) return;
             if (!isZ85Key(*key)) {
               diag_.error(v.at(), fmt::format("{} must be a CURVE public key: 40 Z85 characters, as in the .key file "
                                               "that 'vcgatectl keygen' writes (got {} characters)",
                                               v.name, key->size()));
               return;
             }
             if (!keys.insert(*key).second) diag_.error(v.at(), "this public key is already on the list");
             client.public_key = *key;
           },
           true, "add 'public_key: KEY' (the client's .key file)"},
          {"role",
           [&](const Entry& v) {
             auto role = readString(v, diag_);
             if (!role) return;
             if (*role != "viewer" && *role != "operator" && *role != "admin") {
               diag_.error(v.at(), fmt::format("{} '{}' is not a role: viewer, operator or admin", v.name, *role));
               return;
             }
             client.role = *role;
           }},
      };
      walkMapping(item, at, fields, "security.clients.", fmt::format("security client {}", ++index), diag_);
      if (!client.name.empty() && !names.insert(client.name).second)
        diag_.error(at, fmt::format("security client '{}' appears twice", client.name));
      clients.push_back(std::move(client));
    }
  }

  // Z85 as ZeroMQ encodes keys: 40 characters of its 85-character alphabet.
  static bool isZ85Key(std::string_view text) {
    static constexpr std::string_view kAlphabet =
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
    return text.size() == 40 && text.find_first_not_of(kAlphabet) == std::string_view::npos;
  }

  void readAlarms(const Entry& e, AlarmsConfig& alarms) {
    const Field fields[] = {
        {"post_roll_s", [&](const Entry& v) { assign(alarms.post_roll_s, readNumber(v, 0, kMaxPostRollS, diag_)); }},
        {"video_loss", [&](const Entry& v) { readVideoLoss(v, alarms.video_loss); }},
    };
    walkMapping(e.value, e.keyAt(), fields, "alarms.", "alarms", diag_);
  }

  void readVideoLoss(const Entry& e, VideoLossConfig& loss) {
    const Field fields[] = {
        {"enabled", [&](const Entry& v) { assign(loss.enabled, readBool(v, diag_)); }},
        {"level", [&](const Entry& v) { assign(loss.level, readInteger(v, 1, 3, diag_)); }},
        {"after_s",
         [&](const Entry& v) {
           if (auto s = readNumber(v, kMinVideoLossS, kMaxVideoLossS, diag_))
             loss.after = std::chrono::milliseconds(static_cast<int64_t>(*s * 1000));
         }},
    };
    walkMapping(e.value, e.keyAt(), fields, "alarms.video_loss.", "alarms.video_loss", diag_);
  }

  // bus.commands: one endpoint, or a list; an empty list means "no platform commands".
  void readEndpointList(const Entry& e, std::span<const std::string_view> schemes, std::vector<std::string>& out) {
    if (!e.value.IsSequence()) {
      if (auto endpoint = readEndpoint(e, schemes)) out = {*endpoint};
      return;
    }
    std::vector<std::string> endpoints;
    for (const auto& item : e.value)
      if (auto endpoint = readEndpoint(Entry{e.key, item, e.name}, schemes)) endpoints.push_back(*endpoint);
    if (endpoints.size() == e.value.size()) out = std::move(endpoints);
  }

  // One endpoint or a list of them: a PUB socket can bind several.
  void readPublish(const Entry& e, std::vector<std::string>& publish) {
    if (!e.value.IsSequence()) {
      if (auto endpoint = readEndpoint(e, kPublishSchemes)) publish = {*endpoint};
      return;
    }
    if (e.value.size() == 0) {
      diag_.error(e.at(), fmt::format("{} is an empty list: give at least one endpoint, e.g. tcp://0.0.0.0:5556",
                                      e.name));
      return;
    }
    std::vector<std::string> endpoints;
    for (const auto& item : e.value)
      if (auto endpoint = readEndpoint(Entry{e.key, item, e.name}, kPublishSchemes)) endpoints.push_back(*endpoint);
    if (endpoints.size() == e.value.size()) publish = std::move(endpoints);
  }

  std::optional<std::string> readEndpoint(const Entry& e, std::span<const std::string_view> schemes) {
    auto text = readString(e, diag_);
    if (!text) return std::nullopt;
    const auto fail = [&](std::string_view why) {
      diag_.error(e.at(), fmt::format("{} '{}' {}", e.name, core::redactUri(*text), why));
      return std::nullopt;
    };
    std::string forms;
    for (const auto scheme : schemes) {
      if (!forms.empty()) forms += ", ";
      forms += scheme == "tcp" ? "tcp://HOST:PORT" : scheme == "ipc" ? "ipc://PATH" : "inproc://NAME";
    }
    const auto sep = text->find("://");
    if (sep == std::string::npos) return fail(fmt::format("is not an endpoint: write {}", forms));
    const std::string scheme = text->substr(0, sep);
    const std::string rest = text->substr(sep + 3);
    if (std::find(schemes.begin(), schemes.end(), scheme) == schemes.end())
      return fail(fmt::format("has an unsupported transport '{}': write {}", scheme, forms));
    if (rest.empty()) return fail("has nothing after '://'");
    if (scheme == "tcp") {
      const auto colon = rest.rfind(':');
      if (colon == std::string::npos || colon == 0) return fail("needs a host and a port: tcp://HOST:PORT");
      const std::string port = rest.substr(colon + 1);
      int value = 0;
      const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
      // '*' lets the system pick a port: handy in tests, useless for a platform.
      if (port != "*" && (ec != std::errc() || end != port.data() + port.size() || value < 1 || value > 65535))
        return fail(fmt::format("has an invalid port '{}' (must be 1-65535)", port));
    } else if (scheme == "ipc" && rest.size() > kMaxIpcPath) {
      return fail(fmt::format("has a path longer than {} characters, which Linux cannot bind", kMaxIpcPath));
    }
    return text;
  }

  void readStorage(const Entry& e, StorageConfig& storage) {
    const Field fields[] = {
        {"state_dir", [&](const Entry& v) { assign(storage.state_dir, readAbsolutePath(v)); }},
        {"evidence_dir", [&](const Entry& v) { assign(storage.evidence_dir, readAbsolutePath(v)); }},
    };
    walkMapping(e.value, e.keyAt(), fields, "storage.", "storage", diag_);
  }

  std::optional<std::string> readAbsolutePath(const Entry& e) {
    auto text = readString(e, diag_);
    if (!text) return std::nullopt;
    if (!text->starts_with('/')) {
      // The daemon's working directory is '/' under systemd: a relative path
      // would land somewhere nobody looks.
      diag_.error(e.at(), fmt::format("{} must be an absolute path (starting with '/'), got '{}'", e.name, *text));
      return std::nullopt;
    }
    return text;
  }

  std::optional<std::string> readId(const Entry& e) {
    auto text = readString(e, diag_);
    if (!text) return std::nullopt;
    if (!validId(*text)) {
      diag_.error(e.at(), fmt::format("{} '{}' may only contain letters, digits, '_' and '-' (1 to {} characters)",
                                      e.name, *text, kMaxIdLength));
      return std::nullopt;
    }
    return text;
  }

  // What camera_defaults and a camera share: everything but identity and URIs.
  std::vector<Field> optionFields(CameraConfig& cam, const std::string& where) {
    return {
        {"enabled", [&](const Entry& v) { assign(cam.enabled, readBool(v, diag_)); }},
        {"transport",
         [&](const Entry& v) {
           if (auto t = readChoice(v, kTransports, diag_)) cam.transport = *t == "udp" ? Transport::kUdp : Transport::kTcp;
         }},
        {"latency_ms", [&](const Entry& v) { assign(cam.latency, readInteger(v, 0, kMaxLatencyMs, diag_)); }},
        {"connect_timeout_ms",
         [&](const Entry& v) { assign(cam.connect_timeout, readInteger(v, kMinTimeoutMs, kMaxTimeoutMs, diag_)); }},
        {"stall_timeout_ms",
         [&](const Entry& v) { assign(cam.stall_timeout, readInteger(v, kMinTimeoutMs, kMaxTimeoutMs, diag_)); }},
        {"loop", [&](const Entry& v) { assign(cam.loop, readBool(v, diag_)); }},
        {"buffering", [&, where](const Entry& v) { readBuffering(v, where, cam.buffering); }},
        {"reconnect", [&, where](const Entry& v) { readReconnect(v, where, cam.reconnect); }},
    };
  }

  void readBuffering(const Entry& e, const std::string& where, BufferConfig& buffering) {
    const Field fields[] = {
        {"pre_roll_s", [&](const Entry& v) { assign(buffering.pre_roll_s, readNumber(v, 0, kMaxPreRollS, diag_)); }},
        {"max_bytes",
         [&](const Entry& v) { assign(buffering.max_bytes, readByteSize(v, kMinBufferBytes, kMaxBufferBytes, diag_)); }},
    };
    walkMapping(e.value, e.keyAt(), fields, "buffering.", "'buffering' of " + where, diag_);
  }

  // Applied on top of what camera_defaults said, so max >= initial is checked
  // on the merged values, and only where this mapping touches one of them:
  // a mistake in camera_defaults is reported there, not once per camera.
  void readReconnect(const Entry& e, const std::string& where, ReconnectConfig& reconnect) {
    std::optional<Location> initial_at;
    std::optional<Location> max_at;
    const Field fields[] = {
        {"initial_ms",
         [&](const Entry& v) {
           if (auto ms = readInteger(v, kMinReconnectMs, kMaxReconnectInitialMs, diag_)) {
             reconnect.initial = std::chrono::milliseconds(*ms);
             initial_at = v.at();
           }
         }},
        {"max_ms",
         [&](const Entry& v) {
           if (auto ms = readInteger(v, kMinReconnectMs, kMaxReconnectMaxMs, diag_)) {
             reconnect.max = std::chrono::milliseconds(*ms);
             max_at = v.at();
           }
         }},
        {"stable_ms", [&](const Entry& v) { assign(reconnect.stable, readInteger(v, 0, kMaxStableMs, diag_)); }},
    };
    walkMapping(e.value, e.keyAt(), fields, "reconnect.", "'reconnect' of " + where, diag_);
    if ((initial_at || max_at) && reconnect.max < reconnect.initial) {
      diag_.error(max_at ? *max_at : *initial_at,
                  fmt::format("reconnect.max_ms ({}) is less than reconnect.initial_ms ({}) in {}: the backoff "
                              "starts at initial_ms and grows up to max_ms, so max_ms must be at least initial_ms",
                              reconnect.max.count(), reconnect.initial.count(), where));
    }
  }

  void readCameraDefaults(const Entry& e, CameraConfig& defaults) {
    const std::string where = "camera_defaults";
    std::vector<Field> fields = optionFields(defaults, where);
    for (const std::string_view key : {"id", "name", "uri", "sub_uri"}) {
      fields.push_back({key, [this, key](const Entry& v) {
                          diag_.error(v.keyAt(), fmt::format("'{}' cannot be set in camera_defaults: each camera "
                                                             "needs its own; move it to the camera",
                                                             key));
                        }});
    }
    walkMapping(e.value, e.keyAt(), fields, "", where, diag_);
  }

  void readCameras(const Entry& e, const CameraConfig& defaults, std::vector<CameraConfig>& cameras,
                   analytics::AnalyticsConfig& analytics) {
    if (e.value.IsNull() || (e.value.IsSequence() && e.value.size() == 0)) {
      diag_.error(e.keyAt(), "cameras is empty: list at least one camera, e.g. '- id: cam-1' and 'uri: rtsp://...'");
      return;
    }
    if (!e.value.IsSequence()) {
      diag_.error(e.at(), fmt::format("cameras must be a list (one '- id: ...' entry per camera), got {}",
                                      describe(e.value)));
      return;
    }
    std::map<std::string, int> first_line;  // camera id -> line where it was first used
    int index = 0;
    for (const auto& item : e.value) {
      ++index;
      CameraConfig cam = defaults;
      std::string where = fmt::format("camera {}", index);
      if (const auto id = findKey(item, "id"); id && id->IsScalar()) where += fmt::format(" ('{}')", id->Scalar());

      std::vector<Field> fields = optionFields(cam, where);
      fields.push_back({"id",
                        [&](const Entry& v) {
                          const auto id = readId(v);
                          if (!id) return;
                          cam.id = *id;
                          const auto [it, fresh] = first_line.emplace(*id, v.at().line);
                          if (!fresh)
                            diag_.error(v.at(), fmt::format("camera id '{}' is already used by the camera on line {}: "
                                                            "camera ids must be unique",
                                                            *id, it->second));
                        },
                        true, "give each camera a unique id, e.g. 'id: hall-a-1'"});
      fields.push_back({"name", [&](const Entry& v) { assign(cam.name, readString(v, diag_)); }});
      fields.push_back({"uri", [&](const Entry& v) { assign(cam.uri, readCameraUri(v)); }, true,
                        "add the camera's stream address, e.g. 'uri: rtsp://192.0.2.10:554/stream1'"});
      fields.push_back({"sub_uri", [&](const Entry& v) { assign(cam.sub_uri, readCameraUri(v)); }});
      fields.push_back({"password_file", [&](const Entry& v) { assign(cam.password_file, readAbsolutePath(v)); }});
      std::optional<analytics::CameraAnalyticsConfig> camera_analytics;
      fields.push_back({"analytics", [&](const Entry& v) { camera_analytics = readAnalytics(v, where); }});

      const Location at = locationOf(item);
      if (!walkMapping(item, at.line ? at : e.keyAt(), fields, "", where, diag_)) continue;
      if (cam.name.empty()) cam.name = cam.id;
      if (!cam.password_file.empty() && !cam.uri.starts_with("rtsp"))
        diag_.error(at, fmt::format("{}: password_file is for rtsp:// cameras only", where));
      else if (!cam.password_file.empty() && core::parseUri(cam.uri) && core::parseUri(cam.uri)->has_password)
        diag_.error(at, fmt::format("{}: the uri has a password and password_file gives another: keep only "
                                    "password_file (a password in the config ends up in copies of it)",
                                    where));
      if (camera_analytics) {
        camera_analytics->camera = cam.id;
        analytics.cameras.push_back(std::move(*camera_analytics));
      }
      cameras.push_back(std::move(cam));
    }
  }

  // Validates a camera URI and returns what ingest should open: file:// paths
  // come back absolute. Every URI quoted in a message is redacted.
  std::optional<std::string> readCameraUri(const Entry& e) {
    auto text = readString(e, diag_);
    if (!text) return std::nullopt;
    const std::string shown = core::redactUri(*text);
    const auto fail = [&](const std::string& why) {
      diag_.error(e.at(), core::redactText(fmt::format("{} '{}' {}", e.name, shown, why)));
      return std::nullopt;
    };

    const auto uri = core::parseUri(*text);
    if (!uri) return fail("is not valid: " + uri.error().message);
    if (uri->scheme == "rtsp" || uri->scheme == "rtsps") {
      if (uri->host.empty()) return fail(fmt::format("has no host: write {}://HOST[:PORT]/PATH", uri->scheme));
      return text;
    }
    if (uri->scheme == "test") {
      if (auto spec = core::parseSyntheticUri(*text); !spec) return fail("is not valid: " + spec.error().message);
      return text;
    }
    if (uri->scheme == "file") {
      // file:///abs/path, or file://some/path relative to the config file.
      const std::string path = text->substr(text->find("://") + 3);
      if (path.empty())
        return fail("has no path: write file:///ABSOLUTE/PATH or file://PATH/RELATIVE/TO/THIS/CONFIG");
      const std::filesystem::path resolved =
          path.starts_with('/') ? std::filesystem::path(path) : (base_dir_ / path).lexically_normal();
      return "file://" + resolved.string();
    }
    return fail(fmt::format("has an unsupported scheme '{}': use rtsp://, rtsps://, file:// or test://", uri->scheme));
  }

  Diagnostics& diag_;
  std::filesystem::path base_dir_;
};

}  // namespace

std::string Diagnostic::format() const {
  // Like a compiler, leave out what is unknown, so editors still jump to it.
  if (line <= 0) return fmt::format("{}: error: {}", file, message);
  if (column <= 0) return fmt::format("{}:{}: error: {}", file, line, message);
  return fmt::format("{}:{}:{}: error: {}", file, line, column, message);
}

LoadResult loadConfigText(const std::string& text, const std::string& path) {
  Diagnostics diag(path);
  LoadResult result;
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    diag.error(locationOf(e.mark), fmt::format("YAML syntax error: {} (check the indentation and quotes here or on "
                                               "the line above)",
                                               e.msg));
    result.diagnostics = diag.take();
    return result;
  } catch (const std::exception& e) {
    diag.error({}, fmt::format("cannot parse the config: {}", e.what()));
    result.diagnostics = diag.take();
    return result;
  }

  Config config;
  config.source_path = path;
  try {
    Loader(path, diag).read(root, config);
  } catch (const std::exception& e) {
    // A yaml-cpp corner we did not foresee: a config error, not a crash.
    diag.error({}, fmt::format("cannot read the config: {}", core::redactText(e.what())));
  }
  if (diag.empty()) result.config = std::move(config);
  result.diagnostics = diag.take();
  return result;
}

LoadResult loadConfigFile(const std::string& path) {
  std::string text;
  std::FILE* file = std::fopen(path.c_str(), "rb");
  int error = file ? 0 : errno;
  if (file) {
    char buffer[8192];
    size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) text.append(buffer, n);
    if (std::ferror(file)) error = errno ? errno : EIO;  // EISDIR when path is a directory
    std::fclose(file);
  }
  if (error) {
    LoadResult result;
    result.diagnostics.push_back(
        Diagnostic{path, 0, 0, fmt::format("cannot read the config file: {}", std::strerror(error))});
    return result;
  }
  return loadConfigText(text, path);
}

}  // namespace vcgate::config
