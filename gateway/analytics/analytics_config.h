// Analytics configuration: plain data with the documented defaults
// (docs/analytics.md lists every field, its meaning and its default; the
// numbers below are the same). The YAML keys are read by the config loader,
// which may call validate() to turn a bad value into a config error.
// Plain data: copy it freely, read it from any thread.
#pragma once

#include <string>
#include <vector>

#include "gateway/core/result.h"

namespace vcgate::analytics {

// A point in normalised image coordinates: x from 0 (left) to 1 (right),
// y from 0 (top) to 1 (bottom), whatever the camera's resolution.
struct Point {
  double x = 0;
  double y = 0;
  bool operator==(const Point&) const = default;
};

// Motion in one zone. A pixel "moves" when it differs from the running
// background by more than pixelThreshold(sensitivity) grey levels (after the
// frame's overall brightness change is taken out). The zone is in motion when
// at least min_area of its pixels move; an event starts once the zone has been
// in motion in every analysed frame for min_duration_s, and ends when no
// analysed frame has shown motion for hold_s.
struct MotionZoneConfig {
  std::string name;             // required; unique per camera; names the event
  std::vector<Point> polygon;   // required; >= 3 points, each in [0,1]; even-odd fill
  double sensitivity = 0.75;    // [0,1]; higher is more sensitive (0.75 -> 31 grey levels)
  double min_area = 0.02;       // (0,1]: fraction of the zone's pixels that must move
  double min_duration_s = 0.0;  // >= 0: continuous motion before the event starts
  double hold_s = 10.0;         // >= 0: no motion for this long ends the event

  bool operator==(const MotionZoneConfig&) const = default;
};

// Tamper detectors, on the whole frame. Each has a minimum duration (the
// condition must hold in every analysed frame for that long) and the shared
// hold_s (the condition must have been gone that long before the event ends).
struct TamperConfig {
  // Lens covered / blacked out: the frame is dark (mean <= blackout_max_mean)
  // or featureless (standard deviation <= blackout_max_stddev), grey levels 0..255.
  bool blackout = true;
  double blackout_max_mean = 20.0;
  double blackout_max_stddev = 6.0;
  double blackout_min_duration_s = 2.0;

  // Sudden whole-scene change (camera turned, moved or sprayed): at least
  // scene_change_fraction of the frame differs from the background by more
  // than scene_change_threshold grey levels.
  bool scene_change = true;
  double scene_change_fraction = 0.5;
  double scene_change_threshold = 32.0;
  double scene_change_min_duration_s = 0.0;

  // Loss of focus: sharpness (variance of the Laplacian of the grey frame)
  // below defocus_ratio times its learned baseline. Scenes whose baseline is
  // below defocus_min_baseline (almost no texture) are not judged.
  bool defocus = true;
  double defocus_ratio = 0.35;
  double defocus_min_baseline = 30.0;
  double defocus_min_duration_s = 4.0;
  double defocus_learn_s = 300.0;  // time constant of the sharpness baseline

  double hold_s = 10.0;

  bool operator==(const TamperConfig&) const = default;
};

struct CameraAnalyticsConfig {
  std::string camera;            // required: the camera id of the access units
  bool enabled = true;
  // At most one analysed frame per interval. Only keyframes are decoded, so
  // the real rate is also bounded by the camera's GOP (one keyframe per 1-2 s).
  double interval_s = 1.0;
  int width = 160;               // analysis frame size in pixels, [16, 1920] x [16, 1080]
  int height = 90;
  double background_s = 30.0;    // time constant of the running background (exponential moving average)
  std::vector<MotionZoneConfig> zones;  // no zones: no motion detection
  TamperConfig tamper;

  bool operator==(const CameraAnalyticsConfig&) const = default;
};

struct AnalyticsConfig {
  std::vector<CameraAnalyticsConfig> cameras;
  // A camera with active events whose frames stop (video loss, camera
  // disabled) gets its events ended after this long without an analysed frame.
  double stale_after_s = 15.0;

  bool operator==(const AnalyticsConfig&) const = default;
};

// Grey-level difference above which a pixel moves, for a zone's sensitivity:
// 8 + 92 * (1 - sensitivity), rounded (sensitivity 1 -> 8, 0.75 -> 31, 0 -> 100).
int pixelThreshold(double sensitivity);

// Checks ranges, polygons and unique names; the error names the camera, the
// zone and the field ("camera 'hall-b' zone 'door': polygon needs at least 3 points").
core::Result<void> validate(const CameraAnalyticsConfig& camera);
core::Result<void> validate(const AnalyticsConfig& config);

}  // namespace vcgate::analytics
