// LinuxBoard: the real box. Inputs and outputs are lines of one GPIO chip,
// through the libgpiod v1 character-device API (Debian 12: libgpiod 1.6);
// inputs are requested for both edges and their event descriptors polled by
// the input thread; the watchdog is /dev/watchdog; the temperature comes from
// /sys/class/thermal.
//
// Thread rules: as Board (board.h).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "firmware/board/board_core.h"
#include "firmware/board/watchdog_device.h"

struct gpiod_chip;
struct gpiod_line;

namespace vcgate::board {

class LinuxBoard final : public BoardCore {
 public:
  // `sysfs_root` is "/sys" except in tests, which point it at a fake tree.
  explicit LinuxBoard(BoardConfig config, core::Clock& clock = core::SystemClock::instance(),
                      std::string sysfs_root = "/sys");
  ~LinuxBoard() override;

  BoardKind kind() const override { return BoardKind::kLinux; }
  core::Result<void> openWatchdog() override;
  core::Result<void> pingWatchdog() override;
  core::Result<void> closeWatchdog() override;
  std::optional<double> temperatureC() const override;

  // The temp file in use, or the reason there is none (for status and logs).
  const core::Result<std::string>& thermalZone() const { return thermal_; }

 private:
  core::Result<std::vector<int>> openLines() override;
  void closeLines() override;
  void onReadable(int fd) override;
  core::Result<void> driveOutput(size_t index, bool on) override;

  core::Result<std::string> thermal_;
  gpiod_chip* chip_ = nullptr;
  std::vector<gpiod_line*> input_lines_;   // by input index
  std::vector<int> input_fds_;             // by input index
  std::vector<gpiod_line*> output_lines_;  // by output index
  WatchdogDevice watchdog_;
};

}  // namespace vcgate::board
