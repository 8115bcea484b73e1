#include "firmware/board/simulated_board.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace vcgate::board {

namespace {

std::vector<std::string_view> words(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t' && line[j] != '\r') ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

std::optional<bool> parseLevel(std::string_view w) {
  if (w == "1" || w == "high") return true;
  if (w == "0" || w == "low") return false;
  return std::nullopt;
}

}  // namespace

SimulatedBoard::SimulatedBoard(BoardConfig config, core::Clock& clock)
    : BoardCore(std::move(config), clock), temperature_(this->config().simulated_temperature_c) {}

SimulatedBoard::~SimulatedBoard() { stop(); }

core::Result<std::vector<int>> SimulatedBoard::openLines() {
  const std::string& path = config().control_path;
  if (path.empty()) return core::makeError("simulated board: board.control_path is empty");
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (!S_ISFIFO(st.st_mode))
      return core::makeError(fmt::format("simulated board: {} exists and is not a FIFO; remove it or choose "
                                         "another board.control_path",
                                         path));
  } else {
    // Owner and group may drive the board (the demo's user, the test).
    if (::mkfifo(path.c_str(), 0660) != 0)
      return core::makeError(fmt::format("simulated board: cannot create the FIFO {}: {}", path, std::strerror(errno)));
    created_fifo_ = true;
  }
  fifo_fd_ = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fifo_fd_ < 0)
    return core::makeError(fmt::format("simulated board: cannot open {}: {}", path, std::strerror(errno)));
  fifo_keepalive_fd_ = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fifo_keepalive_fd_ < 0)
    return core::makeError(fmt::format("simulated board: cannot open {}: {}", path, std::strerror(errno)));
  // Inputs start inactive at their inactive level (InputBank's initial state),
  // or where commands before start() put them.
  return std::vector<int>{fifo_fd_};
}

void SimulatedBoard::closeLines() {
  if (fifo_fd_ >= 0) ::close(fifo_fd_);
  if (fifo_keepalive_fd_ >= 0) ::close(fifo_keepalive_fd_);
  fifo_fd_ = fifo_keepalive_fd_ = -1;
  if (created_fifo_) ::unlink(config().control_path.c_str());
  created_fifo_ = false;
  partial_.clear();
}

void SimulatedBoard::onReadable(int fd) {
  char buffer[4096];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) break;  // EAGAIN: all read (our own writer keeps EOF away)
    partial_.append(buffer, static_cast<size_t>(n));
  }
  size_t start = 0;
  for (size_t nl = partial_.find('\n'); nl != std::string::npos; nl = partial_.find('\n', start)) {
    std::string_view line(partial_.data() + start, nl - start);
    if (auto applied = apply(line); !applied) {
      ++command_errors_;
      spdlog::warn("simulated board: {}", applied.error().message);
    }
    start = nl + 1;
  }
  partial_.erase(0, start);
  if (partial_.size() > 4096) partial_.clear();  // a writer that never ends its line
}

core::Result<void> SimulatedBoard::command(std::string_view line) {
  auto applied = apply(line);
  if (!applied) ++command_errors_;
  wakeInputThread();
  return applied;
}

core::Result<void> SimulatedBoard::apply(std::string_view line) {
  const auto w = words(line);
  if (w.empty() || w[0].front() == '#') return {};
  auto input = [&](std::string_view id) -> core::Result<size_t> {
    if (auto index = findInput(id)) return *index;
    return core::makeError(fmt::format("no input '{}' on this board", id));
  };
  if (w[0] == "input" && w.size() == 3) {
    auto index = input(w[1]);
    if (!index) return index.error();
    auto level = parseLevel(w[2]);
    if (!level) return core::makeError(fmt::format("'{}': the level is 1, 0, high or low", line));
    setLevel(*index, *level);
    return {};
  }
  if ((w[0] == "press" || w[0] == "release") && w.size() == 2) {
    auto index = input(w[1]);
    if (!index) return index.error();
    setActive(*index, w[0] == "press");
    return {};
  }
  if (w[0] == "temp" && w.size() == 2) {
    if (w[1] == "none") {
      setTemperature(std::nullopt);
      return {};
    }
    double c = 0;
    auto [ptr, err] = std::from_chars(w[1].data(), w[1].data() + w[1].size(), c);
    if (err != std::errc() || ptr != w[1].data() + w[1].size() || !std::isfinite(c))
      return core::makeError(fmt::format("'{}': the temperature is a number of degrees Celsius or 'none'", line));
    setTemperature(c);
    return {};
  }
  return core::makeError(fmt::format("unknown command '{}' (input <id> 1|0, press <id>, release <id>, temp <c>|none)",
                                     line));
}

core::Result<void> SimulatedBoard::driveOutput(size_t index, bool on) {
  spdlog::info("simulated board: output '{}' {}", config().outputs[index].id, on ? "on" : "off");
  return {};
}

void SimulatedBoard::setTemperature(std::optional<double> celsius) {
  std::lock_guard lock(sim_mutex_);
  temperature_ = celsius;
}

std::optional<double> SimulatedBoard::temperatureC() const {
  std::lock_guard lock(sim_mutex_);
  return temperature_;
}

core::Result<void> SimulatedBoard::openWatchdog() {
  std::lock_guard lock(sim_mutex_);
  if (watchdog_.open) return core::makeError("watchdog (simulated) is already open");
  watchdog_.open = true;
  ++watchdog_.opens;
  return {};
}

core::Result<void> SimulatedBoard::pingWatchdog() {
  std::lock_guard lock(sim_mutex_);
  if (!watchdog_.open) return core::makeError("the watchdog is not open");
  ++watchdog_.pings;
  return {};
}

core::Result<void> SimulatedBoard::closeWatchdog() {
  std::lock_guard lock(sim_mutex_);
  if (!watchdog_.open) return {};
  watchdog_.open = false;
  ++watchdog_.magic_closes;
  return {};
}

SimulatedBoard::WatchdogCounters SimulatedBoard::watchdogCounters() const {
  std::lock_guard lock(sim_mutex_);
  return watchdog_;
}

}  // namespace vcgate::board
