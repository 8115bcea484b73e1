// Temperature from the Linux thermal framework: /sys/class/thermal/thermal_zoneN/temp
// holds millidegrees Celsius as text ("47250\n"). The sysfs root is a
// parameter so tests can point it at a fake tree.
// Thread rules: free functions without state; any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "gateway/core/result.h"

namespace vcgate::board {

// "47250\n" -> 47.25; "-5000" -> -5.0; anything else (empty, text, out of
// [-273 °C, 1000 °C]) -> nullopt.
std::optional<double> parseMilliCelsius(std::string_view text);

// The temp file for a configured zone under `sysfs_root` (normally "/sys"):
//   ""              the first thermal_zoneN (lowest N) whose temp parses
//   "thermal_zoneN" that zone
//   an absolute path (starts with '/') that file, as is
//   anything else   the first zone whose `type` file says so ("cpu-thermal")
core::Result<std::string> findThermalZone(const std::string& sysfs_root, const std::string& zone);

// Reads and parses one temp file; nullopt when it cannot.
std::optional<double> readTemperature(const std::string& temp_path);

}  // namespace vcgate::board
