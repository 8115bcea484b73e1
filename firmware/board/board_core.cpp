#include "firmware/board/board_core.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace vcgate::board {

BoardCore::BoardCore(BoardConfig config, core::Clock& clock)
    : config_(std::move(config)), clock_(clock), bank_(config_.inputs, clock) {
  for (const auto& o : config_.outputs) outputs_.push_back(OutputState{o.id, false, 0});
}

BoardCore::~BoardCore() {
  // Implementations have stopped already (see the header); this only catches a forgotten stop().
  if (thread_.joinable()) {
    stopping_ = true;
    wakeInputThread();
    thread_.join();
  }
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

core::Result<void> BoardCore::start(InputCallback on_change) {
  if (thread_.joinable()) return core::makeError("the board is already started");
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) return core::makeError(fmt::format("board: eventfd: {}", std::strerror(errno)));
  auto fds = openLines();
  if (!fds) {
    closeLines();
    ::close(wake_fd_);
    wake_fd_ = -1;
    return fds.error();
  }
  {
    std::lock_guard lock(mutex_);
    started_ = true;
    for (size_t i = 0; i < outputs_.size(); ++i) {
      const bool on = config_.outputs[i].initial_on;
      if (auto driven = driveOutput(i, on); !driven)
        spdlog::warn("board: output '{}': {}", outputs_[i].id, driven.error().message);
      outputs_[i].on = on;
    }
  }
  on_change_ = std::move(on_change);
  stopping_ = false;
  thread_ = std::thread([this, fds = std::move(*fds)] { run(fds); });
  return {};
}

void BoardCore::stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  wakeInputThread();
  thread_.join();
  {
    std::lock_guard lock(mutex_);
    started_ = false;
  }
  closeLines();
  ::close(wake_fd_);
  wake_fd_ = -1;
}

std::vector<InputState> BoardCore::inputs() const {
  std::lock_guard lock(mutex_);
  return bank_.states();
}

std::vector<OutputState> BoardCore::outputs() const {
  std::lock_guard lock(mutex_);
  return outputs_;
}

core::Result<void> BoardCore::setOutput(std::string_view id, bool on) {
  std::lock_guard lock(mutex_);
  for (size_t i = 0; i < outputs_.size(); ++i) {
    if (outputs_[i].id != id) continue;
    if (!started_) return core::makeError(fmt::format("output '{}': the board is not started", id));
    if (auto driven = driveOutput(i, on); !driven) return driven;
    if (outputs_[i].on != on) ++outputs_[i].changes;
    outputs_[i].on = on;
    return {};
  }
  return core::makeCodedError("unknown_output", fmt::format("no output '{}' on this board", id));
}

void BoardCore::setLevel(size_t input, bool high) {
  std::lock_guard lock(mutex_);
  bank_.setLevel(input, high);
}

void BoardCore::setActive(size_t input, bool active) {
  std::lock_guard lock(mutex_);
  bank_.setActive(input, active);
}

std::optional<size_t> BoardCore::findInput(std::string_view id) const {
  std::lock_guard lock(mutex_);
  return bank_.find(id);
}

void BoardCore::wakeInputThread() {
  if (wake_fd_ < 0) return;
  const uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
}

void BoardCore::run(std::vector<int> fds) {
  std::vector<pollfd> pfds;
  pfds.push_back(pollfd{wake_fd_, POLLIN, 0});
  for (int fd : fds) pfds.push_back(pollfd{fd, POLLIN | POLLPRI, 0});
  while (!stopping_) {
    int timeout;
    {
      std::lock_guard lock(mutex_);
      timeout = bank_.timeoutMs();
    }
    const int n = ::poll(pfds.data(), pfds.size(), timeout);
    if (n < 0 && errno != EINTR) {
      spdlog::error("board: poll failed: {}; inputs are no longer watched", std::strerror(errno));
      break;
    }
    if (n > 0) {
      if (pfds[0].revents) {
        uint64_t count;
        [[maybe_unused]] auto r = ::read(wake_fd_, &count, sizeof count);
      }
      for (size_t i = 1; i < pfds.size(); ++i) {
        const short rev = pfds[i].revents;
        if (rev & (POLLIN | POLLPRI)) {
          onReadable(pfds[i].fd);
        } else if (rev & (POLLERR | POLLNVAL | POLLHUP)) {
          // Never spin on a dead descriptor: stop watching it, say so once.
          spdlog::error("board: input descriptor {} failed (revents {:#x}); it is no longer watched", pfds[i].fd,
                        rev);
          pfds[i].fd = -1;  // poll() ignores negative descriptors
        }
      }
    }
    if (stopping_) break;
    std::vector<InputEvent> events;
    {
      std::lock_guard lock(mutex_);
      events = bank_.poll();
    }
    for (const auto& e : events) {
      spdlog::info("board: input '{}' {}", e.id, e.active ? "active" : "inactive");
      if (!on_change_) continue;
      try {
        on_change_(e);
      } catch (const std::exception& ex) {
        spdlog::error("board: the input handler threw: {}", ex.what());
      }
    }
  }
}

}  // namespace vcgate::board
