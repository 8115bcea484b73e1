#include "gateway/analytics/analytics_config.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

namespace vcgate::analytics {

int pixelThreshold(double sensitivity) {
  const double s = std::clamp(sensitivity, 0.0, 1.0);
  return static_cast<int>(std::lround(8.0 + 92.0 * (1.0 - s)));
}

namespace {

bool inUnit(double v) { return std::isfinite(v) && v >= 0.0 && v <= 1.0; }
bool nonNegative(double v) { return std::isfinite(v) && v >= 0.0; }

}  // namespace

core::Result<void> validate(const CameraAnalyticsConfig& c) {
  const std::string where = fmt::format("analytics of camera '{}'", c.camera);
  auto fail = [&](const std::string& what) { return core::makeError(where + ": " + what); };
  if (c.camera.empty()) return core::makeError("analytics: a camera entry has no camera id");
  if (!(std::isfinite(c.interval_s) && c.interval_s > 0)) return fail("interval_s must be greater than 0");
  if (c.width < 16 || c.width > 1920 || c.height < 16 || c.height > 1080)
    return fail(fmt::format("frame size {}x{} is outside 16x16 .. 1920x1080", c.width, c.height));
  if (c.width % 2 || c.height % 2) return fail(fmt::format("frame size {}x{} must be even", c.width, c.height));
  if (!(std::isfinite(c.background_s) && c.background_s > 0)) return fail("background_s must be greater than 0");
  std::set<std::string> names;
  for (const auto& z : c.zones) {
    if (z.name.empty()) return fail("a zone has no name");
    const std::string zone = fmt::format("zone '{}'", z.name);
    if (!names.insert(z.name).second) return fail(zone + " is defined twice");
    if (z.polygon.size() < 3) return fail(zone + ": polygon needs at least 3 points");
    for (const auto& p : z.polygon)
      if (!inUnit(p.x) || !inUnit(p.y))
        return fail(fmt::format("{}: point ({}, {}) is outside [0,1] (coordinates are fractions of the image)",
                                zone, p.x, p.y));
    if (!inUnit(z.sensitivity)) return fail(zone + ": sensitivity must be in [0,1]");
    if (!(inUnit(z.min_area) && z.min_area > 0)) return fail(zone + ": min_area must be in (0,1]");
    if (!nonNegative(z.min_duration_s)) return fail(zone + ": min_duration_s must be >= 0");
    if (!nonNegative(z.hold_s)) return fail(zone + ": hold_s must be >= 0");
  }
  const TamperConfig& t = c.tamper;
  if (!(t.blackout_max_mean >= 0 && t.blackout_max_mean <= 255)) return fail("tamper blackout_max_mean must be in [0,255]");
  if (!(t.blackout_max_stddev >= 0 && t.blackout_max_stddev <= 128))
    return fail("tamper blackout_max_stddev must be in [0,128]");
  if (!(inUnit(t.scene_change_fraction) && t.scene_change_fraction > 0))
    return fail("tamper scene_change_fraction must be in (0,1]");
  if (!(t.scene_change_threshold > 0 && t.scene_change_threshold < 255))
    return fail("tamper scene_change_threshold must be in (0,255)");
  if (!(inUnit(t.defocus_ratio) && t.defocus_ratio > 0 && t.defocus_ratio < 1))
    return fail("tamper defocus_ratio must be in (0,1)");
  if (!nonNegative(t.defocus_min_baseline)) return fail("tamper defocus_min_baseline must be >= 0");
  if (!(std::isfinite(t.defocus_learn_s) && t.defocus_learn_s > 0)) return fail("tamper defocus_learn_s must be > 0");
  for (double d : {t.blackout_min_duration_s, t.scene_change_min_duration_s, t.defocus_min_duration_s, t.hold_s})
    if (!nonNegative(d)) return fail("tamper durations (min_duration_s, hold_s) must be >= 0");
  return {};
}

core::Result<void> validate(const AnalyticsConfig& config) {
  std::set<std::string> cameras;
  for (const auto& c : config.cameras) {
    if (auto ok = validate(c); !ok) return ok;
    if (!cameras.insert(c.camera).second)
      return core::makeError(fmt::format("analytics of camera '{}' is configured twice", c.camera));
  }
  if (!(std::isfinite(config.stale_after_s) && config.stale_after_s > 0))
    return core::makeError("analytics: stale_after_s must be greater than 0");
  return {};
}

}  // namespace vcgate::analytics
