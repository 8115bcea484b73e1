#include "tools/sub/output.h"

#include <ctime>

#include <fmt/format.h>

namespace vcgate::sub {

std::string clockText(int64_t wall_us) {
  const time_t seconds = static_cast<time_t>(wall_us / 1'000'000);
  std::tm local{};
  localtime_r(&seconds, &local);
  return fmt::format("{:02}:{:02}:{:02}.{:03}", local.tm_hour, local.tm_min, local.tm_sec,
                     static_cast<int>((wall_us % 1'000'000) / 1000));
}

std::string shortId(const std::string& hex) { return hex.substr(0, 8) + "\u2026"; }

Json toJson(const RecordingReport& r) {
  Json j = {{"alarm", r.alarm},
            {"site", r.site},
            {"camera", r.camera},
            {"path", r.path},
            {"reason", r.reason},
            {"frames", r.frames},
            {"first_seq", r.first_seq},
            {"last_seq", r.last_seq},
            {"gaps", r.gaps},
            {"duration_s", r.duration_s},
            {"decodes", r.decodes()},
            {"frames_decoded", r.check.frames_decoded},
            {"decode_errors", r.check.decode_errors},
            {"starts_with_keyframe", r.check.starts_with_keyframe},
            {"codec", r.check.codec},
            {"width", r.check.width},
            {"height", r.check.height}};
  if (!r.write_error.empty()) j["error"] = r.write_error;
  else if (!r.check.error.empty()) j["error"] = r.check.error;
  return j;
}

Output::Output(bool json, LineSink sink) : json_(json), sink_(std::move(sink)) {}

void Output::emit(const Json& j, const std::string& human) {
  // error_handler replace: a camera name with broken UTF-8 must not throw here.
  sink_(json_ ? j.dump(-1, ' ', false, Json::error_handler_t::replace) : human);
}

void Output::alarm(const bus::AlarmEventMessage& m) {
  const auto& a = m.event.alarm;
  Json j = {{"type", "alarm"}};
  // The decoded event as the protocol spells it, so that platform scripts see the documented fields.
  const Json event = Json::parse(bus::encodeAlarmEvent(m));  // a named object: items() only borrows it
  for (const auto& [key, value] : event.items()) j[key] = value;
  std::string name(alarm::eventName(m.event.kind));
  for (auto& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (m.event.kind == alarm::AlarmEventKind::kAcknowledged) name = "ACKED";
  std::string cameras;
  for (const auto& c : a.cameras) cameras += (cameras.empty() ? "" : ",") + c;
  std::string human = fmt::format("{} {:<7} L{} {:<10} alarm {} site {} cameras {}", clockText(m.time_us), name, a.level,
                                  a.type, shortId(a.id.hex()), m.site, cameras.empty() ? "-" : cameras);
  if (!a.description.empty()) human += fmt::format(" \"{}\"", a.description);
  if (m.event.kind == alarm::AlarmEventKind::kAcknowledged && !a.acknowledged_by.empty())
    human += " by " + a.acknowledged_by;
  emit(j, human);
}

void Output::gatewayUp(const bus::StatusMessage& s, int64_t wall_us) {
  Json j = {{"type", "gateway"},          {"site", s.site},
            {"state", "up"},              {"boot", bus::bootIdHex(s.boot_id)},
            {"version", s.version},       {"cameras", s.cameras.size()},
            {"active_alarms", s.active_alarms}, {"interval_s", s.interval_s}};
  emit(j, fmt::format("{} GATEWAY {} up: boot {}, version {}, {} camera(s), {} active alarm(s), heartbeat every {} s",
                      clockText(wall_us), s.site, bus::bootIdHex(s.boot_id), s.version.empty() ? "?" : s.version,
                      s.cameras.size(), s.active_alarms, s.interval_s));
}

void Output::gatewayRestarted(const bus::StatusMessage& s, uint64_t previous_boot, int64_t wall_us) {
  Json j = {{"type", "gateway"},
            {"site", s.site},
            {"state", "restarted"},
            {"boot", bus::bootIdHex(s.boot_id)},
            {"previous_boot", bus::bootIdHex(previous_boot)},
            {"uptime_s", s.uptime_s}};
  emit(j, fmt::format("{} GATEWAY {} restarted: boot {} (was {}), up {:.1f} s", clockText(wall_us), s.site,
                      bus::bootIdHex(s.boot_id), bus::bootIdHex(previous_boot), s.uptime_s));
}

void Output::gatewayUnreachable(const std::string& site, double silent_s, int64_t wall_us) {
  const std::string message = fmt::format("gateway {} unreachable: no heartbeat for {:.1f} s", site, silent_s);
  Json j = {{"type", "gateway"}, {"site", site}, {"state", "unreachable"}, {"silent_s", silent_s}, {"message", message}};
  emit(j, fmt::format("{} GATEWAY {}", clockText(wall_us), message.substr(8)));
}

void Output::gatewayBack(const std::string& site, double silent_s, int64_t wall_us) {
  Json j = {{"type", "gateway"}, {"site", site}, {"state", "back"}, {"silent_s", silent_s}};
  emit(j, fmt::format("{} GATEWAY {} back after {:.1f} s without heartbeat", clockText(wall_us), site, silent_s));
}

void Output::gap(std::string_view channel, const std::string& site, const std::string& camera, uint64_t boot,
                 uint64_t expected, uint64_t got, int64_t wall_us) {
  Json j = {{"type", "gap"}, {"channel", channel}, {"site", site}};
  if (!camera.empty()) j["camera"] = camera;
  j["boot"] = bus::bootIdHex(boot);
  j["expected"] = expected;
  j["got"] = got;
  j["lost"] = got - expected;
  const std::string what = camera.empty() ? fmt::format("{} {}", channel, site) : fmt::format("{}/{}", site, camera);
  emit(j, fmt::format("{} GAP     {}: expected seq {}, got {} ({} lost){}", clockText(wall_us), what, expected, got,
                      got - expected, camera.empty() ? "" : "; video resumes at the next keyframe"));
}

void Output::recording(const RecordingReport& r, int64_t wall_us) {
  Json j = {{"type", "recording"}};
  const Json fields = toJson(r);
  for (const auto& [key, value] : fields.items()) j[key] = value;
  std::string verdict =
      r.decodes() ? fmt::format("decodes ({} frames, 0 errors)", r.check.frames_decoded)
                  : fmt::format("DOES NOT DECODE: {}", r.write_error.empty() ? r.check.error : r.write_error);
  emit(j, fmt::format("{} RECORDED alarm {} {}/{} -> {}: {} frames, seq {}-{}, {:.1f} s, closed ({}); {}",
                      clockText(wall_us), shortId(r.alarm), r.site, r.camera, r.path, r.frames, r.first_seq,
                      r.last_seq, r.duration_s, r.reason, verdict));
}

void Output::recordingFailed(const std::string& alarm, const std::string& site, const std::string& camera,
                             const std::string& path, const std::string& error, int64_t wall_us) {
  Json j = {{"type", "recording_error"}, {"alarm", alarm}, {"site", site},
            {"camera", camera},          {"path", path},   {"error", error}};
  emit(j, fmt::format("{} RECORDING FAILED alarm {} {}/{}: {}", clockText(wall_us), shortId(alarm), site, camera,
                      error));
}

void Output::malformed(std::string_view reason, uint64_t count, const std::string& detail, int64_t wall_us) {
  Json j = {{"type", "malformed"}, {"reason", reason}, {"count", count}, {"detail", detail}};
  emit(j, fmt::format("{} MALFORMED {} (x{} so far): {}", clockText(wall_us), reason, count, detail));
}

void Output::summary(const Json& summary) {
  if (json_) {
    Json j = {{"type", "summary"}};
    for (const auto& [key, value] : summary.items()) j[key] = value;
    sink_(j.dump(-1, ' ', false, Json::error_handler_t::replace));
  } else {
    sink_("summary:");
    sink_(summary.dump(2, ' ', false, Json::error_handler_t::replace));
  }
}

}  // namespace vcgate::sub
