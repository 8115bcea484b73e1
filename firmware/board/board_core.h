// BoardCore: what every Board shares — the input thread (poll() on the
// implementation's file descriptors, woken at debounce deadlines), the
// InputBank, output bookkeeping. An implementation supplies the hardware:
// openLines()/closeLines() on the owner's thread, onReadable() on the input
// thread, driveOutput() on any thread (under the board's mutex).
//
// Thread rules: as Board (board.h). Implementations must call stop() in their
// own destructor: closeLines() is virtual and cannot run from this one.
#pragma once

#include <atomic>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

#include "firmware/board/board.h"
#include "firmware/board/input_bank.h"

namespace vcgate::board {

class BoardCore : public Board {
 public:
  BoardCore(BoardConfig config, core::Clock& clock);
  ~BoardCore() override;
  BoardCore(const BoardCore&) = delete;
  BoardCore& operator=(const BoardCore&) = delete;

  core::Result<void> start(InputCallback on_change) override;
  void stop() override;
  std::vector<InputState> inputs() const override;
  std::vector<OutputState> outputs() const override;
  core::Result<void> setOutput(std::string_view id, bool on) override;

 protected:
  // Owner thread, from start(): claims the hardware, reports the inputs'
  // current levels with setLevel(), returns the descriptors to watch.
  virtual core::Result<std::vector<int>> openLines() = 0;
  // Owner thread: releases what openLines() claimed (after the input thread
  // has stopped, or when start() fails half-way).
  virtual void closeLines() = 0;
  // Input thread: `fd` is readable.
  virtual void onReadable(int fd) = 0;
  // Any thread, under the board's mutex, only while started.
  virtual core::Result<void> driveOutput(size_t index, bool on) = 0;

  // Any thread. From a thread other than the input thread, call
  // wakeInputThread() afterwards so the new debounce deadline is seen.
  void setLevel(size_t input, bool high);
  void setActive(size_t input, bool active);
  void wakeInputThread();
  std::optional<size_t> findInput(std::string_view id) const;

  const BoardConfig& config() const { return config_; }
  core::Clock& clock() const { return clock_; }

 private:
  void run(std::vector<int> fds);

  const BoardConfig config_;
  core::Clock& clock_;
  mutable std::mutex mutex_;
  InputBank bank_;                    // guarded by mutex_
  std::vector<OutputState> outputs_;  // guarded by mutex_
  bool started_ = false;              // guarded by mutex_
  InputCallback on_change_;
  int wake_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace vcgate::board
