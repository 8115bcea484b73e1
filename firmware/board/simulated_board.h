// SimulatedBoard: a board without hardware, for the demo and the tests. It
// debounces its inputs with the same code as LinuxBoard and is driven through
// a FIFO at config.control_path (created at start(), removed at stop()), one
// command per line, for example
//   echo "press panic-hall-b" > /tmp/vcgate-demo/board.fifo
// Commands (ids as configured; unknown commands are logged and counted):
//   input <id> 1|0|high|low   the electrical level of the line (active_low applies)
//   press <id> / release <id> the logical state (active / inactive), whatever the polarity
//   temp <celsius> | temp none  the temperature temperatureC() reports
//   # ...                     a comment; blank lines are ignored
// Outputs are recorded, watchdog calls counted (WatchdogCounters).
//
// Thread rules: as Board (board.h); command(), setTemperature(),
// watchdogCounters() and commandErrors(): any thread.
#pragma once

#include <atomic>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "firmware/board/board_core.h"

namespace vcgate::board {

class SimulatedBoard final : public BoardCore {
 public:
  explicit SimulatedBoard(BoardConfig config, core::Clock& clock = core::SystemClock::instance());
  ~SimulatedBoard() override;

  BoardKind kind() const override { return BoardKind::kSimulated; }
  core::Result<void> openWatchdog() override;
  core::Result<void> pingWatchdog() override;
  core::Result<void> closeWatchdog() override;
  std::optional<double> temperatureC() const override;

  // One command line as if written to the FIFO (works before start() too,
  // debounced the same way once started).
  core::Result<void> command(std::string_view line);
  void setTemperature(std::optional<double> celsius);

  struct WatchdogCounters {
    bool open = false;
    uint64_t opens = 0;
    uint64_t pings = 0;
    uint64_t magic_closes = 0;
  };
  WatchdogCounters watchdogCounters() const;
  uint64_t commandErrors() const { return command_errors_; }

 private:
  core::Result<std::vector<int>> openLines() override;
  void closeLines() override;
  void onReadable(int fd) override;
  core::Result<void> driveOutput(size_t index, bool on) override;
  core::Result<void> apply(std::string_view line);

  mutable std::mutex sim_mutex_;  // temperature_ and watchdog_
  std::optional<double> temperature_;
  WatchdogCounters watchdog_;
  std::atomic<uint64_t> command_errors_{0};

  // FIFO, owned by start()/stop() and the input thread.
  int fifo_fd_ = -1;
  int fifo_keepalive_fd_ = -1;  // our own writer: the FIFO never reports end-of-file between writers
  bool created_fifo_ = false;
  std::string partial_;  // input thread: the unfinished last line
};

}  // namespace vcgate::board
