// What the analytics report: a detector's condition starting or ending on one
// camera (and one zone, for motion), and the small grey frames they work on.
// Plain data: copy it freely, read it from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vcgate::analytics {

enum class EventKind { kMotion, kBlackout, kSceneChange, kDefocus };

// "motion", "blackout", "scene_change", "defocus" (the names used in config and rules).
std::string_view toString(EventKind kind);
std::optional<EventKind> parseEventKind(std::string_view name);

struct AnalyticsEvent {
  std::string camera;
  EventKind kind = EventKind::kMotion;
  std::string zone;      // motion only: the zone's name; empty otherwise
  bool active = false;   // true: the condition started; false: it ended
  // How strongly the condition holds, in [0,1]; at the end, the peak of the event:
  //   motion: fraction of the zone's pixels moving; blackout: 1 - mean/255;
  //   scene_change: fraction of the frame changed; defocus: 1 - sharpness/baseline.
  double score = 0;
  // Capture time (µs since the Unix epoch) of the analysed frame that decided
  // it; for an end forced by stale video, the wall-clock time it was forced.
  int64_t capture_us = 0;
};

// 8-bit luma, row-major, no padding (stride == width).
struct GreyFrame {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> pixels;
  int64_t capture_us = 0;

  uint8_t at(int x, int y) const { return pixels[static_cast<size_t>(y) * width + x]; }
};

}  // namespace vcgate::analytics
