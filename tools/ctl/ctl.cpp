#include "tools/ctl/ctl.h"

#include <signal.h>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>

#include <fmt/format.h>

#include "gateway/config/config.h"

namespace vcgate::ctl {
namespace {

std::atomic<bool> g_stop{false};

void onStopSignal(int) { g_stop.store(true); }

// bus.control read straight from the text, for a config the loader refuses:
// a technician who broke the file must still reach the gateway that runs the
// old one (to reload it, or to see what is wrong).
std::string scanControlEndpoint(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  bool in_bus = false;
  while (std::getline(in, line)) {
    if (!line.empty() && !std::isspace(static_cast<unsigned char>(line[0])) && line[0] != '#') {
      in_bus = line.starts_with("bus:");
      continue;
    }
    if (!in_bus) continue;
    const auto key = line.find_first_not_of(' ');
    if (key == std::string::npos || line.compare(key, 8, "control:") != 0) continue;
    std::string value = line.substr(key + 8);
    if (const auto hash = value.find(" #"); hash != std::string::npos) value.erase(hash);
    value.erase(0, value.find_first_not_of(" \t\"'"));
    value.erase(value.find_last_not_of(" \t\"'\r") + 1);
    return value;
  }
  return {};
}

}  // namespace

std::string configPath(const Options& options) { return options.config.empty() ? kDefaultConfig : options.config; }

std::string controlEndpoint(const Options& options) {
  if (!options.endpoint.empty()) return options.endpoint;
  if (const char* env = std::getenv("VCGATE_CONTROL"); env && *env) return env;
  const std::string path = configPath(options);
  if (std::filesystem::exists(path)) {
    auto loaded = config::loadConfigFile(path);
    if (loaded.ok()) return loaded.config->bus.control;
    const std::string scanned = scanControlEndpoint(path);
    std::cerr << "vcgatectl: " << path << " is not valid (vcgatectl check-config " << path << " says why); using "
              << (scanned.empty() ? kDefaultEndpoint : "its bus.control " + scanned) << "\n";
    if (!scanned.empty()) return scanned;
  }
  return kDefaultEndpoint;
}

Gateway::Gateway(const Options& options) : Gateway(options, controlEndpoint(options)) {}

namespace {

std::optional<bus::CurveClient> curveOf(const Options& options, std::optional<core::Error>& error) {
  if (options.key_file.empty()) return std::nullopt;
  auto curve = bus::loadCurveClient(options.key_file, options.server_key);
  if (!curve) {
    error = core::makeCodedError("bad_key", curve.error().message);
    return std::nullopt;
  }
  return std::move(*curve);
}

}  // namespace

Gateway::Gateway(const Options& options, std::string endpoint)
    : endpoint_(std::move(endpoint)),
      timeout_ms_(options.timeout_ms),
      client_(endpoint_, curveOf(options, key_error_)) {}

std::optional<json> ask(Ctl& ctl, Gateway& gateway, const std::string& cmd, const json& args) {
  auto result = gateway.call(cmd, args);
  if (!result) {
    ctl.exit_code = reportError(ctl.options, result.error());
    return std::nullopt;
  }
  return std::move(*result);
}

core::Result<json> Gateway::call(const std::string& cmd, const json& args) { return call(cmd, args, timeout_ms_); }

core::Result<json> Gateway::call(const std::string& cmd, const json& args, int timeout_ms) {
  auto reply = callWithData(cmd, args, timeout_ms);
  if (!reply) return reply.error();
  return std::move(reply->result);
}

core::Result<Gateway::WithData> Gateway::callWithData(const std::string& cmd, const json& args) {
  return callWithData(cmd, args, timeout_ms_);
}

core::Result<Gateway::WithData> Gateway::callWithData(const std::string& cmd, const json& args, int timeout_ms) {
  if (key_error_) return *key_error_;
  const json request = {{"v", 1}, {"id", "vcgatectl"}, {"cmd", cmd}, {"args", args}};
  auto text = client_.requestWithData(request.dump(), timeout_ms);
  if (!text) {
    std::string why = text.error().message;
    if (endpoint_.starts_with("ipc://") && !std::filesystem::exists(endpoint_.substr(6)))
      why = fmt::format(
          "the control socket {} does not exist: vcgated is not running (systemctl status vcgated), or "
          "it uses another bus.control (give -c CONFIG or -e ENDPOINT)",
          endpoint_.substr(6));
    return core::makeCodedError("unreachable", why);
  }
  json reply = json::parse(text->body, nullptr, false);
  if (reply.is_discarded() || !reply.is_object())
    return core::makeCodedError("malformed",
                                fmt::format("{} sent a reply that is not JSON: is it a vcgate gateway?", endpoint_));
  if (!reply.value("ok", false)) {
    const json error = reply.value("error", json::object());
    return core::makeCodedError(error.value("code", "refused"), error.value("message", "the gateway refused"));
  }
  return WithData{reply.value("result", json::object()), text->data.value_or(std::vector<uint8_t>{})};
}

int reportError(const Options& options, const core::Error& error, const std::string& what) {
  const std::string code = error.code.empty() ? "failed" : error.code;
  if (options.json) printJson({{"code", code}, {"message", error.message}});
  if (code == "unreachable" || code == "malformed") {
    std::cerr << "vcgatectl: " << what << " not reachable: " << error.message << "\n";
    return kExitUnreachable;
  }
  // The protocol's refusal codes (docs/protocol.md section 7) come from the gateway.
  static const std::set<std::string> kRefusals = {
      "bad_request",  "unknown_command", "invalid_argument", "unknown_camera", "unknown_alarm",   "forbidden",
      "not_available", "unknown_clip",   "bad_offset",       "not_ready",      "unknown_snapshot", "internal"};
  if (kRefusals.contains(code))
    std::cerr << "vcgatectl: the gateway refused (" << code << "): " << error.message << "\n";
  else
    std::cerr << "vcgatectl: " << error.message << "\n";
  return kExitProblem;
}

void printJson(const json& value) {
  std::cout << value.dump(-1, ' ', false, json::error_handler_t::replace) << std::endl;
}

std::string localEndpoint(const std::string& bound) {
  for (const char* any : {"tcp://0.0.0.0:", "tcp://*:"})
    if (bound.starts_with(any)) return "tcp://127.0.0.1:" + bound.substr(std::string(any).size());
  if (bound.starts_with("tcp://[::]:")) return "tcp://[::1]:" + bound.substr(11);
  return bound;
}

void installStopHandler() {
  struct sigaction action {};
  action.sa_handler = onStopSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: a blocking wait returns EINTR and the loop sees the flag
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

const std::atomic<bool>& stopRequested() { return g_stop; }

std::string formatClock(int64_t wall_us, bool millis) {
  if (wall_us <= 0) return "-";
  const time_t seconds = static_cast<time_t>(wall_us / 1'000'000);
  struct tm local {};
  localtime_r(&seconds, &local);
  char text[32];
  strftime(text, sizeof text, "%H:%M:%S", &local);
  return millis ? fmt::format("{}.{:03}", text, (wall_us / 1000) % 1000) : text;
}

std::string formatBytes(double bytes) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 4) {
    bytes /= 1024;
    ++unit;
  }
  return unit == 0 ? fmt::format("{:.0f} B", bytes) : fmt::format("{:.1f} {}", bytes, units[unit]);
}

std::string formatDuration(double seconds) {
  const auto s = static_cast<int64_t>(seconds);
  if (s >= 86400) return fmt::format("{}d {:02}h", s / 86400, (s % 86400) / 3600);
  if (s >= 3600) return fmt::format("{}h {:02}m", s / 3600, (s % 3600) / 60);
  if (s >= 60) return fmt::format("{}m {:02}s", s / 60, s % 60);
  return fmt::format("{:.1f} s", seconds);
}

std::string formatAge(int64_t ms) {
  if (ms < 0) return "-";
  if (ms < 1000) return fmt::format("{} ms", ms);
  if (ms < 60'000) return fmt::format("{:.1f} s", static_cast<double>(ms) / 1000);
  return formatDuration(static_cast<double>(ms) / 1000);
}

}  // namespace vcgate::ctl
