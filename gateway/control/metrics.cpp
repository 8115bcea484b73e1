#include "gateway/control/metrics.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

namespace vcgate::control {
namespace {

// Label values escape backslash, quote and newline (the text format's rule).
std::string label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

class Writer {
 public:
  void family(const char* name, const char* type, const char* help) {
    out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  void sample(const char* name, const std::string& labels, double value) {
    out_ += labels.empty() ? fmt::format("{} {}\n", name, value) : fmt::format("{}{{{}}} {}\n", name, labels, value);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace

std::string renderMetrics(const bus::StatusMessage& status, const std::vector<media::CameraStatsSnapshot>& cameras,
                          const BusMetrics& bus) {
  Writer w;
  const std::string site = fmt::format("site=\"{}\"", label(status.site));
  w.family("vcgate_up", "gauge", "1 while the gateway runs");
  w.sample("vcgate_up", site + fmt::format(",version=\"{}\"", label(status.version)), 1);
  w.family("vcgate_uptime_seconds", "gauge", "seconds since the gateway started");
  w.sample("vcgate_uptime_seconds", site, status.uptime_s);
  w.family("vcgate_active_alarms", "gauge", "alarms raised and not cleared");
  w.sample("vcgate_active_alarms", site, status.active_alarms);
  w.family("vcgate_journal_backlog", "gauge", "alarm events not yet acknowledged by the platform");
  w.sample("vcgate_journal_backlog", site, static_cast<double>(status.journal_backlog));
  w.family("vcgate_uplink_budget_bps", "gauge", "bus.uplink.budget_kbps in bits per second (0: unlimited)");
  w.sample("vcgate_uplink_budget_bps", site, status.uplink_budget_kbps * 1000);
  w.family("vcgate_uplink_demand_bps", "gauge",
           "bits per second the covered cameras, events and heartbeats would need (measured while a budget is set)");
  w.sample("vcgate_uplink_demand_bps", site, status.uplink_demand_kbps * 1000);
  if (bus.requests) {
    w.family("vcgate_requests_answered_total", "counter", "requests answered on the control and commands endpoints");
    w.sample("vcgate_requests_answered_total", site, static_cast<double>(bus.requests->answered));
    // One sample per refusal code seen so far ("forbidden", "too_large", ...):
    // an alert on rate(...{code="forbidden"}) catches a misconfigured client.
    w.family("vcgate_requests_refused_total", "counter", "requests refused, by protocol error code");
    for (const auto& [code, count] : bus.requests->refused_by_code)
      w.sample("vcgate_requests_refused_total", site + fmt::format(",code=\"{}\"", label(code)),
               static_cast<double>(count));
  }
  if (bus.auth) {
    w.family("vcgate_bus_connections_allowed_total", "counter", "CURVE connections the allow-list let in");
    w.sample("vcgate_bus_connections_allowed_total", site, static_cast<double>(bus.auth->allowed));
    w.family("vcgate_bus_connections_denied_total", "counter", "CURVE connections refused (unknown key)");
    w.sample("vcgate_bus_connections_denied_total", site, static_cast<double>(bus.auth->denied));
  }

  struct PerCamera {
    const char* name;
    const char* type;
    const char* help;
    double (*value)(const media::CameraStatsSnapshot&, const bus::CameraStatus*);
  };
  static const PerCamera kPerCamera[] = {
      {"vcgate_camera_streaming", "gauge", "1 while frames arrive from the camera",
       [](const auto& s, const auto*) { return s.state == media::CameraState::kStreaming ? 1.0 : 0.0; }},
      {"vcgate_camera_fps", "gauge", "frames per second over the last 5 s", [](const auto& s, const auto*) { return s.fps; }},
      {"vcgate_camera_bitrate_bps", "gauge", "bits per second over the last 5 s",
       [](const auto& s, const auto*) { return s.bitrate_bps; }},
      {"vcgate_camera_frames_total", "counter", "access units ingested",
       [](const auto& s, const auto*) { return static_cast<double>(s.frames); }},
      {"vcgate_camera_bytes_total", "counter", "bytes ingested",
       [](const auto& s, const auto*) { return static_cast<double>(s.bytes); }},
      {"vcgate_camera_reconnects_total", "counter", "connection attempts after a failure",
       [](const auto& s, const auto*) { return static_cast<double>(s.reconnects); }},
      {"vcgate_camera_dropped_total", "counter", "access units dropped because a queue was full",
       [](const auto& s, const auto*) { return static_cast<double>(s.dropped); }},
      {"vcgate_camera_last_frame_age_seconds", "gauge", "seconds since the last frame (-1: none yet)",
       [](const auto& s, const auto*) { return s.last_frame_age_ms < 0 ? -1.0 : s.last_frame_age_ms / 1000.0; }},
      {"vcgate_camera_published_total", "counter", "video messages published on the bus",
       [](const auto&, const auto* p) { return p ? static_cast<double>(p->published) : 0.0; }},
      {"vcgate_camera_buffer_bytes", "gauge", "pre-alarm buffer in use",
       [](const auto&, const auto* p) { return p ? static_cast<double>(p->buffered_bytes) : 0.0; }},
      {"vcgate_camera_alarms", "gauge", "alarms covering the camera now",
       [](const auto&, const auto* p) { return p ? static_cast<double>(p->alarms.size()) : 0.0; }},
      {"vcgate_camera_uplink_degraded", "gauge",
       "the uplink budget: 0 full (or not published), 1 keyframes only, 2 held back",
       [](const auto&, const auto* p) {
         if (!p) return 0.0;
         return p->uplink == "keyframes" ? 1.0 : p->uplink == "held" ? 2.0 : 0.0;
       }},
      {"vcgate_camera_budget_skipped_total", "counter", "access units the uplink budget kept off the bus",
       [](const auto&, const auto* p) { return p ? static_cast<double>(p->budget_skipped) : 0.0; }},
  };
  for (const auto& metric : kPerCamera) {
    w.family(metric.name, metric.type, metric.help);
    for (const auto& s : cameras) {
      const bus::CameraStatus* published = nullptr;
      for (const auto& c : status.cameras)
        if (c.id == s.id) published = &c;
      w.sample(metric.name, site + fmt::format(",camera=\"{}\"", label(s.id)), metric.value(s, published));
    }
  }
  return w.take();
}

core::Result<void> writeMetricsFile(const std::string& path, const std::string& text) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    if (!out) return core::makeError(fmt::format("cannot write metrics to {}: {}", temporary, std::strerror(errno)));
    out << text;
    out.flush();
    if (!out) return core::makeError(fmt::format("cannot write metrics to {}: {}", temporary, std::strerror(errno)));
  }
  std::error_code ec;
  std::filesystem::rename(temporary, path, ec);
  if (ec) return core::makeError(fmt::format("cannot replace {}: {}", path, ec.message()));
  return {};
}

}  // namespace vcgate::control
