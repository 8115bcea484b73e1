// A synthetic camera: the parameters of a test pattern with a moving object,
// encoded to H.264 or H.265. Written as a URI so that a config file and the
// camera simulator (vcgate-camsim) say it the same way:
//   test://NAME?codec=h264&width=1280&height=720&fps=25&bitrate_kbps=2000&gop=50&pattern=ball
//   test://NAME?...&incident=outage&incident_every_s=120&incident_s=20
// Every query key is optional; unknown keys and out-of-range values are errors.
// Pure functions, any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "gateway/core/result.h"

namespace vcgate::core {

enum class VideoCodec { kH264, kH265 };

std::string_view codecName(VideoCodec codec);  // "h264" / "h265"

struct SyntheticSpec {
  std::string name = "test";
  VideoCodec codec = VideoCodec::kH264;
  int width = 640;          // 16..7680
  int height = 360;         // 16..4320
  int fps = 25;             // 1..120
  int bitrate_kbps = 1000;  // 16..100000
  int gop = 50;             // frames between keyframes, 1..1000
  std::string pattern = "ball";  // a videotestsrc pattern name; "ball" moves
  // A scripted incident, so a demo shows tamper and video-loss alarms without
  // touching a camera: for `incident_s` seconds of every `incident_every_s`
  // (wall clock, so a restarted pipeline stays in step) the picture is black
  // ("blackout") or no frame comes at all ("outage").
  std::string incident;          // "", "blackout", "outage"
  int incident_every_s = 120;    // 10..86400
  int incident_s = 20;           // 1..3600, less than incident_every_s
};

// Whether the incident of `spec` is on at this wall-clock time (seconds since the epoch).
bool incidentActive(const SyntheticSpec& spec, int64_t wall_s);

// Parses "test://NAME?key=value&..." (the query part may be empty).
Result<SyntheticSpec> parseSyntheticUri(std::string_view uri);

// The canonical URI of a spec, every key written out.
std::string toUri(const SyntheticSpec& spec);

}  // namespace vcgate::core
