#include "gateway/core/synthetic_spec.h"

#include <charconv>

#include <fmt/format.h>

#include "gateway/core/uri.h"

namespace vcgate::core {

std::string_view codecName(VideoCodec codec) { return codec == VideoCodec::kH264 ? "h264" : "h265"; }

namespace {

Result<void> parseInt(const std::string& key, const std::string& text, int lo, int hi, int& out) {
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size())
    return makeError(fmt::format("test:// parameter '{}' must be an integer, got '{}'", key, text));
  if (value < lo || value > hi)
    return makeError(fmt::format("test:// parameter '{}' is {}, must be between {} and {}", key, value, lo, hi));
  out = value;
  return {};
}

}  // namespace

Result<SyntheticSpec> parseSyntheticUri(std::string_view text) {
  auto parsed = parseUri(text);
  if (!parsed) return parsed.error();
  const Uri& uri = *parsed;
  if (uri.scheme != "test") return makeError("not a test:// URI");
  SyntheticSpec spec;
  if (!uri.host.empty()) spec.name = uri.host;
  for (const auto& [key, value] : uri.query) {
    Result<void> r;
    if (key == "codec") {
      if (value == "h264") spec.codec = VideoCodec::kH264;
      else if (value == "h265") spec.codec = VideoCodec::kH265;
      else r = makeError(fmt::format("test:// codec '{}' is not supported (use h264 or h265)", value));
    } else if (key == "width") {
      r = parseInt(key, value, 16, 7680, spec.width);
    } else if (key == "height") {
      r = parseInt(key, value, 16, 4320, spec.height);
    } else if (key == "fps") {
      r = parseInt(key, value, 1, 120, spec.fps);
    } else if (key == "bitrate_kbps") {
      r = parseInt(key, value, 16, 100000, spec.bitrate_kbps);
    } else if (key == "gop") {
      r = parseInt(key, value, 1, 1000, spec.gop);
    } else if (key == "pattern") {
      spec.pattern = value;
    } else if (key == "incident") {
      if (value == "blackout" || value == "outage") spec.incident = value;
      else r = makeError(fmt::format("test:// incident '{}' is not known (use blackout or outage)", value));
    } else if (key == "incident_every_s") {
      r = parseInt(key, value, 10, 86400, spec.incident_every_s);
    } else if (key == "incident_s") {
      r = parseInt(key, value, 1, 3600, spec.incident_s);
    } else {
      r = makeError(fmt::format("unknown test:// parameter '{}' (known: codec, width, height, fps, bitrate_kbps, gop, "
                                "pattern, incident, incident_every_s, incident_s)",
                                key));
    }
    if (!r) return r.error();
  }
  if (spec.width % 2 || spec.height % 2) return makeError("test:// width and height must be even");
  if (!spec.incident.empty() && spec.incident_s >= spec.incident_every_s)
    return makeError("test:// incident_s must be shorter than incident_every_s");
  return spec;
}

bool incidentActive(const SyntheticSpec& spec, int64_t wall_s) {
  if (spec.incident.empty()) return false;
  // The incident closes each period: a camera that just started streams first.
  const int64_t into = wall_s % spec.incident_every_s;
  return into >= spec.incident_every_s - spec.incident_s;
}

std::string toUri(const SyntheticSpec& spec) {
  return fmt::format("test://{}?codec={}&width={}&height={}&fps={}&bitrate_kbps={}&gop={}&pattern={}", spec.name,
                     codecName(spec.codec), spec.width, spec.height, spec.fps, spec.bitrate_kbps, spec.gop,
                     spec.pattern) +
         (spec.incident.empty() ? std::string()
                                : fmt::format("&incident={}&incident_every_s={}&incident_s={}", spec.incident,
                                              spec.incident_every_s, spec.incident_s));
}

}  // namespace vcgate::core
