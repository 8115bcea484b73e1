#include "gateway/evidence/clip_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "gateway/core/sha256.h"
#include "gateway/evidence/mp4_writer.h"

namespace vcgate::evidence {
namespace {

namespace fs = std::filesystem;
constexpr int kSidecarVersion = 1;

std::string utcDate(int64_t us) {
  const std::time_t seconds = static_cast<std::time_t>(us / 1'000'000);
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  return fmt::format("{:04}-{:02}-{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

bool looksLikeDate(const std::string& name) {
  if (name.size() != 10 || name[4] != '-' || name[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (name[i] < '0' || name[i] > '9') return false;
  return true;
}

// "<camera>" -> part 1, "<camera>.<n>" -> part n.
std::optional<std::pair<std::string, int>> cameraAndPart(const std::string& stem) {
  const auto dot = stem.find('.');
  if (dot == std::string::npos) {
    if (!validCameraId(stem)) return std::nullopt;
    return std::pair{stem, 1};
  }
  const std::string camera = stem.substr(0, dot);
  const std::string digits = stem.substr(dot + 1);
  int part = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), part);
  if (!validCameraId(camera) || ec != std::errc() || end != digits.data() + digits.size() || part < 2)
    return std::nullopt;
  return std::pair{camera, part};
}

std::optional<core::VideoCodec> codecFromName(std::string_view name) {
  if (name == core::codecName(core::VideoCodec::kH264)) return core::VideoCodec::kH264;
  if (name == core::codecName(core::VideoCodec::kH265)) return core::VideoCodec::kH265;
  return std::nullopt;
}

int64_t mtimeMicros(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000 + st.st_mtim.tv_nsec / 1000;
}

std::string errnoText(int err) {
  switch (err) {
    case ENOSPC:
      return "the disk is full (no space left on device)";
    case EACCES:
    case EPERM:
      return "permission denied";
    case EROFS:
      return "the file system is read-only";
    case EIO:
      return "input/output error (the storage may be failing)";
    default:
      return std::strerror(err);
  }
}

}  // namespace

std::string_view clipStateName(ClipState state) {
  switch (state) {
    case ClipState::kRecording:
      return "recording";
    case ClipState::kComplete:
      return "complete";
    case ClipState::kInterrupted:
      return "interrupted";
    case ClipState::kFailed:
      return "failed";
  }
  return "recording";
}

std::optional<ClipState> clipStateFromName(std::string_view name) {
  for (auto state : {ClipState::kRecording, ClipState::kComplete, ClipState::kInterrupted, ClipState::kFailed})
    if (clipStateName(state) == name) return state;
  return std::nullopt;
}

bool validCameraId(const std::string& camera) {
  return !camera.empty() && camera.size() <= 64 && std::all_of(camera.begin(), camera.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '-';
  });
}

std::string clipRelativePath(int64_t start_us, const alarm::AlarmId& alarm, const std::string& camera, int part) {
  const std::string file = part <= 1 ? camera + ".mp4" : fmt::format("{}.{}.mp4", camera, part);
  return fmt::format("{}/{}/{}", utcDate(start_us), alarm.hex(), file);
}

bool validClipId(const std::string& id) {
  // YYYY-MM-DD/<32 hex>/<camera>[.N].mp4
  if (id.size() > 10 + 1 + 32 + 1 + 64 + 16) return false;
  const auto first = id.find('/');
  const auto second = first == std::string::npos ? std::string::npos : id.find('/', first + 1);
  if (first != 10 || second != 10 + 1 + 32) return false;
  if (!looksLikeDate(id.substr(0, 10)) || !alarm::AlarmId::fromHex(id.substr(11, 32))) return false;
  const std::string file = id.substr(second + 1);
  if (!file.ends_with(".mp4")) return false;
  return cameraAndPart(file.substr(0, file.size() - 4)).has_value();
}

std::string snapshotId(const alarm::AlarmId& alarm, const std::string& camera) {
  return fmt::format("{}/{}.jpg", alarm.hex(), camera);
}

std::optional<std::pair<int, int>> jpegSize(const std::vector<uint8_t>& jpeg) {
  // Markers after SOI: FF xx, then a 16-bit big-endian length (which counts
  // itself). A start-of-frame (C0-CF but C4, C8, CC) holds precision, height, width.
  size_t i = 2;
  if (jpeg.size() < 4 || jpeg[0] != 0xFF || jpeg[1] != 0xD8) return std::nullopt;
  while (i + 4 <= jpeg.size()) {
    if (jpeg[i] != 0xFF) return std::nullopt;
    const uint8_t marker = jpeg[i + 1];
    if (marker == 0xFF) {  // fill byte
      ++i;
      continue;
    }
    const size_t length = (size_t{jpeg[i + 2]} << 8) | jpeg[i + 3];
    if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) {
      if (i + 9 > jpeg.size()) return std::nullopt;
      const int height = (jpeg[i + 5] << 8) | jpeg[i + 6];
      const int width = (jpeg[i + 7] << 8) | jpeg[i + 8];
      return std::pair{width, height};
    }
    if (marker == 0xDA || length < 2) return std::nullopt;  // scan data before any frame header
    i += 2 + length;
  }
  return std::nullopt;
}

std::string sidecarPath(const std::string& clip_path) {
  return fs::path(clip_path).replace_extension(".json").string();
}

core::Result<void> writeSidecar(const ClipInfo& clip, bool durable) {
  const nlohmann::json j = {
      {"version", kSidecarVersion},
      {"alarm", clip.alarm.hex()},
      {"camera", clip.camera},
      {"part", clip.part},
      {"level", clip.level},
      {"codec", std::string(core::codecName(clip.codec))},
      {"start_us", clip.start_us},
      {"end_us", clip.end_us},
      {"frames", clip.frames},
      {"dropped_units", clip.dropped_units},
      {"state", std::string(clipStateName(clip.state))},
      {"acknowledged", clip.acknowledged},
      {"note", clip.note},
      {"sha256", clip.sha256},
  };
  const std::string text = j.dump() + "\n";
  const std::string path = sidecarPath(clip.path);
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return core::makeError(fmt::format("cannot write {}: {}", tmp, errnoText(errno)));
  int err = 0;
  if (::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) err = errno ? errno : EIO;
  if (!err && durable && ::fdatasync(fd) != 0) err = errno;
  ::close(fd);
  if (!err && ::rename(tmp.c_str(), path.c_str()) != 0) err = errno;
  if (err) {
    ::unlink(tmp.c_str());
    return core::makeError(fmt::format("cannot write {}: {}", path, errnoText(err)));
  }
  return {};
}

std::optional<ClipInfo> readSidecar(const std::string& clip_path, std::string* why) {
  const std::string path = sidecarPath(clip_path);
  std::ifstream in(path);
  if (!in) {
    if (why) *why = fmt::format("{} is missing", path);
    return std::nullopt;
  }
  const auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  auto fail = [&](const std::string& what) -> std::optional<ClipInfo> {
    if (why) *why = fmt::format("{} is unreadable: {}", path, what);
    return std::nullopt;
  };
  if (!j.is_object()) return fail("not a JSON object");
  if (j.value("version", 0) != kSidecarVersion) return fail("unknown version");
  ClipInfo clip;
  try {
    const auto alarm = alarm::AlarmId::fromHex(j.at("alarm").get<std::string>());
    const auto state = clipStateFromName(j.at("state").get<std::string>());
    const auto codec = codecFromName(j.at("codec").get<std::string>());
    if (!alarm || !state || !codec) return fail("bad alarm, state or codec");
    clip.alarm = *alarm;
    clip.state = *state;
    clip.codec = *codec;
    clip.camera = j.at("camera").get<std::string>();
    clip.part = j.at("part").get<int>();
    clip.level = j.at("level").get<int>();
    clip.start_us = j.at("start_us").get<int64_t>();
    clip.end_us = j.at("end_us").get<int64_t>();
    clip.frames = j.at("frames").get<uint64_t>();
    clip.dropped_units = j.value("dropped_units", uint64_t{0});
    clip.acknowledged = j.at("acknowledged").get<bool>();
    clip.note = j.value("note", std::string());
    clip.sha256 = j.value("sha256", std::string());
  } catch (const nlohmann::json::exception& e) {
    // Control plane (start-up scan), not the streaming path: a typed field
    // of the wrong type is reported like any other unreadable file.
    return fail(e.what());
  }
  clip.path = clip_path;
  return clip;
}

core::Result<uint64_t> trimToCompleteBoxes(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return core::makeError(fmt::format("cannot open {} to repair it: {}", path, errnoText(errno)));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return core::makeError(fmt::format("cannot read the size of {}: {}", path, errnoText(err)));
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  uint64_t at = 0, good_end = 0;
  while (at + 8 <= size) {
    uint8_t h[16];
    if (::pread(fd, h, 8, static_cast<off_t>(at)) != 8) break;
    uint64_t box = uint64_t{h[0]} << 24 | uint64_t{h[1]} << 16 | uint64_t{h[2]} << 8 | h[3];
    const std::string type(reinterpret_cast<const char*>(h + 4), 4);
    if (box == 0) {  // "to the end of the file": complete by definition
      good_end = size;
      break;
    }
    if (box == 1) {
      if (at + 16 > size || ::pread(fd, h + 8, 8, static_cast<off_t>(at + 8)) != 8) break;
      box = 0;
      for (int i = 8; i < 16; ++i) box = box << 8 | h[i];
    }
    if (box < 8 || box > size - at) break;  // cut inside this box
    at += box;
    // A moof is only of use with the mdat after it.
    if (type != "moof") good_end = at;
  }
  uint64_t removed = 0;
  if (good_end < size) {
    if (::ftruncate(fd, static_cast<off_t>(good_end)) != 0) {
      const int err = errno;
      ::close(fd);
      return core::makeError(fmt::format("cannot cut the damaged end off {}: {}", path, errnoText(err)));
    }
    ::fdatasync(fd);
    removed = size - good_end;
  }
  ::close(fd);
  return removed;
}

ScanResult scanEvidenceDir(const std::string& dir) {
  ScanResult result;
  std::error_code ec;
  for (fs::directory_iterator day(dir, ec), end; !ec && day != end; day.increment(ec)) {
    const std::string day_name = day->path().filename().string();
    std::error_code type_ec;
    if (!looksLikeDate(day_name) || !day->is_directory(type_ec)) continue;
    std::error_code ec2;
    for (fs::directory_iterator alarm_dir(day->path(), ec2); !ec2 && alarm_dir != end; alarm_dir.increment(ec2)) {
      const std::string alarm_name = alarm_dir->path().filename().string();
      const auto alarm = alarm::AlarmId::fromHex(alarm_name);
      if (!alarm || !alarm_dir->is_directory(type_ec)) continue;
      std::vector<fs::path> files;
      std::error_code ec3;
      for (fs::directory_iterator f(alarm_dir->path(), ec3); !ec3 && f != end; f.increment(ec3))
        files.push_back(f->path());
      std::sort(files.begin(), files.end());
      for (const auto& file : files) {
        const std::string name = file.filename().string();
        if (name.ends_with(".tmp")) {
          // A metadata write cut short: the previous version (if any) is intact.
          std::error_code ignored;
          fs::remove(file, ignored);
          continue;
        }
        if (file.extension() == ".json") {
          std::error_code exists_ec;
          if (!fs::exists(fs::path(file).replace_extension(".mp4"), exists_ec) && !exists_ec) {
            // Pruning deletes the clip, then its metadata: a crash in between leaves this.
            std::error_code ignored;
            fs::remove(file, ignored);
            result.problems.push_back(fmt::format("removed {}: its clip no longer exists", file.string()));
          }
          continue;
        }
        if (file.extension() != ".mp4") continue;
        const auto cp = cameraAndPart(file.stem().string());
        if (!cp) {
          result.problems.push_back(fmt::format("{} is not named like a clip (<camera>.mp4): left alone", file.string()));
          continue;
        }
        std::string why;
        auto sidecar = readSidecar(file.string(), &why);
        ClipInfo clip = sidecar ? *sidecar : ClipInfo{};
        clip.path = file.string();
        clip.id = fmt::format("{}/{}/{}", day_name, alarm_name, name);
        clip.alarm = *alarm;
        clip.camera = cp->first;
        clip.part = cp->second;
        if (!sidecar || clip.state == ClipState::kRecording) {
          // Left open by a crash or power loss. The fragments written before
          // it are complete and play; a half-written last one is cut off.
          std::string note = sidecar ? "the gateway stopped while recording"
                                     : fmt::format("the gateway stopped while recording ({})", why);
          if (auto trimmed = trimToCompleteBoxes(clip.path); !trimmed) {
            note += "; " + trimmed.error().message;
          } else if (*trimmed > 0) {
            note += fmt::format("; {} byte(s) of an unfinished fragment cut off", *trimmed);
          }
          const PlayableReport report = verifyPlayable(clip.path);
          clip.frames = static_cast<uint64_t>(report.frames_decoded);
          if (report.ok) {
            note += fmt::format("; {} frame(s) play ({:.1f} s)", report.frames_decoded, report.duration_s);
          } else {
            note += "; " + report.error;
          }
          if (!sidecar) {
            clip.end_us = mtimeMicros(clip.path);
            clip.start_us = clip.end_us - static_cast<int64_t>(report.duration_s * 1e6);
            clip.codec = report.codec == "hevc" ? core::VideoCodec::kH265 : core::VideoCodec::kH264;
          } else if (clip.start_us > 0) {
            // Frames of the last fragment may be gone: end where what plays ends.
            clip.end_us = std::max(clip.start_us, clip.start_us + static_cast<int64_t>(report.duration_s * 1e6));
          }
          clip.state = ClipState::kInterrupted;
          clip.note = note;
          clip.sha256.clear();  // the file may have been trimmed
          if (auto written = writeSidecar(clip, true); !written) result.problems.push_back(written.error().message);
          result.interrupted.push_back(clip);
        }
        if (clip.sha256.empty()) {
          // Fetches hand the platform a checksum of the whole file: computed
          // once here for a clip that has none yet, then kept in its metadata.
          if (auto digest = core::sha256File(clip.path); digest) {
            clip.sha256 = *digest;
            if (auto written = writeSidecar(clip, true); !written) result.problems.push_back(written.error().message);
          } else {
            result.problems.push_back(digest.error().message);
          }
        }
        std::error_code size_ec;
        const auto size = fs::file_size(clip.path, size_ec);
        clip.bytes = size_ec ? 0 : size;
        result.clips.push_back(std::move(clip));
      }
      std::error_code ignored;
      if (fs::is_empty(alarm_dir->path(), ignored)) fs::remove(alarm_dir->path(), ignored);
    }
  }
  if (ec) result.problems.push_back(fmt::format("cannot list {}: {}", dir, ec.message()));
  return result;
}

}  // namespace vcgate::evidence
