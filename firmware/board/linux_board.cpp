#include "firmware/board/linux_board.h"

#if VCGATE_HAVE_GPIOD
#include <gpiod.h>
#endif

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "firmware/board/thermal.h"

namespace vcgate::board {

namespace {

constexpr const char* kConsumer = "vcgated";

[[maybe_unused]] std::string errnoText(int err) { return err ? std::strerror(err) : "unknown error"; }

}  // namespace

LinuxBoard::LinuxBoard(BoardConfig config, core::Clock& clock, std::string sysfs_root)
    : BoardCore(std::move(config), clock), thermal_(findThermalZone(sysfs_root, this->config().thermal_zone)) {
  if (!thermal_) spdlog::warn("board: temperature unavailable: {}", thermal_.error().message);
}

LinuxBoard::~LinuxBoard() { stop(); }

#if VCGATE_HAVE_GPIOD

core::Result<std::vector<int>> LinuxBoard::openLines() {
  const BoardConfig& c = config();
  if (c.inputs.empty() && c.outputs.empty()) return std::vector<int>{};
  errno = 0;
  chip_ = gpiod_chip_open_lookup(c.chip.c_str());
  if (!chip_)
    return core::makeError(fmt::format("GPIO chip '{}' cannot be opened: {}; check board.chip (the chips are "
                                       "/dev/gpiochip*; `gpiodetect` lists them with their labels)",
                                       c.chip, errnoText(errno)));
  const std::string chip_name = gpiod_chip_name(chip_);
  const unsigned num_lines = gpiod_chip_num_lines(chip_);

  std::vector<int> fds;
  for (const auto& in : c.inputs) {
    if (in.line >= num_lines)
      return core::makeError(fmt::format("input '{}': line {} does not exist on {} (it has {} lines)", in.id,
                                         in.line, chip_name, num_lines));
    gpiod_line* line = gpiod_chip_get_line(chip_, in.line);
    if (!line || gpiod_line_request_both_edges_events(line, kConsumer) != 0)
      return core::makeError(fmt::format("input '{}': cannot claim line {} of {}: {}{}", in.id, in.line, chip_name,
                                         errnoText(errno), errno == EBUSY ? " (another program holds it)" : ""));
    input_lines_.push_back(line);
    const int fd = gpiod_line_event_get_fd(line);
    input_fds_.push_back(fd);
    fds.push_back(fd);
    // The level now; an input already active fires after its debounce.
    const int value = gpiod_line_get_value(line);
    if (value >= 0) setLevel(input_lines_.size() - 1, value == 1);
  }
  for (const auto& out : c.outputs) {
    if (out.line >= num_lines)
      return core::makeError(fmt::format("output '{}': line {} does not exist on {} (it has {} lines)", out.id,
                                         out.line, chip_name, num_lines));
    gpiod_line* line = gpiod_chip_get_line(chip_, out.line);
    const int initial = out.initial_on != out.active_low ? 1 : 0;
    if (!line || gpiod_line_request_output(line, kConsumer, initial) != 0)
      return core::makeError(fmt::format("output '{}': cannot claim line {} of {}: {}", out.id, out.line, chip_name,
                                         errnoText(errno)));
    output_lines_.push_back(line);
  }
  return fds;
}

void LinuxBoard::closeLines() {
  // Closing the chip releases every line requested from it. Outputs keep
  // their level on most drivers, which is what we want (board.h).
  if (chip_) gpiod_chip_close(chip_);
  chip_ = nullptr;
  input_lines_.clear();
  input_fds_.clear();
  output_lines_.clear();
}

void LinuxBoard::onReadable(int fd) {
  for (size_t i = 0; i < input_fds_.size(); ++i) {
    if (input_fds_[i] != fd) continue;
    gpiod_line_event events[16];
    const int n = gpiod_line_event_read_fd_multiple(fd, events, 16);
    if (n < 0) {
      spdlog::warn("board: input '{}': reading its events failed: {}", config().inputs[i].id, errnoText(errno));
      return;
    }
    // Each edge goes through the debouncer in order; only the last level and
    // the time of the last edge matter for what it reports.
    for (int e = 0; e < n; ++e) setLevel(i, events[e].event_type == GPIOD_LINE_EVENT_RISING_EDGE);
    return;
  }
}

core::Result<void> LinuxBoard::driveOutput(size_t index, bool on) {
  if (index >= output_lines_.size()) return core::makeError("the output line is not claimed");
  const int value = on != config().outputs[index].active_low ? 1 : 0;
  if (gpiod_line_set_value(output_lines_[index], value) != 0)
    return core::makeError(fmt::format("output '{}': cannot set line {}: {}", config().outputs[index].id,
                                       config().outputs[index].line, errnoText(errno)));
  return {};
}

#else  // built without libgpiod: the watchdog and the temperature still work

core::Result<std::vector<int>> LinuxBoard::openLines() {
  if (config().inputs.empty() && config().outputs.empty()) return std::vector<int>{};
  return core::makeError(fmt::format("board.chip '{}': this vcgated was built without libgpiod (libgpiod-dev), so "
                                     "GPIO inputs and outputs are unavailable",
                                     config().chip));
}
void LinuxBoard::closeLines() {}
void LinuxBoard::onReadable(int) {}
core::Result<void> LinuxBoard::driveOutput(size_t, bool) { return core::makeError("built without libgpiod"); }

#endif

core::Result<void> LinuxBoard::openWatchdog() {
  return watchdog_.open(config().watchdog.device, config().watchdog.timeout_s);
}

core::Result<void> LinuxBoard::pingWatchdog() { return watchdog_.ping(); }

core::Result<void> LinuxBoard::closeWatchdog() { return watchdog_.close(); }

std::optional<double> LinuxBoard::temperatureC() const {
  if (!thermal_) return std::nullopt;
  return readTemperature(*thermal_);
}

}  // namespace vcgate::board
