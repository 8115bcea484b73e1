// FrameAnalyzer: every detector of one camera, run on its small grey frames in
// capture order. Pure computation: no threads, no I/O, no clock; time is the
// frames' capture_us, so tests drive it with synthetic frames and made-up times.
//
//   background  per-pixel exponential moving average of the frames, time
//               constant background_s; frozen while the frame is blacked out,
//               re-seeded from the frame when a scene change starts.
//   motion      per zone: pixels differing from the background by more than
//               pixelThreshold(sensitivity), after removing the frame's overall
//               brightness shift; fraction of the zone >= min_area.
//   blackout    mean <= blackout_max_mean or standard deviation <= blackout_max_stddev.
//   scene_change  fraction of the frame differing from the background by more
//               than scene_change_threshold >= scene_change_fraction.
//   defocus     variance of the 4-neighbour Laplacian < defocus_ratio x baseline;
//               the baseline is learned from the first frames and then follows
//               slowly (defocus_learn_s) while the image is judged sharp.
// Motion and defocus are not judged on frames that are blacked out or changed
// as a whole (those are tamper, not motion), nor is scene change on a black frame.
//
// Durations (min_duration_s, hold_s, the time constants) are measured between
// capture times; a capture time that steps back (the wall clock was corrected)
// counts as no time passing, so nothing waits for the clock to catch up.
//
// Thread rules: one thread at a time (the analytics worker owns one per camera).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "gateway/analytics/analytics_config.h"
#include "gateway/analytics/analytics_event.h"

namespace vcgate::analytics {

// A condition that must hold for min_duration before it counts, and must be
// gone for hold before it stops counting. Times in µs, non-decreasing.
class Persistence {
 public:
  enum class Change { kNone, kStarted, kEnded };

  Persistence(double min_duration_s, double hold_s);
  // One observation at time t. Started: the condition has held in every
  // observation since min_duration ago. Ended: no observation has shown it
  // for `hold` (counted from the last one that did).
  Change update(bool condition, int64_t t_us, double score = 0);
  // Ends an active condition now (video stopped); false when it was not active.
  bool forceEnd();
  bool active() const { return active_; }
  // Highest score observed since the condition last started.
  double peak() const { return peak_; }

 private:
  int64_t min_duration_us_;
  int64_t hold_us_;
  bool active_ = false;
  std::optional<int64_t> since_us_;  // first observation of the current run of true ones
  int64_t last_true_us_ = 0;
  double peak_ = 0;
};

struct FrameStats {
  double mean = 0;
  double stddev = 0;
};
FrameStats frameStats(const GreyFrame& frame);
// Variance of the 4-neighbour Laplacian over the frame's interior pixels.
double laplacianVariance(const GreyFrame& frame);
// 1 for pixels whose centre lies inside the polygon (even-odd rule), else 0.
std::vector<uint8_t> rasterizePolygon(const std::vector<Point>& polygon, int width, int height);

class FrameAnalyzer {
 public:
  explicit FrameAnalyzer(CameraAnalyticsConfig config);

  // Frames of another size than the configured one are scaled by the caller
  // (the decoder does); a frame of an unexpected size resets the analyzer.
  std::vector<AnalyticsEvent> process(const GreyFrame& frame);
  // Ends every active event with capture_us = now_us (the video stopped).
  std::vector<AnalyticsEvent> endAll(int64_t now_us);
  // Forgets the background and every learned value; active events are ended first.
  std::vector<AnalyticsEvent> reset(int64_t now_us);

  const CameraAnalyticsConfig& config() const { return config_; }
  // Names of the active conditions ("motion:door", "blackout", ...), for status.
  std::vector<std::string> activeConditions() const;

  // Last values computed, for tests, tuning and the benchmark.
  struct Measurements {
    FrameStats stats;
    double changed_fraction = 0;    // pixels beyond scene_change_threshold
    double sharpness = 0;
    double sharpness_baseline = 0;  // 0 while still learning
    std::vector<double> zone_fraction;  // per zone, in config order
  };
  const Measurements& measurements() const { return last_; }

 private:
  struct Zone {
    MotionZoneConfig config;
    std::vector<uint32_t> pixels;  // indices of the zone's pixels
    int threshold = 0;
    Persistence state;
  };
  void seedBackground(const GreyFrame& frame);
  AnalyticsEvent event(EventKind kind, const std::string& zone, bool active, double score, int64_t t) const;
  void emit(Persistence::Change change, const Persistence& p, EventKind kind, const std::string& zone,
            double score, int64_t t, std::vector<AnalyticsEvent>& out) const;

  CameraAnalyticsConfig config_;
  std::vector<Zone> zones_;
  Persistence blackout_;
  Persistence scene_change_;
  Persistence defocus_;

  std::vector<float> background_;  // empty until the first frame
  double background_mean_ = 0;
  // Capture times are wall-clock and may step back (NTP): durations are
  // measured on a timeline that only moves forward by the gaps between frames.
  int64_t last_capture_us_ = 0;
  int64_t timeline_us_ = 0;
  double baseline_ = 0;           // sharpness baseline; 0 = learning
  int baseline_frames_ = 0;
  double baseline_sum_ = 0;
  std::vector<float> diff_;       // scratch: per-pixel |frame - background - shift|
  Measurements last_;
};

}  // namespace vcgate::analytics
