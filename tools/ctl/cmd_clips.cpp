// clips, fetch: the evidence the gateway holds, and a copy of it here.
// Both speak the request channel (docs/protocol.md section 7.2), so they work
// against the local control socket and against the platform's commands
// endpoint alike (-e tcp://HOST:PORT).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <iostream>
#include <memory>
#include <thread>

#include <fmt/format.h>

#include "gateway/core/sha256.h"
#include "tools/ctl/ctl.h"

namespace vcgate::ctl {
namespace {

using Clock = std::chrono::steady_clock;

struct ClipsArgs {
  std::string alarm;
  std::string camera;
  int64_t from_us = 0;
  int64_t to_us = 0;
};

int listClips(Ctl& ctl, const ClipsArgs& args) {
  json request = json::object();
  if (!args.alarm.empty()) request["alarm"] = args.alarm;
  if (!args.camera.empty()) request["camera"] = args.camera;
  if (args.from_us) request["from_us"] = args.from_us;
  if (args.to_us) request["to_us"] = args.to_us;
  Gateway gateway(ctl.options);
  auto result = gateway.call("clip.list", request);
  if (!result) return reportError(ctl.options, result.error());
  if (ctl.options.json) {
    printJson(*result);
    return kExitOk;
  }
  const json clips = result->value("clips", json::array());
  if (clips.empty()) {
    fmt::print("no clips{}\n", request.empty() ? "" : " match");
    return kExitOk;
  }
  fmt::print("{:<66} {:<11} {:>8} {:>6} {:>10} {:>7}\n", "CLIP", "STATE", "START", "LENGTH", "SIZE", "FRAMES");
  uint64_t total = 0;
  for (const auto& c : clips) {
    const int64_t start = c.value("start_us", int64_t{0}), end = c.value("end_us", int64_t{0});
    const uint64_t size = c.value("size", uint64_t{0});
    total += size;
    fmt::print("{:<66} {:<11} {:>8} {:>6} {:>10} {:>7}\n", c.value("id", ""), c.value("state", ""), formatClock(start),
               fmt::format("{:.1f} s", static_cast<double>(end - start) / 1e6), formatBytes(static_cast<double>(size)),
               c.value("frames", 0));
  }
  fmt::print("{} clip(s), {}{}\n", clips.size(), formatBytes(static_cast<double>(total)),
             result->value("truncated", false) ? " (more not shown: narrow with --alarm, --camera, --from-us)" : "");
  return kExitOk;
}

struct FetchArgs {
  std::string id;
  std::string file;
  int64_t chunk_bytes = 1 << 20;
  double wait_s = 120;  // how long a recording clip may take to grow before we give up
};

// A snapshot id ("<alarm>/<camera>.jpg"): one request, the whole JPEG.
int fetchSnapshot(Ctl& ctl, const FetchArgs& args) {
  Gateway gateway(ctl.options);
  const auto started = Clock::now();
  auto reply = gateway.callWithData("snapshot.fetch", {{"id", args.id}});
  if (!reply) return reportError(ctl.options, reply.error());
  const std::string expected = reply->result.value("sha256", "");
  if (core::sha256Hex(reply->data) != expected)
    return reportError(ctl.options, core::makeCodedError("checksum_mismatch",
                                                         fmt::format("the snapshot arrived damaged (sha256 {} but the "
                                                                     "gateway says {}): fetch it again",
                                                                     core::sha256Hex(reply->data), expected)));
  const std::string temporary = args.file + ".part";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || ::write(fd, reply->data.data(), reply->data.size()) != static_cast<ssize_t>(reply->data.size()) ||
      ::close(fd) != 0 || ::rename(temporary.c_str(), args.file.c_str()) != 0)
    return reportError(ctl.options, core::makeCodedError("write", fmt::format("cannot write {}: {}", args.file,
                                                                              std::strerror(errno))));
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  json out = reply->result;
  out["file"] = args.file;
  out["seconds"] = seconds;
  out["verified"] = true;
  if (ctl.options.json)
    printJson(out);
  else
    fmt::print("fetched snapshot {} -> {}: {}x{} JPEG, {} bytes, in {:.2f} s; sha256 {} verified\n", args.id, args.file,
               out.value("width", 0), out.value("height", 0), reply->data.size(), seconds, expected);
  return kExitOk;
}

// A clip: chunk after chunk, appended to FILE, so that an interrupted fetch
// leaves a partial FILE the next run continues from.
int fetchClip(Ctl& ctl, const FetchArgs& args) {
  installStopHandler();
  Gateway gateway(ctl.options);
  // An existing FILE is a partial copy: continue at its end. FILE is only
  // created once the gateway has answered, so a refusal leaves nothing behind.
  struct stat st {};
  const uint64_t resumed_from = ::stat(args.file.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  uint64_t offset = resumed_from;
  int fd = -1;
  const auto started = Clock::now();
  auto last_progress = Clock::now();
  int chunks = 0;
  json last;
  const auto fail = [&](const core::Error& error) {
    if (fd >= 0) ::close(fd);
    return reportError(ctl.options, error);
  };
  const auto openFile = [&]() -> bool {
    if (fd < 0) fd = ::open(args.file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    return fd >= 0;
  };
  while (true) {
    if (stopRequested().load())
      return fail(core::makeCodedError("interrupted", fmt::format("stopped at byte {} of {}: run the same command "
                                                                  "again to continue",
                                                                  offset, args.file)));
    auto reply = gateway.callWithData("clip.fetch", {{"id", args.id}, {"offset", offset}, {"max_bytes", args.chunk_bytes}});
    if (!reply) {
      if (reply.error().code == "bad_offset")
        return fail(core::makeCodedError(
            "bad_offset", fmt::format("{} already has {} bytes, more than the clip: it is not a partial copy of {} "
                                      "(remove it, or fetch into another file)",
                                      args.file, offset, args.id)));
      return fail(reply.error());
    }
    last = reply->result;
    ++chunks;
    const auto& data = reply->data;
    if (!openFile())
      return fail(core::makeCodedError("write", fmt::format("cannot write {}: {}", args.file, std::strerror(errno))));
    if (!data.empty()) {
      size_t written = 0;
      while (written < data.size()) {
        const ssize_t n = ::write(fd, data.data() + written, data.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0)
          return fail(core::makeCodedError("write", fmt::format("cannot write {}: {} ({} bytes written so far; run "
                                                                "again to continue)",
                                                                args.file, std::strerror(errno), offset)));
        written += static_cast<size_t>(n);
      }
      offset += data.size();
      last_progress = Clock::now();
    }
    if (last.value("eof", false)) break;
    if (data.empty()) {
      // A recording clip: we have all it holds so far; it grows by a GOP at a time.
      if (Clock::now() - last_progress > std::chrono::duration<double>(args.wait_s))
        return fail(core::makeCodedError(
            "timeout", fmt::format("clip {} is still recording and did not grow for {:.0f} s; {} bytes fetched into "
                                   "{} (run again to continue)",
                                   args.id, args.wait_s, offset, args.file)));
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
  }
  ::fsync(fd);
  ::close(fd);
  const std::string expected = last.value("sha256", "");
  auto local = core::sha256File(args.file);
  if (!local) return reportError(ctl.options, core::makeCodedError("read", local.error().message));
  if (*local != expected)
    return reportError(ctl.options,
                       core::makeCodedError("checksum_mismatch",
                                            fmt::format("{} does not match clip {}: sha256 {}, the gateway says {} "
                                                        "(was {} a partial copy of another clip? remove it and fetch "
                                                        "again)",
                                                        args.file, args.id, *local, expected, args.file)));
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  const json out = {{"id", args.id},         {"file", args.file},         {"size", offset},
                    {"resumed_from", resumed_from}, {"chunks", chunks},  {"seconds", seconds},
                    {"state", last.value("state", "")}, {"sha256", expected}, {"verified", true}};
  if (ctl.options.json) {
    printJson(out);
  } else {
    fmt::print("fetched {} -> {}: {} bytes ({}){} in {:.2f} s, {} request(s); sha256 {} verified\n", args.id,
               args.file, offset, formatBytes(static_cast<double>(offset)),
               resumed_from ? fmt::format(", resumed at byte {}", resumed_from) : std::string(), seconds, chunks,
               expected);
  }
  return kExitOk;
}

}  // namespace

void addClipCommands(CLI::App& app, Ctl& ctl) {
  auto clips_args = std::make_shared<ClipsArgs>();
  auto* clips = app.add_subcommand("clips", "List the evidence clips the gateway holds (newest last)");
  clips->add_option("--alarm", clips_args->alarm, "Only the clips of this alarm (32 hex digits)");
  clips->add_option("--camera", clips_args->camera, "Only the clips of this camera");
  clips->add_option("--from-us", clips_args->from_us, "Only clips that end at or after this time (µs since the epoch)");
  clips->add_option("--to-us", clips_args->to_us, "Only clips that start at or before this time (µs since the epoch)");
  clips->footer(
      "JSON: {\"clips\":[{\"id\",\"alarm\",\"camera\",\"part\",\"state\",\"start_us\",\"end_us\",\"size\",\"frames\",\n"
      "\"sha256\",...}],\"truncated\"} as clip.list answers (docs/protocol.md section 7.2).\n"
      "Works on the control socket or the platform's commands endpoint: -e tcp://HOST:PORT.");
  clips->callback([&ctl, clips_args] { ctl.exit_code = listClips(ctl, *clips_args); });

  auto fetch_args = std::make_shared<FetchArgs>();
  auto* fetch = app.add_subcommand(
      "fetch", "Copy a clip (or an alarm snapshot) from the gateway into FILE, in chunks; resumes a partial FILE");
  fetch->add_option("CLIP", fetch_args->id,
                    "Clip id as 'clips' lists it (YYYY-MM-DD/<alarm>/<camera>.mp4), or a snapshot id "
                    "(<alarm>/<camera>.jpg, from the alarm event)")
      ->required();
  fetch->add_option("FILE", fetch_args->file, "Where to write it; if it exists, the fetch continues at its end")
      ->required();
  fetch->add_option("--chunk-bytes", fetch_args->chunk_bytes, "Bytes per request, 4 KiB to 4 MiB (default 1 MiB)")
      ->check(CLI::Range(int64_t{4096}, int64_t{4} << 20));
  fetch->add_option("--wait", fetch_args->wait_s,
                    "A clip still recording: give up when it has not grown for this many seconds (default 120)")
      ->check(CLI::PositiveNumber);
  fetch->footer(
      "The whole file is verified against the gateway's SHA-256 at the end (sha256sum FILE prints the same).\n"
      "Ctrl-C, a lost connection or a timeout leave FILE partial: run the same command again to continue.\n"
      "JSON: {\"id\",\"file\",\"size\",\"resumed_from\",\"chunks\",\"seconds\",\"state\",\"sha256\",\"verified\"}.\n"
      "Exit codes: 0 fetched and verified, 1 refused or checksum mismatch, 3 gateway not reachable.");
  fetch->callback([&ctl, fetch_args] {
    ctl.exit_code = fetch_args->id.ends_with(".jpg") ? fetchSnapshot(ctl, *fetch_args) : fetchClip(ctl, *fetch_args);
  });
}

}  // namespace vcgate::ctl
