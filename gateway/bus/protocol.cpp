#include "gateway/bus/protocol.h"

#include <cctype>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "gateway/bus/json_number.h"

namespace vcgate::bus {
namespace {

using nlohmann::json;

bool validTopicPart(std::string_view part) {
  if (part.empty() || part.size() > 64) return false;
  for (char c : part)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) return false;
  return true;
}

// Little-endian writers and readers: the wire is little-endian whatever the host.
template <class T>
void put(std::string& out, T value) {
  using U = std::make_unsigned_t<T>;
  const U u = static_cast<U>(value);
  for (size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<char>((u >> (8 * i)) & 0xff));
}

template <class T>
T get(const uint8_t* p) {
  using U = std::make_unsigned_t<T>;
  U u = 0;
  for (size_t i = 0; i < sizeof(T); ++i) u |= static_cast<U>(p[i]) << (8 * i);
  return static_cast<T>(u);
}

json tagsToJson(const std::vector<AlarmTag>& tags) {
  json out = json::array();
  for (const auto& t : tags) out.push_back({{"id", t.id.hex()}, {"level", t.level}});
  return out;
}

core::Result<std::vector<AlarmTag>> tagsFromJson(const json& j) {
  std::vector<AlarmTag> tags;
  if (!j.is_array()) return core::makeError("'alarms' must be an array");
  for (const auto& item : j) {
    if (!item.is_object() || !item.contains("id") || !item["id"].is_string() || !item.contains("level") ||
        !item["level"].is_number_integer())
      return core::makeError("an alarm tag needs a string 'id' and an integer 'level'");
    auto id = alarm::AlarmId::fromHex(item["id"].get<std::string>());
    const int level = item["level"].get<int>();
    if (!id || !alarm::validLevel(level)) return core::makeError("invalid alarm tag");
    tags.push_back({*id, static_cast<uint8_t>(level)});
  }
  return tags;
}

std::optional<uint64_t> bootIdFromHex(const std::string& hex) {
  if (hex.empty() || hex.size() > 16) return std::nullopt;
  uint64_t value = 0;
  for (char c : hex) {
    int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
    if (d < 0) return std::nullopt;
    value = value << 4 | static_cast<uint64_t>(d);
  }
  return value;
}

// Field access for decoders: every failure names the field.
template <class T>
core::Result<T> field(const json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end()) return core::makeError(fmt::format("missing field '{}'", name));
  if (!fitsJson<T>(*it)) return core::makeError(fmt::format("field '{}' is out of range", name));
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    return core::makeError(fmt::format("field '{}' has the wrong type", name));
  }
}

// An optional field, like json::value() but with integers checked (json_number.h).
template <class T>
T optionalField(const json& object, const char* name, T fallback) {
  auto it = object.find(name);
  if (it == object.end()) return fallback;
  if (!fitsJson<T>(*it)) throw std::out_of_range(fmt::format("field '{}' is out of range", name));
  return it->get<T>();
}

#define VCGATE_TRY_FIELD(var, type, object, name) \
  auto var##_r = field<type>(object, name);       \
  if (!var##_r) return var##_r.error();           \
  auto var = std::move(var##_r).value()

core::Result<json> parseObject(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return core::makeError("not valid JSON");
  if (!j.is_object()) return core::makeError("not a JSON object");
  return j;
}

core::Result<void> checkEnvelope(const json& j) {
  auto v = field<int>(j, "v");
  if (!v) return v.error();
  if (*v != kProtocolVersion) return core::makeError(fmt::format("unsupported protocol version {}", *v));
  return {};
}

}  // namespace

std::string videoTopic(std::string_view site, std::string_view camera) {
  return fmt::format("video/{}/{}/", site, camera);
}
std::string alarmTopic(std::string_view site) { return fmt::format("alarm/{}/", site); }
std::string statusTopic(std::string_view site) { return fmt::format("status/{}/", site); }

core::Result<Topic> parseTopic(std::string_view topic) {
  if (topic.empty() || topic.back() != '/') return core::makeError("a topic ends with '/'");
  std::vector<std::string_view> parts;
  topic.remove_suffix(1);
  while (true) {
    const auto slash = topic.find('/');
    parts.push_back(topic.substr(0, slash));
    if (slash == std::string_view::npos) break;
    topic.remove_prefix(slash + 1);
  }
  Topic out;
  if (parts[0] == "video" && parts.size() == 3) out.kind = TopicKind::kVideo;
  else if (parts[0] == "alarm" && parts.size() == 2) out.kind = TopicKind::kAlarm;
  else if (parts[0] == "status" && parts.size() == 2) out.kind = TopicKind::kStatus;
  else return core::makeError("unknown topic layout");
  for (size_t i = 1; i < parts.size(); ++i)
    if (!validTopicPart(parts[i])) return core::makeError("invalid site or camera id in topic");
  out.site = std::string(parts[1]);
  if (parts.size() == 3) out.camera = std::string(parts[2]);
  return out;
}

void encodeVideoHeader(const VideoHeader& h, std::string& out) {
  out.clear();
  const size_t tag_count = std::min(h.tags.size(), kMaxAlarmTags);
  put<uint8_t>(out, kProtocolVersion);
  put<uint8_t>(out, kKindVideo);
  put<uint16_t>(out, h.flags);
  put<uint16_t>(out, static_cast<uint16_t>(kVideoFixedHeaderSize + tag_count * kAlarmTagSize));
  put<uint16_t>(out, static_cast<uint16_t>(tag_count));
  put<uint64_t>(out, h.boot_id);
  put<uint64_t>(out, h.seq);
  put<int64_t>(out, h.pts_ns);
  put<int64_t>(out, h.dts_ns);
  put<int64_t>(out, h.capture_us);
  put<int64_t>(out, h.publish_us);
  put<uint8_t>(out, h.codec == core::VideoCodec::kH265 ? 2 : 1);
  put<uint8_t>(out, 0);
  put<uint16_t>(out, h.width);
  put<uint16_t>(out, h.height);
  put<uint16_t>(out, static_cast<uint16_t>(kVideoFixedHeaderSize));  // where the tags start
  for (size_t i = 0; i < tag_count; ++i) {
    out.append(reinterpret_cast<const char*>(h.tags[i].id.bytes.data()), h.tags[i].id.bytes.size());
    put<uint8_t>(out, h.tags[i].level);
  }
}

core::Result<VideoHeader> decodeVideoHeader(std::span<const uint8_t> frame) {
  if (frame.size() < kVideoFixedHeaderSize)
    return core::makeError(fmt::format("video header too short: {} bytes, at least {}", frame.size(),
                                       kVideoFixedHeaderSize));
  const uint8_t* p = frame.data();
  if (p[0] != kProtocolVersion) return core::makeError(fmt::format("unsupported protocol version {}", p[0]));
  if (p[1] != kKindVideo) return core::makeError(fmt::format("not a video header (kind {})", p[1]));
  VideoHeader h;
  h.flags = get<uint16_t>(p + 2);
  const uint16_t header_size = get<uint16_t>(p + 4);
  const uint16_t tag_count = get<uint16_t>(p + 6);
  h.boot_id = get<uint64_t>(p + 8);
  h.seq = get<uint64_t>(p + 16);
  h.pts_ns = get<int64_t>(p + 24);
  h.dts_ns = get<int64_t>(p + 32);
  h.capture_us = get<int64_t>(p + 40);
  h.publish_us = get<int64_t>(p + 48);
  const uint8_t codec = p[56];
  if (codec != 1 && codec != 2) return core::makeError(fmt::format("unknown codec {}", codec));
  h.codec = codec == 2 ? core::VideoCodec::kH265 : core::VideoCodec::kH264;
  h.width = get<uint16_t>(p + 58);
  h.height = get<uint16_t>(p + 60);
  const uint16_t tags_offset = get<uint16_t>(p + 62);
  if (tags_offset < kVideoFixedHeaderSize) return core::makeError("tags offset inside the fixed header");
  const size_t tags_end = static_cast<size_t>(tags_offset) + static_cast<size_t>(tag_count) * kAlarmTagSize;
  if (header_size != frame.size() || tags_end > frame.size())
    return core::makeError(fmt::format("video header size mismatch: says {} bytes with {} tags, frame has {}",
                                       header_size, tag_count, frame.size()));
  h.tags.reserve(tag_count);
  for (size_t i = 0; i < tag_count; ++i) {
    const uint8_t* t = p + tags_offset + i * kAlarmTagSize;
    AlarmTag tag;
    std::memcpy(tag.id.bytes.data(), t, 16);
    tag.level = t[16];
    if (!alarm::validLevel(tag.level)) return core::makeError(fmt::format("invalid alarm level {}", tag.level));
    h.tags.push_back(tag);
  }
  return h;
}

std::string bootIdHex(uint64_t boot_id) { return fmt::format("{:016x}", boot_id); }

namespace {
// The snapshot taken at the raise for each camera, by the id snapshot.fetch
// takes. Known before the file exists (docs/protocol.md section 7.2); the same
// form as evidence::snapshotId, which writes it.
json snapshotsOf(const alarm::Alarm& a) {
  json out = json::array();
  for (const auto& camera : a.cameras) out.push_back({{"camera", camera}, {"id", a.id.hex() + "/" + camera + ".jpg"}});
  return out;
}
}  // namespace

json alarmToJson(const alarm::Alarm& a) {
  return {
      {"id", a.id.hex()},
      {"source", a.source},
      {"type", a.type},
      {"level", a.level},
      {"cameras", a.cameras},
      {"description", a.description},
      {"rule", a.rule},
      {"trigger", a.trigger},
      {"state", a.state == alarm::AlarmState::kActive ? "active" : "cleared"},
      {"acknowledged", a.acknowledged},
      {"acknowledged_by", a.acknowledged_by},
      {"raised_us", a.raised_us},
      {"updated_us", a.updated_us},
      {"cleared_us", a.cleared_us},
      {"pre_roll_s", a.pre_roll_s},
      {"post_roll_s", a.post_roll_s},
      {"snapshots", snapshotsOf(a)},
  };
}

std::string encodeAlarmEvent(const AlarmEventMessage& m) {
  json alarm_json = alarmToJson(m.event.alarm);
  json j = {{"v", kProtocolVersion}, {"boot", bootIdHex(m.boot_id)}, {"seq", m.seq}, {"event_id", m.event_id},
            {"redelivery", m.redelivery},
            {"time_us", m.time_us},  {"site", m.site},                     {"event", eventName(m.event.kind)},
            {"alarm", std::move(alarm_json)}};
  return j.dump();
}

namespace {
core::Result<AlarmEventMessage> decodeAlarmEventUnchecked(std::string_view text) {
  auto parsed = parseObject(text);
  if (!parsed) return parsed.error();
  const json& j = *parsed;
  if (auto env = checkEnvelope(j); !env) return env.error();
  AlarmEventMessage m;
  VCGATE_TRY_FIELD(boot, std::string, j, "boot");
  auto boot_id = bootIdFromHex(boot);
  if (!boot_id) return core::makeError("field 'boot' must be 16 hex digits");
  m.boot_id = *boot_id;
  VCGATE_TRY_FIELD(seq, uint64_t, j, "seq");
  VCGATE_TRY_FIELD(time_us, int64_t, j, "time_us");
  VCGATE_TRY_FIELD(site, std::string, j, "site");
  VCGATE_TRY_FIELD(event, std::string, j, "event");
  m.seq = seq;
  m.time_us = time_us;
  m.site = site;
  m.event_id = optionalField(j, "event_id", uint64_t{0});
  m.redelivery = optionalField(j, "redelivery", uint32_t{0});
  auto kind = alarm::eventKindFromName(event);
  if (!kind) return core::makeError(fmt::format("unknown event '{}'", event));
  m.event.kind = *kind;
  auto alarm_it = j.find("alarm");
  if (alarm_it == j.end() || !alarm_it->is_object()) return core::makeError("missing object 'alarm'");
  const json& a = *alarm_it;
  VCGATE_TRY_FIELD(id, std::string, a, "id");
  auto alarm_id = alarm::AlarmId::fromHex(id);
  if (!alarm_id) return core::makeError("alarm 'id' must be 32 lower-case hex digits");
  auto& out = m.event.alarm;
  out.id = *alarm_id;
  VCGATE_TRY_FIELD(level, int, a, "level");
  if (!alarm::validLevel(level)) return core::makeError(fmt::format("alarm level {} is not 1, 2 or 3", level));
  out.level = level;
  VCGATE_TRY_FIELD(cameras, std::vector<std::string>, a, "cameras");
  out.cameras = std::move(cameras);
  VCGATE_TRY_FIELD(state, std::string, a, "state");
  if (state != "active" && state != "cleared") return core::makeError("alarm 'state' must be active or cleared");
  out.state = state == "active" ? alarm::AlarmState::kActive : alarm::AlarmState::kCleared;
  VCGATE_TRY_FIELD(source, std::string, a, "source");
  VCGATE_TRY_FIELD(type, std::string, a, "type");
  VCGATE_TRY_FIELD(raised_us, int64_t, a, "raised_us");
  out.source = source;
  out.type = type;
  out.raised_us = raised_us;
  // Optional fields: absent means the default.
  out.description = a.value("description", std::string());
  out.rule = a.value("rule", std::string());
  out.trigger = a.value("trigger", std::string());
  out.acknowledged = a.value("acknowledged", false);
  out.acknowledged_by = a.value("acknowledged_by", std::string());
  out.updated_us = optionalField(a, "updated_us", int64_t{0});
  out.cleared_us = optionalField(a, "cleared_us", int64_t{0});
  out.pre_roll_s = a.value("pre_roll_s", 0.0);
  out.post_roll_s = a.value("post_roll_s", 0.0);
  return m;
}
}  // namespace

core::Result<AlarmEventMessage> decodeAlarmEvent(std::string_view text) {
  // nlohmann::json throws on a type mismatch in value(); no exception leaves a decoder.
  try {
    return decodeAlarmEventUnchecked(text);
  } catch (const std::exception& e) {  // json::exception, or out_of_range from optionalField
    return core::makeError(std::string("malformed message: ") + e.what());
  }
}

json statusToJson(const StatusMessage& m) {
  json cameras = json::array();
  for (const auto& c : m.cameras) {
    cameras.push_back({{"id", c.id},
                       {"state", c.state},
                       {"fps", c.fps},
                       {"bitrate_bps", c.bitrate_bps},
                       {"frames", c.frames},
                       {"published", c.published},
                       {"dropped", c.dropped},
                       {"buffered_bytes", c.buffered_bytes},
                       {"buffered_s", c.buffered_s},
                       {"alarms", tagsToJson(c.alarms)},
                       {"live_view", c.live_view},
                       {"uplink", c.uplink},
                       {"budget_skipped", c.budget_skipped}});
  }
  json j = {{"v", kProtocolVersion},  {"boot", bootIdHex(m.boot_id)}, {"seq", m.seq},
            {"time_us", m.time_us},   {"site", m.site},              {"version", m.version},
            {"uptime_s", m.uptime_s}, {"interval_s", m.interval_s},  {"active_alarms", m.active_alarms},
            {"journal_backlog", m.journal_backlog},
            {"uplink", {{"budget_kbps", m.uplink_budget_kbps}, {"demand_kbps", m.uplink_demand_kbps}}},
            {"cameras", std::move(cameras)}};
  return j;
}

std::string encodeStatus(const StatusMessage& m) { return statusToJson(m).dump(); }

namespace {
core::Result<StatusMessage> decodeStatusUnchecked(std::string_view text) {
  auto parsed = parseObject(text);
  if (!parsed) return parsed.error();
  const json& j = *parsed;
  if (auto env = checkEnvelope(j); !env) return env.error();
  StatusMessage m;
  VCGATE_TRY_FIELD(boot, std::string, j, "boot");
  auto boot_id = bootIdFromHex(boot);
  if (!boot_id) return core::makeError("field 'boot' must be 16 hex digits");
  m.boot_id = *boot_id;
  VCGATE_TRY_FIELD(seq, uint64_t, j, "seq");
  VCGATE_TRY_FIELD(time_us, int64_t, j, "time_us");
  VCGATE_TRY_FIELD(site, std::string, j, "site");
  VCGATE_TRY_FIELD(interval_s, double, j, "interval_s");
  m.seq = seq;
  m.time_us = time_us;
  m.site = site;
  m.interval_s = interval_s;
  m.version = j.value("version", std::string());
  m.uptime_s = j.value("uptime_s", 0.0);
  m.active_alarms = optionalField(j, "active_alarms", 0);
  m.journal_backlog = optionalField(j, "journal_backlog", uint64_t{0});
  if (auto u = j.find("uplink"); u != j.end() && u->is_object()) {
    m.uplink_budget_kbps = u->value("budget_kbps", 0.0);
    m.uplink_demand_kbps = u->value("demand_kbps", 0.0);
  }
  auto cams = j.find("cameras");
  if (cams == j.end() || !cams->is_array()) return core::makeError("missing array 'cameras'");
  for (const auto& c : *cams) {
    if (!c.is_object()) return core::makeError("a camera status must be an object");
    CameraStatus s;
    VCGATE_TRY_FIELD(id, std::string, c, "id");
    VCGATE_TRY_FIELD(state, std::string, c, "state");
    s.id = id;
    s.state = state;
    s.fps = c.value("fps", 0.0);
    s.bitrate_bps = c.value("bitrate_bps", 0.0);
    s.frames = optionalField(c, "frames", uint64_t{0});
    s.published = optionalField(c, "published", uint64_t{0});
    s.dropped = optionalField(c, "dropped", uint64_t{0});
    s.buffered_bytes = optionalField(c, "buffered_bytes", uint64_t{0});
    s.buffered_s = c.value("buffered_s", 0.0);
    s.live_view = c.value("live_view", false);
    s.uplink = c.value("uplink", std::string());
    s.budget_skipped = optionalField(c, "budget_skipped", uint64_t{0});
    if (auto a = c.find("alarms"); a != c.end()) {
      auto tags = tagsFromJson(*a);
      if (!tags) return tags.error();
      s.alarms = std::move(*tags);
    }
    m.cameras.push_back(std::move(s));
  }
  return m;
}
}  // namespace

core::Result<StatusMessage> decodeStatus(std::string_view text) {
  // nlohmann::json throws on a type mismatch in value(); no exception leaves a decoder.
  try {
    return decodeStatusUnchecked(text);
  } catch (const std::exception& e) {  // json::exception, or out_of_range from optionalField
    return core::makeError(std::string("malformed message: ") + e.what());
  }
}

}  // namespace vcgate::bus
