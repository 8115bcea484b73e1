// Board configuration: plain data with the documented defaults (docs/board.md
// lists every field; the YAML keys are read by the config loader, which may
// call validate() to turn a bad value into a config error).
// Plain data: copy it freely, read it from any thread.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/core/result.h"

namespace vcgate::board {

enum class BoardKind { kSimulated, kLinux };
std::string_view toString(BoardKind kind);               // "simulated", "linux"
std::optional<BoardKind> parseBoardKind(std::string_view name);

// A digital input: a panic button, a door contact. `active_low`: the contact
// pulls the line low when it is active (pressed, open), the usual wiring with
// a pull-up. A change counts once the line has kept its new level for `debounce`.
struct InputConfig {
  std::string id;                          // required; [A-Za-z0-9_.-], unique among inputs
  unsigned line = 0;                       // line offset on the GPIO chip (linux)
  bool active_low = false;
  std::chrono::milliseconds debounce{50};  // [0, 10 s]

  bool operator==(const InputConfig&) const = default;
};

// A digital output: the status LED, a relay (siren, strobe, door release).
struct OutputConfig {
  std::string id;          // required; unique among outputs ("status-led", "relay-1")
  unsigned line = 0;       // line offset on the GPIO chip (linux)
  bool active_low = false; // on = line low
  bool initial_on = false; // state set when the board starts

  bool operator==(const OutputConfig&) const = default;
};

// The hardware watchdog. Off by default: on the vcgate image systemd drives
// /dev/watchdog (RuntimeWatchdogSec) and watches vcgated through WatchdogSec,
// and only one process may hold the device.
struct WatchdogConfig {
  bool enabled = false;
  std::string device = "/dev/watchdog";
  int timeout_s = 30;  // set on open (WDIOC_SETTIMEOUT); 0 keeps the driver's own

  bool operator==(const WatchdogConfig&) const = default;
};

struct BoardConfig {
  BoardKind kind = BoardKind::kSimulated;
  std::string chip = "gpiochip0";  // linux: name, /dev path, number or label of the GPIO chip
  std::vector<InputConfig> inputs;
  std::vector<OutputConfig> outputs;
  WatchdogConfig watchdog;
  // linux: "" = the first /sys/class/thermal/thermal_zone*/temp that reads;
  // "thermal_zoneN"; a zone type such as "cpu-thermal"; or an absolute path to a temp file.
  std::string thermal_zone;
  // simulated: the FIFO that drives the board (created at start, removed at stop).
  std::string control_path = "/run/vcgate/board.fifo";
  double simulated_temperature_c = 40.0;  // simulated: the temperature until a `temp` command

  bool operator==(const BoardConfig&) const = default;
};

// Unique ids, sane debounce and paths; the error names the input or output.
core::Result<void> validate(const BoardConfig& config);

}  // namespace vcgate::board
