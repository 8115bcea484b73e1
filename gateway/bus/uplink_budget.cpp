#include "gateway/bus/uplink_budget.h"

#include <algorithm>

namespace vcgate::bus {
namespace {

constexpr int64_t kWindowUs = std::chrono::duration_cast<std::chrono::microseconds>(UplinkBudget::kWindow).count();
// Better than the current mode only with this much headroom (no flapping at the edge).
constexpr double kUpgradeHeadroom = 0.9;

}  // namespace

std::string_view toString(UplinkMode mode) {
  switch (mode) {
    case UplinkMode::kFull: return "full";
    case UplinkMode::kKeyframes: return "keyframes";
    case UplinkMode::kHeld: return "held";
  }
  return "full";
}

void UplinkBudget::noteUnit(const std::string& stream, int64_t capture_us, size_t bytes, bool keyframe) {
  if (!limited()) return;
  auto it = streams_.find(stream);
  if (it == streams_.end()) it = streams_.emplace(stream, Stream{}).first;
  auto& samples = it->second.samples;
  samples.push_back({capture_us, static_cast<uint32_t>(std::min<size_t>(bytes, UINT32_MAX)), keyframe});
  const int64_t newest = std::max(capture_us, samples.front().capture_us);
  while (!samples.empty() && samples.front().capture_us <= newest - kWindowUs) samples.pop_front();
}

void UplinkBudget::setLevel(const std::string& stream, int level) {
  if (!limited()) return;
  auto it = streams_.find(stream);
  if (it == streams_.end()) it = streams_.emplace(stream, Stream{}).first;
  Stream& s = it->second;
  if (s.level == level) return;
  if (s.level == 0) s.order = next_order_++;
  if (level == 0) s.mode = UplinkMode::kFull;
  s.level = level;
  dirty_ = true;
}

void UplinkBudget::noteControl(size_t bytes) {
  if (!limited()) return;
  const auto now = clock_.now();
  control_.emplace_back(now, static_cast<uint32_t>(std::min<size_t>(bytes, UINT32_MAX)));
  trimControl(now);
}

void UplinkBudget::trimControl(core::TimePoint now) const {
  while (!control_.empty() && control_.front().first <= now - kWindow) control_.pop_front();
}

double UplinkBudget::controlBps() const {
  trimControl(clock_.now());
  uint64_t bytes = 0;
  for (const auto& [_, b] : control_) bytes += b;
  return static_cast<double>(bytes) * 8 / std::chrono::duration<double>(kWindow).count();
}

namespace {
// Bits per second over the samples' span: from the oldest to the newest plus
// one frame interval (n samples stand for n intervals). One sample alone says
// nothing about a rate: it is counted over a second.
template <class Samples>
double rateOf(const Samples& samples, bool keyframes_only) {
  if (samples.empty()) return 0;
  int64_t oldest = samples.front().capture_us, newest = oldest;
  uint64_t bytes = 0;
  for (const auto& s : samples) {
    oldest = std::min(oldest, s.capture_us);
    newest = std::max(newest, s.capture_us);
    if (!keyframes_only || s.keyframe) bytes += s.bytes;
  }
  const size_t n = samples.size();
  double span_s = 1.0;
  if (n >= 2 && newest > oldest)
    span_s = static_cast<double>(newest - oldest) / 1e6 * static_cast<double>(n) / static_cast<double>(n - 1);
  span_s = std::min(span_s, std::chrono::duration<double>(UplinkBudget::kWindow).count());
  return static_cast<double>(bytes) * 8 / span_s;
}
}  // namespace

double UplinkBudget::fullBps(const Stream& s) { return rateOf(s.samples, false); }
double UplinkBudget::keyframeBps(const Stream& s) { return rateOf(s.samples, true); }

void UplinkBudget::reevaluate() {
  std::vector<Stream*> order;
  order.reserve(streams_.size());
  for (auto& [_, s] : streams_)
    if (s.level > 0) order.push_back(&s);
  std::sort(order.begin(), order.end(), [](const Stream* a, const Stream* b) {
    return a->level != b->level ? a->level < b->level : a->order < b->order;
  });
  double left = static_cast<double>(budget_bps_) - controlBps();
  for (Stream* s : order) {
    const double full = fullBps(*s);
    const double key = keyframeBps(*s);
    auto fits = [&](double demand, UplinkMode mode) {
      // A better mode than the current one needs headroom.
      const bool upgrade = static_cast<int>(mode) < static_cast<int>(s->mode);
      return demand <= (upgrade ? left * kUpgradeHeadroom : left);
    };
    if (fits(full, UplinkMode::kFull)) {
      s->mode = UplinkMode::kFull;
      left -= full;
    } else if (fits(key, UplinkMode::kKeyframes) || s->level <= 1) {
      s->mode = UplinkMode::kKeyframes;  // level 1 is never held
      left = std::max(0.0, left - key);
    } else {
      s->mode = UplinkMode::kHeld;
    }
  }
  dirty_ = false;
  next_evaluation_ = clock_.now() + kReevaluate;
}

UplinkMode UplinkBudget::mode(const std::string& stream) {
  if (!limited()) return UplinkMode::kFull;
  if (dirty_ || clock_.now() >= next_evaluation_) reevaluate();
  auto it = streams_.find(stream);
  return it == streams_.end() || it->second.level == 0 ? UplinkMode::kFull : it->second.mode;
}

std::vector<UplinkBudget::StreamDemand> UplinkBudget::demand() const {
  std::vector<StreamDemand> out;
  for (const auto& [name, s] : streams_)
    if (s.level > 0) out.push_back({name, s.level, fullBps(s), keyframeBps(s), s.mode});
  return out;
}

double UplinkBudget::totalDemandBps() const {
  double total = controlBps();
  for (const auto& [_, s] : streams_)
    if (s.level > 0) total += fullBps(s);
  return total;
}

}  // namespace vcgate::bus
