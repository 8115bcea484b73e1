#include "firmware/board/thermal.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include <fmt/format.h>

namespace vcgate::board {

namespace fs = std::filesystem;

namespace {

std::string readSmallFile(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return {};
  std::string text(256, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  return text;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.pop_back();
  return s;
}

// thermal_zone0, thermal_zone1, ... in numeric order.
std::vector<fs::path> zones(const fs::path& dir) {
  std::vector<std::pair<long, fs::path>> found;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    constexpr std::string_view prefix = "thermal_zone";
    if (name.rfind(prefix, 0) != 0) continue;
    long n = 0;
    const char* first = name.data() + prefix.size();
    const char* last = name.data() + name.size();
    auto [ptr, err] = std::from_chars(first, last, n);
    if (err != std::errc() || ptr != last || first == last) continue;
    found.emplace_back(n, it->path());
  }
  std::sort(found.begin(), found.end());
  std::vector<fs::path> out;
  for (auto& [n, p] : found) out.push_back(p);
  return out;
}

}  // namespace

std::optional<double> parseMilliCelsius(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\r')) text.remove_suffix(1);
  if (text.empty()) return std::nullopt;
  long long milli = 0;
  auto [ptr, err] = std::from_chars(text.data(), text.data() + text.size(), milli);
  if (err != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  const double c = static_cast<double>(milli) / 1000.0;
  if (c < -273.15 || c > 1000.0) return std::nullopt;
  return c;
}

std::optional<double> readTemperature(const std::string& temp_path) {
  return parseMilliCelsius(readSmallFile(temp_path));
}

core::Result<std::string> findThermalZone(const std::string& sysfs_root, const std::string& zone) {
  if (!zone.empty() && zone.front() == '/') {
    if (!fs::exists(zone)) return core::makeError(fmt::format("thermal zone file {} does not exist", zone));
    return zone;
  }
  const fs::path dir = fs::path(sysfs_root) / "class" / "thermal";
  const auto all = zones(dir);
  if (all.empty()) return core::makeError(fmt::format("no thermal zones under {}", dir.string()));
  if (zone.empty()) {
    for (const auto& z : all)
      if (readTemperature((z / "temp").string())) return (z / "temp").string();
    return core::makeError(fmt::format("no readable thermal zone under {}", dir.string()));
  }
  for (const auto& z : all)
    if (z.filename() == zone) return (z / "temp").string();
  for (const auto& z : all)
    if (trim(readSmallFile(z / "type")) == zone) return (z / "temp").string();
  return core::makeError(fmt::format("no thermal zone named or of type '{}' under {}", zone, dir.string()));
}

}  // namespace vcgate::board
