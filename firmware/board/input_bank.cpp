#include "firmware/board/input_bank.h"

#include <algorithm>

namespace vcgate::board {

Debouncer::Debouncer(std::chrono::milliseconds debounce, bool initial)
    : debounce_(std::chrono::duration_cast<core::Duration>(std::max(debounce, std::chrono::milliseconds(0)))),
      stable_(initial),
      raw_(initial) {}

void Debouncer::sample(bool level, core::TimePoint now) {
  if (level == raw_) return;
  raw_ = level;
  last_edge_ = now;
}

std::optional<bool> Debouncer::poll(core::TimePoint now) {
  if (raw_ == stable_ || now - last_edge_ < debounce_) return std::nullopt;
  stable_ = raw_;
  return stable_;
}

std::optional<core::TimePoint> Debouncer::deadline() const {
  if (raw_ == stable_) return std::nullopt;
  return last_edge_ + debounce_;
}

InputBank::InputBank(std::vector<InputConfig> inputs, core::Clock& clock) : clock_(clock) {
  inputs_.reserve(inputs.size());
  for (auto& c : inputs) {
    // Until a level is read, the input is inactive, at its inactive level.
    const bool inactive_level = c.active_low;
    const auto debounce = c.debounce;
    inputs_.push_back(Input{std::move(c), Debouncer(debounce, false), inactive_level, 0, 0, 0});
  }
}

std::optional<size_t> InputBank::find(std::string_view id) const {
  for (size_t i = 0; i < inputs_.size(); ++i)
    if (inputs_[i].config.id == id) return i;
  return std::nullopt;
}

void InputBank::setLevel(size_t index, bool high) {
  Input& in = inputs_.at(index);
  const bool active = high != in.config.active_low;
  if (active != in.debouncer.raw()) in.edge_wall_us = clock_.wallMicros();
  in.level = high;
  in.debouncer.sample(active, clock_.now());
}

std::vector<InputEvent> InputBank::poll() {
  std::vector<InputEvent> events;
  const auto now = clock_.now();
  for (Input& in : inputs_) {
    if (auto changed = in.debouncer.poll(now)) {
      in.since_us = in.edge_wall_us;
      ++in.changes;
      events.push_back(InputEvent{in.config.id, *changed, in.edge_wall_us});
    }
  }
  return events;
}

int InputBank::timeoutMs() const {
  std::optional<core::TimePoint> next;
  for (const Input& in : inputs_)
    if (auto d = in.debouncer.deadline(); d && (!next || *d < *next)) next = d;
  if (!next) return -1;
  const auto left = *next - clock_.now();
  if (left <= core::Duration::zero()) return 0;
  return static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(left).count());
}

std::vector<InputState> InputBank::states() const {
  std::vector<InputState> out;
  out.reserve(inputs_.size());
  for (const Input& in : inputs_)
    out.push_back(InputState{in.config.id, in.debouncer.stable(), in.level, in.since_us, in.changes});
  return out;
}

}  // namespace vcgate::board
