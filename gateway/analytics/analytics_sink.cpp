#include "gateway/analytics/analytics_sink.h"

#include <chrono>
#include <cmath>
#include <utility>

#include <spdlog/spdlog.h>

#include "gateway/analytics/frame_analyzer.h"
#include "gateway/analytics/keyframe_decoder.h"
#include "gateway/core/realtime.h"

namespace vcgate::analytics {

namespace {

constexpr auto kDecoderRetry = std::chrono::seconds(30);  // after a decoder could not be created
constexpr auto kIdleWake = std::chrono::milliseconds(500);  // stale checks when no keyframe arrives

int64_t minGapUs(const CameraAnalyticsConfig& c) { return static_cast<int64_t>(std::llround(c.interval_s * 0.9e6)); }

uint64_t microsSince(std::chrono::steady_clock::time_point t0) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count());
}

}  // namespace

struct AnalyticsSink::Camera {
  explicit Camera(const CameraAnalyticsConfig& c) : config(c), analyzer(c) {}
  CameraAnalyticsConfig config;
  FrameAnalyzer analyzer;
  std::unique_ptr<KeyframeDecoder> decoder;
  core::TimePoint retry_decoder_at{};
  core::TimePoint last_analysed{};
  bool analysed_any = false;
  // Worker-side counters, copied into the slot's stats after each keyframe.
  uint64_t frames_analysed = 0;
  uint64_t decode_failures = 0;
  uint64_t decode_us = 0;
  uint64_t detect_us = 0;
  int64_t last_capture_us = 0;
  std::string last_error;
};

AnalyticsSink::AnalyticsSink(AnalyticsConfig config, EventCallback on_event, core::Clock& clock)
    : on_event_(std::move(on_event)), clock_(clock) {
  reconfigure(std::move(config));
}

AnalyticsSink::~AnalyticsSink() { stop(); }

void AnalyticsSink::start() {
  std::lock_guard lock(mutex_);
  if (worker_.joinable() || stopping_) return;
  worker_ = std::thread([this] {
    core::nameThisThread("vcg-analytics");
    run();
  });
}

void AnalyticsSink::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
  // The worker's GStreamer pipelines go with it (it is gone: nobody else touches them).
  cameras_.clear();
}

void AnalyticsSink::reconfigure(AnalyticsConfig config) {
  {
    std::lock_guard lock(mutex_);
    std::map<std::string, Slot, std::less<>> slots;
    for (const auto& c : config.cameras) {
      Slot slot;
      if (auto it = slots_.find(c.camera); it != slots_.end()) slot = std::move(it->second);
      slot.enabled = c.enabled;
      slot.min_gap_us = minGapUs(c);
      slot.stats.camera = c.camera;
      slot.stats.enabled = c.enabled;
      if (!c.enabled) slot.pending.reset();
      slots.emplace(c.camera, std::move(slot));
    }
    slots_ = std::move(slots);
    pending_config_ = std::move(config);
  }
  wake_.notify_all();
}

void AnalyticsSink::onAccessUnit(const media::CameraId& camera, const media::AccessUnitPtr& unit) {
  if (!unit->keyframe) return;  // the common case: no lock, nothing
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    auto it = slots_.find(*camera);
    if (it == slots_.end()) return;
    Slot& slot = it->second;
    ++slot.stats.keyframes_seen;
    if (!slot.enabled) return;
    if (slot.has_taken && unit->capture_us - slot.last_taken_us < slot.min_gap_us &&
        unit->capture_us >= slot.last_taken_us)  // a clock step back must not stop analytics
      return;
    if (slot.pending) ++slot.stats.keyframes_replaced;
    slot.pending = unit;
    slot.last_taken_us = unit->capture_us;
    slot.has_taken = true;
    ++slot.stats.keyframes_taken;
    wake = true;
  }
  if (wake) wake_.notify_one();
}

std::vector<CameraAnalyticsStats> AnalyticsSink::stats() const {
  std::lock_guard lock(mutex_);
  std::vector<CameraAnalyticsStats> out;
  out.reserve(slots_.size());
  for (const auto& [name, slot] : slots_) out.push_back(slot.stats);
  return out;
}

void AnalyticsSink::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait_for(lock, kIdleWake, [this] {
      if (stopping_ || pending_config_) return true;
      for (const auto& [name, slot] : slots_)
        if (slot.pending) return true;
      return false;
    });
    if (stopping_) break;
    std::optional<AnalyticsConfig> config = std::exchange(pending_config_, std::nullopt);
    // One keyframe per camera per turn: a camera with a fast GOP cannot starve the others.
    std::vector<std::pair<std::string, media::AccessUnitPtr>> work;
    for (auto& [name, slot] : slots_)
      if (slot.pending) work.emplace_back(name, std::move(slot.pending));
    lock.unlock();

    if (config) applyConfig(*config);
    for (auto& [name, unit] : work) {
      auto it = cameras_.find(name);
      if (it != cameras_.end() && it->second->config.enabled) process(*it->second, unit);
    }
    // Video stopped on a camera with active events: end them, so no alarm hangs on forever.
    const auto now = clock_.now();
    for (auto& [name, camera] : cameras_) {
      if (!camera->analysed_any || now - camera->last_analysed < std::chrono::duration<double>(stale_after_s_))
        continue;
      auto events = camera->analyzer.endAll(clock_.wallMicros());
      if (!events.empty()) {
        spdlog::info("analytics {}: no analysed frame for {:.0f} s, active events ended", name, stale_after_s_);
        publishStats(*camera);
        deliver(events);
      }
    }
    lock.lock();
  }
}

void AnalyticsSink::applyConfig(const AnalyticsConfig& config) {
  stale_after_s_ = config.stale_after_s;
  std::map<std::string, std::unique_ptr<Camera>> next;
  std::vector<AnalyticsEvent> ended;
  const int64_t now_us = clock_.wallMicros();
  for (const auto& c : config.cameras) {
    auto it = cameras_.find(c.camera);
    if (it != cameras_.end() && it->second->config == c) {
      next.emplace(c.camera, std::move(it->second));
      cameras_.erase(it);
      continue;
    }
    auto camera = std::make_unique<Camera>(c);
    if (it != cameras_.end()) {
      auto events = it->second->analyzer.endAll(now_us);
      ended.insert(ended.end(), events.begin(), events.end());
      // Keep the counters and, when the frame size is the same, the decoder.
      Camera& old = *it->second;
      camera->frames_analysed = old.frames_analysed;
      camera->decode_failures = old.decode_failures;
      camera->decode_us = old.decode_us;
      camera->detect_us = old.detect_us;
      camera->last_capture_us = old.last_capture_us;
      if (old.decoder && old.config.width == c.width && old.config.height == c.height)
        camera->decoder = std::move(old.decoder);
      cameras_.erase(it);
    }
    next.emplace(c.camera, std::move(camera));
  }
  for (auto& [name, camera] : cameras_) {  // removed from the config
    auto events = camera->analyzer.endAll(now_us);
    ended.insert(ended.end(), events.begin(), events.end());
  }
  cameras_ = std::move(next);
  for (const auto& [name, camera] : cameras_) publishStats(*camera);
  deliver(ended);
}

void AnalyticsSink::process(Camera& camera, const media::AccessUnitPtr& unit) {
  if (!camera.decoder || camera.decoder->codec() != unit->codec) {
    camera.decoder.reset();
    if (clock_.now() < camera.retry_decoder_at) return;
    auto created = KeyframeDecoder::create(unit->codec, camera.config.width, camera.config.height);
    if (!created) {
      if (camera.last_error != created.error().message)
        spdlog::warn("analytics {}: {}", camera.config.camera, created.error().message);
      camera.last_error = created.error().message;
      ++camera.decode_failures;
      camera.retry_decoder_at = clock_.now() + kDecoderRetry;
      publishStats(camera);
      return;
    }
    camera.decoder = std::move(*created);
  }

  const auto t0 = std::chrono::steady_clock::now();
  auto decoded = camera.decoder->decode(*unit);
  camera.decode_us += microsSince(t0);
  if (!decoded) {
    if (camera.last_error != decoded.error().message)
      spdlog::warn("analytics {}: {}; the decoder is rebuilt at the next keyframe", camera.config.camera,
                   decoded.error().message);
    camera.last_error = decoded.error().message;
    ++camera.decode_failures;
    camera.decoder.reset();
    publishStats(camera);
    return;
  }
  if (!decoded->has_value()) return;  // no picture for this unit (yet)

  const auto t1 = std::chrono::steady_clock::now();
  auto events = camera.analyzer.process(**decoded);
  camera.detect_us += microsSince(t1);
  ++camera.frames_analysed;
  camera.last_capture_us = (*decoded)->capture_us;
  camera.last_analysed = clock_.now();
  camera.analysed_any = true;
  camera.last_error.clear();
  publishStats(camera);
  deliver(events);
}

void AnalyticsSink::publishStats(const Camera& camera) {
  auto active = camera.analyzer.activeConditions();
  std::lock_guard lock(mutex_);
  auto it = slots_.find(camera.config.camera);
  if (it == slots_.end()) return;
  CameraAnalyticsStats& s = it->second.stats;
  s.frames_analysed = camera.frames_analysed;
  s.decode_failures = camera.decode_failures;
  s.decode_us = camera.decode_us;
  s.detect_us = camera.detect_us;
  s.last_capture_us = camera.last_capture_us;
  s.last_error = camera.last_error;
  s.active = std::move(active);
}

void AnalyticsSink::deliver(const std::vector<AnalyticsEvent>& events) {
  if (!on_event_) return;
  for (const auto& e : events) {
    try {
      on_event_(e);
    } catch (const std::exception& ex) {
      spdlog::error("analytics {}: the event handler threw: {}", e.camera, ex.what());
    } catch (...) {
      spdlog::error("analytics {}: the event handler threw", e.camera);
    }
  }
}

}  // namespace vcgate::analytics
