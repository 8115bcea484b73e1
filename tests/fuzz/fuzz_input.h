// How the fuzz targets cut libFuzzer's bytes into the frames of one ZeroMQ
// multipart message, and how the seed generator (make_seeds.cpp) writes real
// messages in that form. Shared so the two can never disagree.
//
// Layout: byte 0 = frame count - 1 (modulo kMaxFrames), then every frame but
// the last as [2-byte little-endian length][bytes] (a length past the end is
// cut to what is left), then the last frame: the rest of the input.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vcgate::fuzz {

inline constexpr size_t kMaxFrames = 6;  // more than any v1 message has (3)

inline std::vector<std::string_view> splitFrames(const uint8_t* data, size_t size) {
  std::vector<std::string_view> frames;
  if (size == 0) return frames;
  const size_t count = 1 + data[0] % kMaxFrames;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  for (size_t i = 0; i + 1 < count; ++i) {
    size_t length = 0;
    if (rest.size() >= 2) {
      length = static_cast<uint8_t>(rest[0]) | static_cast<size_t>(static_cast<uint8_t>(rest[1])) << 8;
      rest.remove_prefix(2);
    } else {
      rest = {};
    }
    length = std::min(length, rest.size());
    frames.push_back(rest.substr(0, length));
    rest.remove_prefix(length);
  }
  frames.push_back(rest);
  return frames;
}

inline std::string joinFrames(const std::vector<std::string>& frames) {
  std::string out(1, static_cast<char>(frames.size() - 1));
  for (size_t i = 0; i < frames.size(); ++i) {
    if (i + 1 < frames.size()) {
      out.push_back(static_cast<char>(frames[i].size() & 0xff));
      out.push_back(static_cast<char>(frames[i].size() >> 8 & 0xff));
    }
    out += frames[i];
  }
  return out;
}

}  // namespace vcgate::fuzz
