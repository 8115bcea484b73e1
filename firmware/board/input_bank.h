// Debounce and polarity of digital inputs, shared by every Board so that the
// simulated board debounces exactly like the real one. Pure logic on an
// injected clock: tests drive it with ManualClock.
//
// Debounce: a new level counts once the line has kept it for `debounce`
// (measured from the last edge); a bounce back to the old level before then
// cancels it. So bounces shorter than the debounce are ignored and a held
// change fires exactly once, `debounce` after its last edge.
//
// Thread rules: not synchronised; the owner (BoardCore) holds a mutex.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string_view>
#include <vector>

#include "firmware/board/board.h"
#include "firmware/board/board_config.h"
#include "gateway/core/clock.h"

namespace vcgate::board {

class Debouncer {
 public:
  explicit Debouncer(std::chrono::milliseconds debounce, bool initial = false);
  // A level observed at `now` (logical: true = active).
  void sample(bool level, core::TimePoint now);
  // The debounced change, once, when it is due at `now`.
  std::optional<bool> poll(core::TimePoint now);
  // When poll() next has something to say; nullopt when nothing is pending.
  std::optional<core::TimePoint> deadline() const;
  bool stable() const { return stable_; }
  bool raw() const { return raw_; }

 private:
  core::Duration debounce_;
  bool stable_;
  bool raw_;
  core::TimePoint last_edge_{};
};

class InputBank {
 public:
  InputBank(std::vector<InputConfig> inputs, core::Clock& clock);

  std::optional<size_t> find(std::string_view id) const;
  size_t size() const { return inputs_.size(); }
  const InputConfig& config(size_t index) const { return inputs_[index].config; }

  // The electrical level of an input (true = high), observed now.
  void setLevel(size_t index, bool high);
  // The logical state (true = active), observed now: the level active_low implies.
  void setActive(size_t index, bool active) { setLevel(index, active != inputs_[index].config.active_low); }

  // Debounced changes due now, in input order.
  std::vector<InputEvent> poll();
  // Milliseconds until the next poll() may have something (rounded up), -1 when nothing is pending.
  int timeoutMs() const;
  std::vector<InputState> states() const;

 private:
  struct Input {
    InputConfig config;
    Debouncer debouncer;
    bool level = false;
    int64_t edge_wall_us = 0;  // wall time of the last edge
    int64_t since_us = 0;
    uint64_t changes = 0;
  };
  std::vector<Input> inputs_;
  core::Clock& clock_;
};

}  // namespace vcgate::board
