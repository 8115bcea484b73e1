// Board: the box's hardware seen by the gateway — digital inputs (panic
// buttons, door contacts) with debounce and polarity, outputs (status LED,
// relays), the hardware watchdog and the temperature. Two implementations:
// LinuxBoard (libgpiod character device, /dev/watchdog, /sys/class/thermal)
// and SimulatedBoard (driven through a FIFO by the tests and the demo). Both
// debounce with the same code (InputBank), so a simulated button behaves like
// a real one.
//
// Thread rules:
//   - start(), stop(), the destructor and the watchdog calls: the owner's
//     thread (the daemon's main thread: the watchdog must stop being pinged
//     when the main loop hangs, that is its point).
//   - the InputCallback runs on the board's input thread, one event at a time,
//     in order. It must only hand the event off (for example through
//     analytics::MainContextForwarder<board::InputEvent>) and must not call
//     start() or stop().
//   - inputs(), outputs(), setOutput(), temperatureC(): any thread.
// Shutdown: stop() joins the input thread; no callback runs after it returns.
// Outputs keep their last state when the board stops (a relay that opens a
// door must not flip on a restart); the lines are released.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "firmware/board/board_config.h"
#include "gateway/core/clock.h"
#include "gateway/core/result.h"

namespace vcgate::board {

// A debounced change of an input.
struct InputEvent {
  std::string id;
  bool active = false;  // logical: pressed / open, after active_low
  // Wall-clock time (µs since the Unix epoch) of the edge that started the
  // new state, so the debounce delay does not skew alarm times.
  int64_t wall_us = 0;
};
using InputCallback = std::function<void(const InputEvent&)>;

struct InputState {
  std::string id;
  bool active = false;    // debounced, logical
  bool level = false;     // last electrical level seen (true = high), before debounce
  int64_t since_us = 0;   // wall time of the last debounced change; 0 = none since start
  uint64_t changes = 0;   // debounced changes since start
};

struct OutputState {
  std::string id;
  bool on = false;
  uint64_t changes = 0;   // setOutput() calls that changed the state
};

class Board {
 public:
  virtual ~Board() = default;

  virtual BoardKind kind() const = 0;

  // Claims the lines, sets the outputs to their initial state and starts the
  // input thread. An input that is already active at start fires once after
  // its debounce, like a change (a door left open is reported).
  virtual core::Result<void> start(InputCallback on_change) = 0;
  // Idempotent.
  virtual void stop() = 0;

  virtual std::vector<InputState> inputs() const = 0;
  virtual std::vector<OutputState> outputs() const = 0;
  // Fails for an unknown id or before start().
  virtual core::Result<void> setOutput(std::string_view id, bool on) = 0;

  // Opens the watchdog device (arms it) and sets its timeout.
  virtual core::Result<void> openWatchdog() = 0;
  virtual core::Result<void> pingWatchdog() = 0;
  // Magic close: writes 'V' before closing, so the watchdog is disarmed
  // instead of resetting the board. Only on a clean shutdown.
  virtual core::Result<void> closeWatchdog() = 0;

  // Degrees Celsius, or nullopt when the board has no readable sensor.
  virtual std::optional<double> temperatureC() const = 0;
};

// The board the config asks for; not started.
core::Result<std::unique_ptr<Board>> makeBoard(const BoardConfig& config,
                                               core::Clock& clock = core::SystemClock::instance());

}  // namespace vcgate::board
