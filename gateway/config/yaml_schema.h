// Private to gateway/config: a small schema walker over yaml-cpp nodes.
//
// The loader describes each mapping as a table of Fields (key -> what to do
// with its value); walkMapping() visits the keys in file order, reports unknown
// keys (with a "did you mean" suggestion), duplicate keys and missing required
// keys, and the typed readers below report wrong types and out-of-range values.
// Nothing here stops at the first problem: every reader reports into
// Diagnostics and returns an empty optional, so a technician sees every
// mistake in one run.
//
// Pure functions over a parsed document; one Diagnostics per load, one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "gateway/config/config.h"

namespace vcgate::config {

struct Location {
  int line = 0;    // 1-based, 0 = unknown
  int column = 0;  // 1-based, 0 = unknown
};

// yaml-cpp marks are 0-based and -1 for nodes that did not come from the text.
Location locationOf(const YAML::Mark& mark);
Location locationOf(const YAML::Node& node);

// Collects the problems of one load.
class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}

  void error(Location at, std::string message);
  bool empty() const { return list_.empty(); }
  // Sorted into file order, identical entries (same place, same text) merged:
  // a mistake in camera_defaults is checked once per camera but reported once.
  std::vector<Diagnostic> take();

 private:
  std::string file_;
  std::vector<Diagnostic> list_;
};

// One key of a mapping, as found in the file.
struct Entry {
  YAML::Node key;
  YAML::Node value;
  std::string name;  // dotted name for messages, e.g. "buffering.max_bytes"

  // Where to point for a problem with the value. yaml-cpp places an empty value
  // ("key:" and nothing) at the next token, often on another line; the key is
  // the helpful place then.
  Location at() const;
  Location keyAt() const { return locationOf(key); }
};

struct Field {
  std::string_view key;
  std::function<void(const Entry&)> read;
  bool required = false;
  // Appended to "WHERE has no 'KEY'" to say what to write.
  std::string_view hint = {};
};

// Walks `map` (a mapping, or empty/null meaning "no keys"). `prefix` is put
// before each key to make Entry::name ("buffering."); `where` names the
// mapping in messages ("camera 2", "site"); `at` is where to point when a
// required key is missing or the node is not a mapping at all.
// Returns false when `map` is not a mapping (already reported).
bool walkMapping(const YAML::Node& map, Location at, std::span<const Field> fields, const std::string& prefix,
                 const std::string& where, Diagnostics& diag);

// The closest of `candidates` to `word` (edit distance <= 2, or 1 for words
// under five characters; case, '_' and '-' ignored), or empty when none is close.
std::string suggest(std::string_view word, std::span<const std::string_view> candidates);

// How a node looks, for "got ..." in messages: "'abc'" (passwords hidden),
// "a list", "a mapping" or "nothing".
std::string describe(const YAML::Node& node);

// Byte sizes: "16777216", "16MiB", "512 KiB", "2GB" (KB/MB/GB are powers of
// 1000, KiB/MiB/GiB of 1024, B is bytes). Empty on anything else.
std::optional<uint64_t> parseByteSize(std::string_view text);
// The shortest exact spelling: 65536 -> "64KiB", 1000 -> "1000B".
std::string formatByteSize(uint64_t bytes);

// Typed readers: the value, or empty after reporting why at the entry.
std::optional<int64_t> readInteger(const Entry& e, int64_t lo, int64_t hi, Diagnostics& diag);
std::optional<double> readNumber(const Entry& e, double lo, double hi, Diagnostics& diag);
std::optional<bool> readBool(const Entry& e, Diagnostics& diag);
std::optional<std::string> readString(const Entry& e, Diagnostics& diag);
std::optional<uint64_t> readByteSize(const Entry& e, uint64_t lo, uint64_t hi, Diagnostics& diag);
std::optional<std::string> readChoice(const Entry& e, std::span<const std::string_view> choices, Diagnostics& diag);

}  // namespace vcgate::config
