// Metrics in the Prometheus text format, for node_exporter's textfile
// collector: the same figures as the heartbeats, written atomically (a
// temporary file renamed over the old one) so the collector never reads half
// a file. Pure functions; the daemon calls them on the main thread.
#pragma once

#include <string>
#include <vector>

#include "gateway/bus/protocol.h"
#include "gateway/core/result.h"
#include "gateway/media/camera_stats.h"

namespace vcgate::control {

std::string renderMetrics(const bus::StatusMessage& status, const std::vector<media::CameraStatsSnapshot>& cameras);
core::Result<void> writeMetricsFile(const std::string& path, const std::string& text);

}  // namespace vcgate::control
