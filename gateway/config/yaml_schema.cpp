#include "gateway/config/yaml_schema.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <map>
#include <tuple>

#include <fmt/format.h>

#include "gateway/core/uri.h"

namespace vcgate::config {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Lower-case without '_' and '-', so that latencyMs, Latency-MS and
// latency_ms all meet: technicians copy keys from other tools' docs.
std::string normalizeKey(std::string_view s) {
  std::string out;
  for (unsigned char c : s)
    if (c != '_' && c != '-') out.push_back(static_cast<char>(std::tolower(c)));
  return out;
}

// Optimal string alignment distance: Levenshtein plus adjacent swaps, because
// "laod" for "load" is the commonest typo and should cost one.
size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

std::string joinKeys(std::span<const Field> fields) {
  std::string out;
  for (const auto& f : fields) {
    if (!out.empty()) out += ", ";
    out += f.key;
  }
  return out;
}

// A scalar's text, or empty after reporting that the value has the wrong shape.
std::optional<std::string> scalarText(const Entry& e, std::string_view expected, Diagnostics& diag) {
  if (e.value.IsScalar()) return e.value.Scalar();
  diag.error(e.at(), fmt::format("{} must be {}, got {}", e.name, expected, describe(e.value)));
  return std::nullopt;
}

struct Suffix {
  std::string_view name;  // lower-case
  uint64_t factor;
};
constexpr Suffix kSizeSuffixes[] = {
    {"", 1},
    {"b", 1},
    {"kib", 1ull << 10},
    {"mib", 1ull << 20},
    {"gib", 1ull << 30},
    {"kb", 1'000},
    {"mb", 1'000'000},
    {"gb", 1'000'000'000},
};

}  // namespace

Location locationOf(const YAML::Mark& mark) {
  if (mark.line < 0) return {};
  return {mark.line + 1, mark.column + 1};
}

Location locationOf(const YAML::Node& node) { return locationOf(node.Mark()); }

Location Entry::at() const { return value.IsNull() ? keyAt() : locationOf(value); }

void Diagnostics::error(Location at, std::string message) {
  list_.push_back(Diagnostic{file_, at.line, at.column, std::move(message)});
}

std::vector<Diagnostic> Diagnostics::take() {
  std::stable_sort(list_.begin(), list_.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.line, a.column) < std::tie(b.line, b.column);
  });
  const auto same = [](const Diagnostic& a, const Diagnostic& b) {
    return a.line == b.line && a.column == b.column && a.message == b.message;
  };
  list_.erase(std::unique(list_.begin(), list_.end(), same), list_.end());
  return std::move(list_);
}

bool walkMapping(const YAML::Node& map, Location at, std::span<const Field> fields, const std::string& prefix,
                 const std::string& where, Diagnostics& diag) {
  if (!map.IsNull() && !map.IsMap()) {
    diag.error(map.IsDefined() ? locationOf(map) : at,
               fmt::format("{} must be a mapping of 'key: value' lines, got {}", where, describe(map)));
    return false;
  }

  std::vector<std::string_view> keys;
  for (const auto& f : fields) keys.push_back(f.key);

  std::map<std::string, int, std::less<>> seen;  // key -> line of its first use
  if (map.IsMap()) {
    for (auto it = map.begin(); it != map.end(); ++it) {
      const YAML::Node key = it->first;
      const std::string name = key.IsScalar() ? key.Scalar() : std::string();
      const Location key_at = locationOf(key);

      if (const auto first = seen.find(name); first != seen.end()) {
        diag.error(key_at, fmt::format("'{}' is set twice in {} (first on line {}); keep one of them", prefix + name,
                                       where, first->second));
        continue;
      }
      seen.emplace(name, key_at.line);

      const auto field = std::find_if(fields.begin(), fields.end(), [&](const Field& f) { return f.key == name; });
      if (field == fields.end()) {
        if (const std::string close = suggest(name, keys); !close.empty())
          diag.error(key_at, fmt::format("unknown key '{}' in {}: did you mean '{}'?", name, where, close));
        else
          diag.error(key_at, fmt::format("unknown key '{}' in {}; valid keys are: {}", name, where, joinKeys(fields)));
        continue;
      }
      field->read(Entry{key, it->second, prefix + name});
    }
  }

  for (const auto& f : fields) {
    if (!f.required || seen.contains(f.key)) continue;
    std::string message = fmt::format("{} has no '{}'", where, f.key);
    if (!f.hint.empty()) message += fmt::format(": {}", f.hint);
    diag.error(at, std::move(message));
  }
  return true;
}

std::string suggest(std::string_view word, std::span<const std::string_view> candidates) {
  const std::string w = normalizeKey(word);
  // Two edits turn a short word into almost any other short word ("foo" ->
  // "loop"): allow one edit below five characters, two above.
  const size_t limit = w.size() < 5 ? 1 : 2;
  std::string best;
  size_t best_distance = limit + 1;
  for (const auto candidate : candidates) {
    const size_t d = editDistance(w, normalizeKey(candidate));
    if (d < best_distance) {
      best_distance = d;
      best = std::string(candidate);
    }
  }
  return best;
}

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar: {
      std::string text = core::redactText(node.Scalar());
      if (text.size() > 60) text = text.substr(0, 57) + "...";
      return fmt::format("'{}'", text);
    }
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    default:
      return "nothing";
  }
}

std::optional<uint64_t> parseByteSize(std::string_view text) {
  text = trim(text);
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0) return std::nullopt;
  uint64_t number = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + digits, number);
  if (ec != std::errc() || end != text.data() + digits) return std::nullopt;
  const std::string suffix = lower(trim(text.substr(digits)));
  for (const auto& s : kSizeSuffixes) {
    if (s.name != suffix) continue;
    if (number > UINT64_MAX / s.factor) return std::nullopt;
    return number * s.factor;
  }
  return std::nullopt;
}

std::string formatByteSize(uint64_t bytes) {
  if (bytes != 0) {
    if (bytes % (1ull << 30) == 0) return fmt::format("{}GiB", bytes >> 30);
    if (bytes % (1ull << 20) == 0) return fmt::format("{}MiB", bytes >> 20);
    if (bytes % (1ull << 10) == 0) return fmt::format("{}KiB", bytes >> 10);
  }
  return fmt::format("{}B", bytes);
}

std::optional<int64_t> readInteger(const Entry& e, int64_t lo, int64_t hi, Diagnostics& diag) {
  const auto text = scalarText(e, "an integer", diag);
  if (!text) return std::nullopt;
  std::string_view digits = trim(*text);
  if (digits.starts_with('+')) digits.remove_prefix(1);
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || end != digits.data() + digits.size() ||
      (ec != std::errc() && ec != std::errc::result_out_of_range)) {
    diag.error(e.at(), fmt::format("{} must be an integer, got {}", e.name, describe(e.value)));
    return std::nullopt;
  }
  if (ec == std::errc::result_out_of_range || value < lo || value > hi) {
    diag.error(e.at(), fmt::format("{} must be between {} and {}, got {}", e.name, lo, hi, digits));
    return std::nullopt;
  }
  return value;
}

std::optional<double> readNumber(const Entry& e, double lo, double hi, Diagnostics& diag) {
  const auto text = scalarText(e, "a number", diag);
  if (!text) return std::nullopt;
  std::string_view digits = trim(*text);
  if (digits.starts_with('+')) digits.remove_prefix(1);
  double value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || !std::isfinite(value)) {
    diag.error(e.at(), fmt::format("{} must be a number, got {}", e.name, describe(e.value)));
    return std::nullopt;
  }
  if (value < lo || value > hi) {
    diag.error(e.at(), fmt::format("{} must be between {} and {}, got {}", e.name, lo, hi, digits));
    return std::nullopt;
  }
  return value;
}

std::optional<bool> readBool(const Entry& e, Diagnostics& diag) {
  const auto text = scalarText(e, "true or false", diag);
  if (!text) return std::nullopt;
  // The YAML 1.1 spellings yaml-cpp itself accepts.
  const std::string word = lower(trim(*text));
  if (word == "true" || word == "yes" || word == "on") return true;
  if (word == "false" || word == "no" || word == "off") return false;
  diag.error(e.at(), fmt::format("{} must be true or false, got {}", e.name, describe(e.value)));
  return std::nullopt;
}

std::optional<std::string> readString(const Entry& e, Diagnostics& diag) {
  const auto text = scalarText(e, "text", diag);
  if (!text) return std::nullopt;
  if (trim(*text).empty()) {
    diag.error(e.at(), fmt::format("{} must not be empty", e.name));
    return std::nullopt;
  }
  return text;
}

std::optional<uint64_t> readByteSize(const Entry& e, uint64_t lo, uint64_t hi, Diagnostics& diag) {
  const auto text = scalarText(e, "a size", diag);
  if (!text) return std::nullopt;
  const auto bytes = parseByteSize(*text);
  if (!bytes) {
    diag.error(e.at(), fmt::format("{} must be a size in bytes such as 16MiB (suffixes B, KiB, MiB, GiB, KB, MB, GB), "
                                   "got {}",
                                   e.name, describe(e.value)));
    return std::nullopt;
  }
  if (*bytes < lo || *bytes > hi) {
    diag.error(e.at(), fmt::format("{} must be between {} and {}, got {}", e.name, formatByteSize(lo),
                                   formatByteSize(hi), trim(*text)));
    return std::nullopt;
  }
  return bytes;
}

std::optional<std::string> readChoice(const Entry& e, std::span<const std::string_view> choices, Diagnostics& diag) {
  std::string list;
  for (const auto c : choices) list += fmt::format("{}{}", list.empty() ? "" : ", ", c);
  const auto text = scalarText(e, fmt::format("one of {}", list), diag);
  if (!text) return std::nullopt;
  const std::string word(trim(*text));
  if (std::find(choices.begin(), choices.end(), word) != choices.end()) return word;
  std::string message = fmt::format("{} must be one of {}, got {}", e.name, list, describe(e.value));
  if (const std::string close = suggest(word, choices); !close.empty())
    message += fmt::format(" (did you mean '{}'?)", close);
  diag.error(e.at(), std::move(message));
  return std::nullopt;
}

}  // namespace vcgate::config
