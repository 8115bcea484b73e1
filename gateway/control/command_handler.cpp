#include "gateway/control/command_handler.h"

#include <sys/statvfs.h>
#include <sys/timex.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "gateway/bus/json_number.h"
#include "gateway/control/authorization.h"
#include "gateway/core/sha256.h"
#include "gateway/core/uri.h"

namespace vcgate::control {
namespace {

using nlohmann::json;

// Thresholds of the health verdict. A full evidence disk loses clips; a hot
// ARM board throttles (most throttle from 80-85 °C) and then drops frames.
constexpr double kDiskDegradedPercent = 90;
constexpr double kDiskFaultPercent = 97;
constexpr double kHotCelsius = 80;
constexpr double kTooHotCelsius = 90;

// A refusal with its protocol error code; thrown only inside handle() and
// caught there, so a bad request never travels further than this file.
struct Refusal {
  std::string code;
  std::string message;
};

const json& argsOf(const json& request) {
  static const json kEmpty = json::object();
  auto it = request.find("args");
  if (it == request.end()) return kEmpty;
  if (!it->is_object()) throw Refusal{"bad_request", "'args' must be an object"};
  return *it;
}

template <class T>
T required(const json& args, const char* name, const char* what) {
  auto it = args.find(name);
  if (it == args.end()) throw Refusal{"invalid_argument", fmt::format("missing argument '{}' ({})", name, what)};
  if (!bus::fitsJson<T>(*it)) throw Refusal{"invalid_argument", fmt::format("argument '{}' must be {}", name, what)};
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    throw Refusal{"invalid_argument", fmt::format("argument '{}' must be {}", name, what)};
  }
}

template <class T>
std::optional<T> optional(const json& args, const char* name, const char* what) {
  if (!args.contains(name)) return std::nullopt;
  return required<T>(args, name, what);
}

json storageFacts(const std::string& role, const std::string& path) {
  namespace fs = std::filesystem;
  json out = {{"role", role}, {"path", path}};
  std::error_code ec;
  const bool exists = fs::is_directory(path, ec);
  out["exists"] = exists;
  out["writable"] = exists && access(path.c_str(), W_OK) == 0;
  // A directory not created yet still lives on some file system: report the
  // nearest existing parent's, which is where it will be.
  fs::path probe = path;
  while (!probe.empty() && !fs::exists(probe, ec) && probe != probe.parent_path()) probe = probe.parent_path();
  struct statvfs vfs {};
  if (probe.empty() || statvfs(probe.c_str(), &vfs) != 0) {
    out["error"] = fmt::format("cannot read the disk use of {}: {}", path, std::strerror(errno));
    return out;
  }
  const double unit = static_cast<double>(vfs.f_frsize);
  const double used = static_cast<double>(vfs.f_blocks - vfs.f_bfree) * unit;
  const double available = static_cast<double>(vfs.f_bavail) * unit;
  out["measured_at"] = probe.string();
  out["total_bytes"] = static_cast<uint64_t>(static_cast<double>(vfs.f_blocks) * unit);
  out["free_bytes"] = static_cast<uint64_t>(available);
  // As df computes it: the blocks reserved for root do not count as free.
  out["used_percent"] = used + available > 0 ? std::round(used * 1000 / (used + available)) / 10 : 0.0;
  return out;
}

// The kernel's NTP state, the same source timedatectl's NTPSynchronized
// reads, without a child process or D-Bus on the main loop.
json clockFacts() {
  struct timex tx {};
  if (adjtimex(&tx) < 0) return {{"synchronized", nullptr}, {"source", "adjtimex"}, {"max_error_ms", nullptr}};
  // systemd calls the clock synchronised while the kernel's maximum error
  // stays below 16 s, the value it is set to when nobody disciplines it.
  const bool synced = !(tx.status & STA_UNSYNC) && tx.maxerror < 16'000'000;
  return {{"synchronized", synced}, {"source", "adjtimex"}, {"max_error_ms", static_cast<double>(tx.maxerror) / 1000}};
}

json temperatureFacts(const std::string& thermal_dir) {
  namespace fs = std::filesystem;
  json zones = json::array();
  json hottest = nullptr;
  std::string sensor;
  std::error_code ec;
  std::vector<fs::path> found;
  for (fs::directory_iterator it(thermal_dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->path().filename().string().starts_with("thermal_zone")) found.push_back(it->path());
  std::sort(found.begin(), found.end());
  for (const auto& zone : found) {
    std::ifstream temp(zone / "temp");
    long milli = 0;
    if (!(temp >> milli)) continue;  // a sensor that cannot be read right now (e.g. a sleeping GPU)
    std::string type;
    std::ifstream type_file(zone / "type");
    std::getline(type_file, type);
    const double celsius = static_cast<double>(milli) / 1000;
    zones.push_back({{"zone", zone.filename().string()}, {"type", type}, {"celsius", celsius}});
    if (hottest.is_null() || celsius > hottest.get<double>()) {
      hottest = celsius;
      sensor = fmt::format("{} ({})", zone.filename().string(), type);
    }
  }
  return {{"celsius", hottest}, {"sensor", sensor}, {"zones", zones}};
}

json cameraToJson(const std::string& id, const media::CameraStatsSnapshot* stats, const bus::CameraStatus* status,
                  const config::CameraConfig* camera) {
  json c = {{"id", id}};
  c["name"] = camera ? (camera->name.empty() ? camera->id : camera->name) : id;
  c["uri"] = camera ? core::redactUri(camera->uri) : "";
  if (stats) {
    c["state"] = std::string(media::stateName(stats->state));
    c["codec"] = stats->codec;
    c["width"] = stats->width;
    c["height"] = stats->height;
    c["fps"] = stats->fps;
    c["bitrate_bps"] = stats->bitrate_bps;
    c["gop_frames"] = stats->keyframe_interval_frames;
    c["gop_s"] = stats->keyframe_interval_s;
    c["frames"] = stats->frames;
    c["keyframes"] = stats->keyframes;
    c["bytes"] = stats->bytes;
    c["reconnects"] = stats->reconnects;
    c["last_frame_age_ms"] = stats->last_frame_age_ms;
    c["last_error"] = stats->last_error;
    c["dropped"] = stats->dropped;
  } else if (status) {  // no per-camera stats wired: what the heartbeat knows
    c["state"] = status->state;
    c["fps"] = status->fps;
    c["bitrate_bps"] = status->bitrate_bps;
    c["frames"] = status->frames;
    c["dropped"] = status->dropped;
  }
  c["published"] = status ? status->published : 0;
  c["buffered_s"] = status ? status->buffered_s : 0.0;
  c["buffered_bytes"] = status ? status->buffered_bytes : 0;
  c["pre_roll_s"] = camera ? camera->buffering.pre_roll_s : 0.0;
  c["max_buffer_bytes"] = camera ? camera->buffering.max_bytes : 0;
  json alarms = json::array();
  if (status)
    for (const auto& t : status->alarms) alarms.push_back({{"id", t.id.hex()}, {"level", t.level}});
  c["alarms"] = std::move(alarms);
  c["live_view"] = status && status->live_view;
  return c;
}

json clipToJson(const evidence::ClipInfo& c) {
  return {{"id", c.id},
          {"alarm", c.alarm.hex()},
          {"camera", c.camera},
          {"part", c.part},
          {"state", std::string(evidence::clipStateName(c.state))},
          {"level", c.level},
          {"codec", std::string(core::codecName(c.codec))},
          {"start_us", c.start_us},
          {"end_us", c.end_us},
          {"size", c.bytes},
          {"frames", c.frames},
          {"dropped_units", c.dropped_units},
          {"acknowledged", c.acknowledged},
          {"sha256", c.sha256.empty() ? json(nullptr) : json(c.sha256)},
          {"note", c.note}};
}

evidence::EvidenceRecorder& evidenceOf(const CommandContext& context) {
  if (!context.evidence)
    throw Refusal{"not_available",
                  "this gateway records no evidence (the evidence directory could not be used: the log says why, "
                  "'evidence clips are NOT recorded')"};
  return *context.evidence;
}

alarm::AlarmId alarmIdArg(const json& args, const char* name, bool need) {
  auto it = args.find(name);
  if (it == args.end() && !need) return {};
  const auto text = required<std::string>(args, name, "an alarm id (32 lower-case hex digits)");
  auto id = alarm::AlarmId::fromHex(text);
  if (!id) throw Refusal{"invalid_argument", fmt::format("argument '{}' must be an alarm id (32 lower-case hex digits), not \"{}\"", name, text.substr(0, 80))};
  return *id;
}

std::string cameraArg(const json& args, const char* name) {
  const auto camera = required<std::string>(args, name, "a camera id");
  if (!evidence::validCameraId(camera))
    throw Refusal{"invalid_argument",
                  fmt::format("argument '{}' must be a camera id (1-64 of A-Z a-z 0-9 - _), not \"{}\"", name,
                              camera.substr(0, 80))};
  return camera;
}

json unwrap(core::Result<alarm::Alarm> result) {
  if (!result) throw Refusal{result.error().code.empty() ? "internal" : result.error().code, result.error().message};
  return {{"alarm", bus::alarmToJson(*result)}};
}

}  // namespace

json systemFacts(const config::StorageConfig* storage, const std::string& thermal_dir,
                 const std::optional<BoardView>& board) {
  json disks = json::array();
  if (storage) {
    disks.push_back(storageFacts("state_dir", storage->state_dir));
    disks.push_back(storageFacts("evidence_dir", storage->evidence_dir));
  }
  json temperature = temperatureFacts(thermal_dir);
  if (board && board->temperature_c) {
    if (board->kind == "simulated") {
      // A number typed into the demo's FIFO: shown, never judged as the box's own.
      temperature["simulated_celsius"] = *board->temperature_c;
    } else {
      temperature["celsius"] = *board->temperature_c;  // the sensor the board config names
      temperature["sensor"] = fmt::format("board ({})", board->kind);
    }
  }
  return {{"storage", std::move(disks)}, {"clock", clockFacts()}, {"temperature", std::move(temperature)}};
}

json assessHealth(const json& status, const std::vector<media::CameraStatsSnapshot>& stats) {
  enum Level { kOk, kDegraded, kFault };
  Level level = kOk;
  std::vector<std::string> problems;
  const auto problem = [&](Level l, std::string text) {
    level = std::max(level, l);
    problems.push_back(std::move(text));
  };

  int enabled = 0, streaming = 0;
  for (const auto& c : status.value("cameras", json::array())) {
    const std::string id = c.value("id", ""), state = c.value("state", "");
    if (state == "disabled") continue;
    ++enabled;
    if (state == "streaming") {
      ++streaming;
      continue;
    }
    if (state == "finished") continue;  // a clip without loop that has ended: done, not broken
    std::string error;
    for (const auto& s : stats)
      if (s.id == id) error = s.last_error;
    problem(kDegraded, error.empty() ? fmt::format("camera {} {}", id, state)
                                     : fmt::format("camera {} {} ({})", id, state, error));
  }
  if (enabled == 0)
    problem(kDegraded, "no camera enabled");
  else if (streaming == 0 && std::none_of(stats.begin(), stats.end(),
                                          [](const auto& s) { return s.state == media::CameraState::kFinished; }))
    level = kFault;  // nothing to show or record at all

  const json& system = status.contains("system") ? status["system"] : json::object();
  for (const auto& d : system.value("storage", json::array())) {
    const std::string where = fmt::format("{} {}", d.value("role", ""), d.value("path", ""));
    if (d.contains("error")) {
      problem(kDegraded, d["error"].get<std::string>());
      continue;
    }
    const double used = d.value("used_percent", 0.0);
    if (used >= kDiskFaultPercent)
      problem(kFault, fmt::format("disk full: {} {:.0f}% used", where, used));
    else if (used >= kDiskDegradedPercent)
      problem(kDegraded, fmt::format("disk nearly full: {} {:.0f}% used", where, used));
    if (d.value("exists", false) && !d.value("writable", true))
      problem(kDegraded, fmt::format("{} is not writable by the gateway", where));
  }
  if (system.contains("clock") && system["clock"].value("synchronized", json(nullptr)) == false)
    problem(kDegraded, "clock not synchronized (alarm and video times may be wrong: check NTP)");
  if (system.contains("temperature") && system["temperature"].value("celsius", json(nullptr)).is_number()) {
    const double celsius = system["temperature"]["celsius"].get<double>();
    if (celsius >= kTooHotCelsius)
      problem(kFault, fmt::format("board at {:.0f} °C: too hot, check the fan and vents", celsius));
    else if (celsius >= kHotCelsius)
      problem(kDegraded, fmt::format("board at {:.0f} °C: hot, check ventilation", celsius));
  }

  const int alarms = status.value("active_alarms", 0);
  const char* verdict = level == kOk ? "OK" : level == kDegraded ? "DEGRADED" : "FAULT";
  std::string summary = verdict + std::string(": ");
  for (const auto& p : problems) summary += p + "; ";
  summary +=
      fmt::format("{}/{} cameras streaming, {} active alarm{}", streaming, enabled, alarms, alarms == 1 ? "" : "s");
  std::string lower = verdict;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return std::tolower(ch); });
  return {{"verdict", lower},
          {"summary", summary},
          {"problems", problems},
          {"cameras_streaming", streaming},
          {"cameras_enabled", enabled}};
}

void CommandHandler::count(const std::string& code, const std::string& cmd, const bus::RequestOrigin& origin) {
  ++counts_.answered;
  if (code.empty()) return;
  ++counts_.refused;
  ++counts_.refused_by_code[code];
  // What a technician needs to find the client; a hostile command name is cut short.
  std::string command = cmd.substr(0, 40);
  for (char& c : command)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  std::string who = origin.client.empty() ? "a client" : fmt::format("client '{}' ({})", origin.client, origin.role);
  counts_.last_refused = fmt::format("{}: {} from {} on {}", code, command.empty() ? "(no command)" : command, who,
                                     origin.channel.empty() ? "?" : origin.channel);
}

bus::Reply CommandHandler::handle(const std::string& text, const bus::RequestOrigin& origin) {
  json reply = {{"v", bus::kProtocolVersion}};
  std::optional<std::vector<uint8_t>> data;
  std::string cmd;  // once known, for the refusal counters
  try {
    if (text.size() > kMaxRequestBytes)
      throw Refusal{"too_large", fmt::format("the request is {} bytes; requests are at most {} bytes (64 KiB)",
                                             text.size(), kMaxRequestBytes)};
    const json request = json::parse(text, nullptr, false);
    if (request.is_discarded() || !request.is_object())
      throw Refusal{"bad_request", "the request is not a JSON object"};
    if (auto id = request.find("id"); id != request.end()) reply["id"] = *id;
    const auto version = request.find("v");
    if (version == request.end() || !version->is_number() || !bus::fitsJson<int>(*version) ||
        version->get<int>() != bus::kProtocolVersion)
      throw Refusal{"bad_request", fmt::format("unsupported or missing protocol version (this gateway speaks v{})",
                                               bus::kProtocolVersion)};
    if (auto it = request.find("cmd"); it != request.end() && !it->is_string())
      throw Refusal{"bad_request", "'cmd' must be a string"};
    cmd = request.value("cmd", "");
    if (auto refusal = refusalFor(cmd, origin)) throw Refusal{"forbidden", *refusal};
    const json& args = argsOf(request);
    auto& alarms = *context_.alarms;
    json result;

    if (cmd == "ping") {
      result = {{"site", context_.site},
                {"version", context_.version},
                {"boot", bus::bootIdHex(context_.publisher->bootId())},
                {"time_us", context_.clock->wallMicros()},
                {"publish", context_.publisher->boundEndpoints()}};
    } else if (cmd == "status") {
      result = bus::statusToJson(context_.status());
      // Heartbeats get these from the publisher; a command answers for now.
      result["boot"] = bus::bootIdHex(context_.publisher->bootId());
      result["time_us"] = context_.clock->wallMicros();
      const config::Config* config = context_.config ? &context_.config() : nullptr;
      result["system"] = systemFacts(config ? &config->storage : nullptr, context_.thermal_dir,
                                     context_.board ? context_.board() : std::nullopt);
      std::optional<int> subscribers = context_.subscribers ? context_.subscribers() : std::nullopt;
      result["bus"] = {{"publish", context_.publisher->boundEndpoints()},
                       {"subscribers", subscribers ? json(*subscribers) : json(nullptr)},
                       {"control", config ? json(config->bus.control) : json(nullptr)},
                       {"commands", config ? json(config->bus.commands) : json::array()}};
      if (context_.auth_stats) {
        const auto auth = context_.auth_stats->snapshot();
        result["bus"]["security"] = {{"curve", config && config->security.curve},
                                     {"allowed_clients", config ? config->security.clients.size() : 0},
                                     {"connections_allowed", auth.allowed},
                                     {"connections_denied", auth.denied},
                                     {"last_denied", auth.last_denied}};
      }
      // Up to the request before this one.
      result["bus"]["requests"] = {{"answered", counts_.answered},
                                   {"refused", counts_.refused},
                                   {"refused_by_code", counts_.refused_by_code},
                                   {"last_refused", counts_.last_refused}};
      result["health"] = assessHealth(
          result, context_.camera_stats ? context_.camera_stats() : std::vector<media::CameraStatsSnapshot>{});
    } else if (cmd == "cameras") {
      const auto status = context_.status();
      const auto stats = context_.camera_stats ? context_.camera_stats() : std::vector<media::CameraStatsSnapshot>{};
      const config::Config* config = context_.config ? &context_.config() : nullptr;
      const auto configured = [&](const std::string& id) -> const config::CameraConfig* {
        if (!config) return nullptr;
        for (const auto& c : config->cameras)
          if (c.id == id) return &c;
        return nullptr;
      };
      const auto published = [&](const std::string& id) -> const bus::CameraStatus* {
        for (const auto& c : status.cameras)
          if (c.id == id) return &c;
        return nullptr;
      };
      json cameras = json::array();
      if (!stats.empty()) {
        for (const auto& s : stats) cameras.push_back(cameraToJson(s.id, &s, published(s.id), configured(s.id)));
      } else {
        for (const auto& c : status.cameras) cameras.push_back(cameraToJson(c.id, nullptr, &c, configured(c.id)));
      }
      result = {{"site", context_.site}, {"time_us", context_.clock->wallMicros()}, {"cameras", std::move(cameras)}};
    } else if (cmd == "inputs") {
      if (!context_.board) throw Refusal{"not_available", "no board layer in this build"};
      const auto board = context_.board();
      if (!board)
        throw Refusal{"not_available",
                      "the gateway watches no board: the config has no 'board' section, or the "
                      "board failed to start (the log says why: 'board inputs are NOT watched')"};
      json inputs = json::array(), outputs = json::array();
      for (const auto& i : board->inputs)
        inputs.push_back(
            {{"id", i.id}, {"active", i.active}, {"level", i.level}, {"since_us", i.since_us}, {"changes", i.changes}});
      for (const auto& o : board->outputs) outputs.push_back({{"id", o.id}, {"on", o.on}, {"changes", o.changes}});
      result = {{"board", board->kind},
                {"inputs", std::move(inputs)},
                {"outputs", std::move(outputs)},
                {"temperature_c", board->temperature_c ? json(*board->temperature_c) : json(nullptr)}};
    } else if (cmd == "alarm.raise") {
      alarm::RaiseRequest raise;
      raise.cameras = required<std::vector<std::string>>(args, "cameras", "a list of camera ids");
      raise.level = required<int>(args, "level", "1, 2 or 3");
      raise.type = required<std::string>(args, "type", "a string such as \"intrusion\"");
      raise.description = optional<std::string>(args, "description", "a string").value_or("");
      raise.source = optional<std::string>(args, "source", "a string")
                         .value_or(origin.channel == "commands" ? "platform" : "manual");
      raise.pre_roll_s = optional<double>(args, "pre_roll_s", "a number of seconds");
      raise.post_roll_s = optional<double>(args, "post_roll_s", "a number of seconds");
      result = unwrap(alarms.raise(raise));
    } else if (cmd == "alarm.update") {
      alarm::UpdateRequest update;
      update.level = optional<int>(args, "level", "1, 2 or 3");
      update.description = optional<std::string>(args, "description", "a string");
      result = unwrap(alarms.update(required<std::string>(args, "id", "an alarm id"), update));
    } else if (cmd == "alarm.clear") {
      result = unwrap(alarms.clear(required<std::string>(args, "id", "an alarm id")));
    } else if (cmd == "alarm.ack") {
      const std::string by = optional<std::string>(args, "by", "a string").value_or(origin.channel);
      result = unwrap(alarms.acknowledge(required<std::string>(args, "id", "an alarm id"), by));
    } else if (cmd == "alarm.list") {
      json active = json::array(), recent = json::array();
      for (const auto& a : alarms.active()) active.push_back(bus::alarmToJson(a));
      for (const auto& a : alarms.recent()) recent.push_back(bus::alarmToJson(a));
      result = {{"active", active}, {"recent", recent}};
    } else if (cmd == "live.start" || cmd == "live.stop") {
      const auto camera = required<std::string>(args, "camera", "a camera id");
      const auto status = context_.status();
      const bool known =
          std::any_of(status.cameras.begin(), status.cameras.end(), [&](const auto& c) { return c.id == camera; });
      if (!known) throw Refusal{"unknown_camera", fmt::format("no camera '{}' on site {}", camera, context_.site)};
      if (cmd == "live.stop") {
        context_.publisher->stopLiveView(camera);
        result = {{"camera", camera}};
      } else {
        const int lease = optional<int>(args, "lease_s", "whole seconds").value_or(kDefaultLeaseS);
        if (lease < 1 || lease > kMaxLeaseS)
          throw Refusal{"invalid_argument", fmt::format("lease_s must be 1 to {} seconds", kMaxLeaseS)};
        const int64_t until = context_.clock->wallMicros() + int64_t{lease} * 1'000'000;
        context_.publisher->startLiveView(camera, until);
        result = {{"camera", camera}, {"until_us", until}};
      }
    } else if (cmd == "event.ack") {
      const auto ids = required<std::vector<uint64_t>>(args, "event_ids", "a list of event ids (integers)");
      if (!context_.ack_events) throw Refusal{"internal", "event acknowledgement is not available"};
      auto acked = context_.ack_events(ids);
      if (!acked) throw Refusal{acked.error().code.empty() ? "internal" : acked.error().code, acked.error().message};
      result = {{"acknowledged", *acked}};
    } else if (cmd == "clip.list") {
      auto& recorder = evidenceOf(context_);
      evidence::ClipFilter filter;
      if (args.contains("alarm")) filter.alarm = alarmIdArg(args, "alarm", true);
      if (args.contains("camera")) filter.camera = cameraArg(args, "camera");
      filter.from_us = optional<int64_t>(args, "from_us", "µs since the Unix epoch (an integer)").value_or(0);
      filter.to_us = optional<int64_t>(args, "to_us", "µs since the Unix epoch (an integer)").value_or(INT64_MAX);
      if (filter.to_us < filter.from_us)
        throw Refusal{"invalid_argument", fmt::format("to_us ({}) is before from_us ({})", filter.to_us, filter.from_us)};
      const auto clips = recorder.listClips(filter);
      json list = json::array();
      for (size_t i = 0; i < clips.size() && i < kMaxListedClips; ++i) list.push_back(clipToJson(clips[i]));
      result = {{"clips", std::move(list)}, {"truncated", clips.size() > kMaxListedClips}};
    } else if (cmd == "clip.fetch") {
      auto& recorder = evidenceOf(context_);
      const auto id = required<std::string>(args, "id", "a clip id from clip.list");
      if (!evidence::validClipId(id))
        throw Refusal{"invalid_argument",
                      fmt::format("\"{}\" is not a clip id: ids look like YYYY-MM-DD/<alarm id>/<camera>.mp4, as "
                                  "clip.list gives them",
                                  id.substr(0, 120))};
      const auto offset = optional<int64_t>(args, "offset", "a byte offset (an integer)").value_or(0);
      if (offset < 0) throw Refusal{"invalid_argument", fmt::format("offset must be 0 or more, not {}", offset)};
      const auto max_bytes = optional<int64_t>(args, "max_bytes", "a number of bytes").value_or(kDefaultChunkBytes);
      if (max_bytes < 1 || max_bytes > kMaxChunkBytes)
        throw Refusal{"invalid_argument",
                      fmt::format("max_bytes must be 1 to {} (4 MiB), not {}", kMaxChunkBytes, max_bytes)};
      auto chunk = recorder.readChunk(id, static_cast<uint64_t>(offset), static_cast<size_t>(max_bytes));
      if (!chunk) throw Refusal{chunk.error().code.empty() ? "internal" : chunk.error().code, chunk.error().message};
      result = {{"id", id},
                {"offset", chunk->offset},
                {"bytes", chunk->bytes.size()},
                {"size", chunk->file_bytes},
                {"growing", !chunk->complete},
                {"eof", chunk->eof},
                {"state", std::string(evidence::clipStateName(chunk->state))},
                {"sha256", chunk->sha256.empty() ? json(nullptr) : json(chunk->sha256)}};
      data = std::move(chunk->bytes);
    } else if (cmd == "snapshot.fetch") {
      auto& recorder = evidenceOf(context_);
      std::string id;
      if (args.contains("id")) {
        id = required<std::string>(args, "id", "a snapshot id (<alarm id>/<camera>.jpg)");
        const auto slash = id.find('/');
        const auto parsed = slash == 32 ? alarm::AlarmId::fromHex(id.substr(0, 32)) : std::nullopt;
        if (!parsed || !id.ends_with(".jpg") || !evidence::validCameraId(id.substr(33, id.size() - 33 - 4)))
          throw Refusal{"invalid_argument",
                        fmt::format("\"{}\" is not a snapshot id: ids look like <alarm id>/<camera>.jpg",
                                    id.substr(0, 120))};
      } else {
        id = evidence::snapshotId(alarmIdArg(args, "alarm", true), cameraArg(args, "camera"));
      }
      auto file = recorder.readSnapshot(id);
      if (!file) throw Refusal{file.error().code.empty() ? "internal" : file.error().code, file.error().message};
      const auto& info = file->info;
      result = {{"id", info.id},
                {"alarm", info.alarm.hex()},
                {"camera", info.camera},
                {"width", info.width},
                {"height", info.height},
                {"captured_us", info.captured_us},
                {"size", file->jpeg.size()},
                {"sha256", core::sha256Hex(file->jpeg)}};
      data = std::move(file->jpeg);
    } else if (cmd == "reload") {
      if (origin.channel != "control" && origin.role != "admin")  // a clear-text platform endpoint never reloads
        throw Refusal{"forbidden", "reload is only accepted on the local control socket or from an admin key"};
      const std::string error = context_.reload ? context_.reload() : "reload is not available";
      if (!error.empty()) throw Refusal{"invalid_argument", error};
      result = json::object();
    } else if (cmd.empty()) {
      throw Refusal{"bad_request", "the request has no 'cmd'"};
    } else {
      throw Refusal{
          "unknown_command",
          fmt::format(
              "unknown command '{}' (known: ping, status, cameras, inputs, alarm.raise, alarm.update, alarm.clear, "
              "alarm.ack, alarm.list, event.ack, live.start, live.stop, clip.list, clip.fetch, snapshot.fetch, "
              "reload)",
              cmd)};
    }
    reply["ok"] = true;
    reply["result"] = std::move(result);
  } catch (const Refusal& refusal) {
    reply["ok"] = false;
    reply["error"] = {{"code", refusal.code}, {"message", refusal.message}};
  } catch (const std::exception& e) {
    reply["ok"] = false;
    reply["error"] = {{"code", "internal"}, {"message", e.what()}};
  }
  // Replacement of invalid UTF-8 keeps a hostile request from making the reply itself fail.
  // A refusal carries no data frame: a client tells the two apart by "ok".
  if (!reply.value("ok", false)) data.reset();
  count(reply.value("ok", false) ? std::string() : reply["error"].value("code", "internal"), cmd, origin);
  return {reply.dump(-1, ' ', false, json::error_handler_t::replace), std::move(data)};
}

}  // namespace vcgate::control
