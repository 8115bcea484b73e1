#include "gateway/analytics/frame_analyzer.h"

#include <algorithm>
#include <cmath>

namespace vcgate::analytics {

namespace {

int64_t toMicros(double seconds) { return static_cast<int64_t>(std::llround(std::max(0.0, seconds) * 1e6)); }

// Weight of a new observation for an exponential moving average with time
// constant tau_s after dt_s: the same adaptation speed whatever the frame rate.
float emaWeight(double dt_s, double tau_s) {
  if (tau_s <= 0) return 1.0f;
  return static_cast<float>(1.0 - std::exp(-std::max(0.0, dt_s) / tau_s));
}

constexpr int kBaselineFrames = 3;  // sharpness baseline: mean of the first frames judged

}  // namespace

std::string_view toString(EventKind kind) {
  switch (kind) {
    case EventKind::kMotion: return "motion";
    case EventKind::kBlackout: return "blackout";
    case EventKind::kSceneChange: return "scene_change";
    case EventKind::kDefocus: return "defocus";
  }
  return "unknown";
}

std::optional<EventKind> parseEventKind(std::string_view name) {
  for (EventKind k : {EventKind::kMotion, EventKind::kBlackout, EventKind::kSceneChange, EventKind::kDefocus})
    if (toString(k) == name) return k;
  return std::nullopt;
}

// --- Persistence ---

Persistence::Persistence(double min_duration_s, double hold_s)
    : min_duration_us_(toMicros(min_duration_s)), hold_us_(toMicros(hold_s)) {}

Persistence::Change Persistence::update(bool condition, int64_t t_us, double score) {
  if (condition) {
    if (!since_us_) {
      since_us_ = t_us;
      peak_ = score;
    }
    peak_ = std::max(peak_, score);
    last_true_us_ = t_us;
    if (!active_ && t_us - *since_us_ >= min_duration_us_) {
      active_ = true;
      return Change::kStarted;
    }
    return Change::kNone;
  }
  if (!active_) {
    since_us_.reset();  // "continuous": one quiet frame restarts the minimum duration
    return Change::kNone;
  }
  if (t_us - last_true_us_ >= hold_us_) {
    active_ = false;
    since_us_.reset();
    return Change::kEnded;
  }
  return Change::kNone;
}

bool Persistence::forceEnd() {
  since_us_.reset();
  if (!active_) return false;
  active_ = false;
  return true;
}

// --- pure helpers ---

FrameStats frameStats(const GreyFrame& frame) {
  const size_t n = frame.pixels.size();
  if (n == 0) return {};
  uint64_t sum = 0;
  uint64_t sum_sq = 0;
  for (uint8_t p : frame.pixels) {
    sum += p;
    sum_sq += static_cast<uint64_t>(p) * p;
  }
  const double mean = static_cast<double>(sum) / n;
  const double var = std::max(0.0, static_cast<double>(sum_sq) / n - mean * mean);
  return {mean, std::sqrt(var)};
}

double laplacianVariance(const GreyFrame& frame) {
  const int w = frame.width;
  const int h = frame.height;
  if (w < 3 || h < 3 || frame.pixels.size() != static_cast<size_t>(w) * h) return 0;
  const uint8_t* p = frame.pixels.data();
  int64_t sum = 0;
  int64_t sum_sq = 0;
  for (int y = 1; y < h - 1; ++y) {
    const uint8_t* row = p + static_cast<size_t>(y) * w;
    for (int x = 1; x < w - 1; ++x) {
      const int l = 4 * row[x] - row[x - 1] - row[x + 1] - row[x - w] - row[x + w];
      sum += l;
      sum_sq += static_cast<int64_t>(l) * l;
    }
  }
  const double n = static_cast<double>(w - 2) * (h - 2);
  const double mean = sum / n;
  return std::max(0.0, sum_sq / n - mean * mean);
}

std::vector<uint8_t> rasterizePolygon(const std::vector<Point>& polygon, int width, int height) {
  std::vector<uint8_t> mask(static_cast<size_t>(std::max(0, width)) * std::max(0, height), 0);
  const size_t n = polygon.size();
  if (n < 3) return mask;
  for (int y = 0; y < height; ++y) {
    const double py = (y + 0.5) / height;
    for (int x = 0; x < width; ++x) {
      const double px = (x + 0.5) / width;
      bool inside = false;
      for (size_t i = 0, j = n - 1; i < n; j = i++) {
        const Point& a = polygon[i];
        const Point& b = polygon[j];
        if ((a.y > py) != (b.y > py) && px < (b.x - a.x) * (py - a.y) / (b.y - a.y) + a.x) inside = !inside;
      }
      mask[static_cast<size_t>(y) * width + x] = inside ? 1 : 0;
    }
  }
  return mask;
}

// --- FrameAnalyzer ---

FrameAnalyzer::FrameAnalyzer(CameraAnalyticsConfig config)
    : config_(std::move(config)),
      blackout_(config_.tamper.blackout_min_duration_s, config_.tamper.hold_s),
      scene_change_(config_.tamper.scene_change_min_duration_s, config_.tamper.hold_s),
      defocus_(config_.tamper.defocus_min_duration_s, config_.tamper.hold_s) {
  for (const auto& z : config_.zones)
    zones_.push_back(Zone{z, {}, pixelThreshold(z.sensitivity), Persistence(z.min_duration_s, z.hold_s)});
  last_.zone_fraction.assign(zones_.size(), 0.0);
}

AnalyticsEvent FrameAnalyzer::event(EventKind kind, const std::string& zone, bool active, double score,
                                    int64_t t) const {
  AnalyticsEvent e;
  e.camera = config_.camera;
  e.kind = kind;
  e.zone = zone;
  e.active = active;
  e.score = std::clamp(score, 0.0, 1.0);
  e.capture_us = t;
  return e;
}

void FrameAnalyzer::emit(Persistence::Change change, const Persistence& p, EventKind kind, const std::string& zone,
                         double score, int64_t t, std::vector<AnalyticsEvent>& out) const {
  if (change == Persistence::Change::kStarted) out.push_back(event(kind, zone, true, score, t));
  if (change == Persistence::Change::kEnded) out.push_back(event(kind, zone, false, p.peak(), t));
}

void FrameAnalyzer::seedBackground(const GreyFrame& frame) {
  background_.assign(frame.pixels.begin(), frame.pixels.end());
  background_mean_ = frameStats(frame).mean;
}

std::vector<AnalyticsEvent> FrameAnalyzer::process(const GreyFrame& frame) {
  std::vector<AnalyticsEvent> out;
  const size_t n = static_cast<size_t>(std::max(0, frame.width)) * std::max(0, frame.height);
  if (n == 0 || frame.pixels.size() != n) return out;
  const int64_t t = frame.capture_us;
  const TamperConfig& tc = config_.tamper;
  last_.stats = frameStats(frame);
  last_.sharpness = laplacianVariance(frame);

  if (background_.size() != n) {
    // First frame, or the decoder changed size: learn from scratch.
    for (Zone& z : zones_) {
      const auto mask = rasterizePolygon(z.config.polygon, frame.width, frame.height);
      z.pixels.clear();
      for (size_t i = 0; i < mask.size(); ++i)
        if (mask[i]) z.pixels.push_back(static_cast<uint32_t>(i));
    }
    seedBackground(frame);
    diff_.assign(n, 0.0f);
    last_capture_us_ = t;
    return out;
  }
  const int64_t step_us = std::max<int64_t>(0, t - last_capture_us_);
  const double dt_s = step_us / 1e6;
  last_capture_us_ = t;
  timeline_us_ += step_us;
  const int64_t now = timeline_us_;  // for the persistence timers; events carry t

  // Blackout first: a dark frame says nothing about motion or focus.
  const bool dark =
      tc.blackout && (last_.stats.mean <= tc.blackout_max_mean || last_.stats.stddev <= tc.blackout_max_stddev);
  emit(blackout_.update(dark, now, 1.0 - last_.stats.mean / 255.0), blackout_, EventKind::kBlackout, {},
       1.0 - last_.stats.mean / 255.0, t, out);

  // Difference from the background, with the frame's overall brightness shift
  // taken out (auto exposure, a cloud): that is not motion.
  const float shift = static_cast<float>(last_.stats.mean - background_mean_);
  const float scene_threshold = static_cast<float>(tc.scene_change_threshold);
  size_t changed = 0;
  for (size_t i = 0; i < n; ++i) {
    const float d = std::fabs(static_cast<float>(frame.pixels[i]) - background_[i] - shift);
    diff_[i] = d;
    changed += d > scene_threshold ? 1 : 0;
  }
  last_.changed_fraction = static_cast<double>(changed) / n;

  const bool whole = !dark && tc.scene_change && last_.changed_fraction >= tc.scene_change_fraction;
  const auto scene = scene_change_.update(whole, now, last_.changed_fraction);
  emit(scene, scene_change_, EventKind::kSceneChange, {}, last_.changed_fraction, t, out);

  for (size_t zi = 0; zi < zones_.size(); ++zi) {
    Zone& z = zones_[zi];
    size_t moving = 0;
    const float threshold = static_cast<float>(z.threshold);
    for (uint32_t i : z.pixels) moving += diff_[i] > threshold ? 1 : 0;
    const double fraction = z.pixels.empty() ? 0.0 : static_cast<double>(moving) / z.pixels.size();
    last_.zone_fraction[zi] = fraction;
    const bool motion = !dark && !whole && !z.pixels.empty() && fraction >= z.config.min_area;
    emit(z.state.update(motion, now, fraction), z.state, EventKind::kMotion, z.config.name, fraction, t, out);
  }

  if (!dark && !whole) {
    if (baseline_ <= 0) {
      baseline_sum_ += last_.sharpness;
      if (++baseline_frames_ >= kBaselineFrames) baseline_ = std::max(1e-6, baseline_sum_ / baseline_frames_);
    }
    if (baseline_ > 0 && tc.defocus) {
      const bool judged = baseline_ >= tc.defocus_min_baseline;
      const bool blurred = judged && last_.sharpness < tc.defocus_ratio * baseline_;
      const double loss = 1.0 - last_.sharpness / baseline_;
      emit(defocus_.update(blurred, now, loss), defocus_, EventKind::kDefocus, {}, loss, t, out);
      // Follow slow changes of the scene (day, night), never the blur itself.
      if (!blurred && !defocus_.active())
        baseline_ += emaWeight(dt_s, tc.defocus_learn_s) * (last_.sharpness - baseline_);
    }
  }
  last_.sharpness_baseline = baseline_;

  if (scene == Persistence::Change::kStarted) {
    // The camera looks at something else now: learn it afresh, including its sharpness.
    seedBackground(frame);
    baseline_ = 0;
    baseline_sum_ = 0;
    baseline_frames_ = 0;
  } else if (!dark) {
    // A covered lens must not teach the background black: when it is uncovered
    // the scene is the one from before.
    const float a = emaWeight(dt_s, config_.background_s);
    double sum = 0;
    for (size_t i = 0; i < n; ++i) {
      background_[i] += a * (static_cast<float>(frame.pixels[i]) - background_[i]);
      sum += background_[i];
    }
    background_mean_ = sum / n;
  }
  return out;
}

std::vector<AnalyticsEvent> FrameAnalyzer::endAll(int64_t now_us) {
  std::vector<AnalyticsEvent> out;
  for (Zone& z : zones_)
    if (z.state.forceEnd()) out.push_back(event(EventKind::kMotion, z.config.name, false, z.state.peak(), now_us));
  if (blackout_.forceEnd()) out.push_back(event(EventKind::kBlackout, {}, false, blackout_.peak(), now_us));
  if (scene_change_.forceEnd())
    out.push_back(event(EventKind::kSceneChange, {}, false, scene_change_.peak(), now_us));
  if (defocus_.forceEnd()) out.push_back(event(EventKind::kDefocus, {}, false, defocus_.peak(), now_us));
  return out;
}

std::vector<AnalyticsEvent> FrameAnalyzer::reset(int64_t now_us) {
  auto out = endAll(now_us);
  background_.clear();
  diff_.clear();
  background_mean_ = 0;
  baseline_ = 0;
  baseline_sum_ = 0;
  baseline_frames_ = 0;
  last_ = Measurements{};
  last_.zone_fraction.assign(zones_.size(), 0.0);
  return out;
}

std::vector<std::string> FrameAnalyzer::activeConditions() const {
  std::vector<std::string> names;
  for (const Zone& z : zones_)
    if (z.state.active()) names.push_back("motion:" + z.config.name);
  if (blackout_.active()) names.emplace_back("blackout");
  if (scene_change_.active()) names.emplace_back("scene_change");
  if (defocus_.active()) names.emplace_back("defocus");
  return names;
}

}  // namespace vcgate::analytics
