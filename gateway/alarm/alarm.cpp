#include "gateway/alarm/alarm.h"

namespace vcgate::alarm {

AlarmId AlarmId::random(std::mt19937_64& rng) {
  AlarmId id;
  for (size_t i = 0; i < id.bytes.size(); i += 8) {
    const uint64_t r = rng();
    for (size_t j = 0; j < 8; ++j) id.bytes[i + j] = static_cast<uint8_t>(r >> (8 * j));
  }
  return id;
}

std::optional<AlarmId> AlarmId::fromHex(std::string_view hex) {
  if (hex.size() != 32) return std::nullopt;
  AlarmId id;
  const auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i < 16; ++i) {
    const int hi = nibble(hex[2 * i]);
    const int lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    id.bytes[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return id;
}

std::string AlarmId::hex() const {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(32, '0');
  for (size_t i = 0; i < 16; ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0xf];
  }
  return out;
}

std::string_view eventName(AlarmEventKind kind) {
  switch (kind) {
    case AlarmEventKind::kRaised: return "raised";
    case AlarmEventKind::kUpdated: return "updated";
    case AlarmEventKind::kCleared: return "cleared";
    case AlarmEventKind::kAcknowledged: return "acknowledged";
  }
  return "unknown";
}

std::optional<AlarmEventKind> eventKindFromName(std::string_view name) {
  for (auto kind : {AlarmEventKind::kRaised, AlarmEventKind::kUpdated, AlarmEventKind::kCleared,
                    AlarmEventKind::kAcknowledged})
    if (eventName(kind) == name) return kind;
  return std::nullopt;
}

}  // namespace vcgate::alarm
