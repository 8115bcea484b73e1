// Metrics in the Prometheus text format, for node_exporter's textfile
// collector: the same figures as the heartbeats, written atomically (a
// temporary file renamed over the old one) so the collector never reads half
// a file. Pure functions; the daemon calls them on the main thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "gateway/bus/curve.h"
#include "gateway/bus/protocol.h"
#include "gateway/control/command_handler.h"
#include "gateway/core/result.h"
#include "gateway/media/camera_stats.h"

namespace vcgate::control {

// What the command endpoints saw, for vcgate_requests_* and
// vcgate_bus_connections_*: unset parts are left out of the text.
struct BusMetrics {
  std::optional<RequestCounts> requests;        // answered and refused requests (control and commands)
  std::optional<bus::AuthStats::Snapshot> auth;  // CURVE connections allowed and denied (security.curve)
};

std::string renderMetrics(const bus::StatusMessage& status, const std::vector<media::CameraStatsSnapshot>& cameras,
                          const BusMetrics& bus = {});
core::Result<void> writeMetricsFile(const std::string& path, const std::string& text);

}  // namespace vcgate::control
