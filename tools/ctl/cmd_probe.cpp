// probe URI: a camera or a clip, opened and measured with FFmpeg, without the gateway.
#include <cmath>
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "gateway/probe/probe.h"
#include "tools/ctl/ctl.h"

namespace vcgate::ctl {
namespace {

constexpr int kExitAuth = 4;
constexpr int kExitNoAnswer = 5;
constexpr int kExitNoVideo = 6;

int exitCodeFor(const std::string& code) {
  if (code == "auth_failed") return kExitAuth;
  if (code == "unreachable" || code == "timeout") return kExitNoAnswer;
  if (code == "no_video") return kExitNoVideo;
  if (code == "bad_uri") return kExitUsage;
  return kExitProblem;
}

double round2(double v) { return std::round(v * 100) / 100; }

json reportToJson(const probe::ProbeReport& r) {
  json others = json::array();
  for (const auto& s : r.other_streams) others.push_back({{"type", s.type}, {"codec", s.codec}});
  return {{"uri", r.uri},
          {"transport", r.transport},
          {"format", r.format},
          {"codec", r.codec},
          {"supported", r.supported},
          {"profile", r.profile},
          {"level", r.level},
          {"width", r.width},
          {"height", r.height},
          {"pixel_format", r.pixel_format},
          {"fps", round2(r.fps)},
          {"declared_fps", round2(r.declared_fps)},
          {"gop_frames", r.gop_frames},
          {"gop_s", round2(r.gop_s)},
          {"bitrate_bps", std::round(r.bitrate_bps)},
          {"span_s", round2(r.span_s)},
          {"frames", r.frames},
          {"bytes", r.bytes},
          {"frames_before_keyframe", r.frames_before_keyframe},
          {"connect_ms", std::round(r.connect_ms)},
          {"first_keyframe_ms", std::round(r.first_keyframe_ms)},
          {"total_ms", std::round(r.total_ms)},
          {"keyframe_decodes", r.keyframe_decodes},
          {"decode_error", r.decode_error},
          {"note", r.note},
          {"other_streams", others}};
}

std::string levelText(const std::string& codec, int level) {
  if (level <= 0) return "";
  if (codec == "hevc") return fmt::format(" level {:.1f}", level / 30.0);
  return fmt::format(" level {}.{}", level / 10, level % 10);
}

void printReport(const probe::ProbeReport& r) {
  fmt::print("{} ({} via {})\n", r.uri, r.format, r.transport);
  fmt::print("  {:<14} {}{}{}, {}x{}{}\n", "video", r.codec, r.profile.empty() ? "" : " " + r.profile,
             levelText(r.codec, r.level), r.width, r.height, r.pixel_format.empty() ? "" : ", " + r.pixel_format);
  if (r.span_s > 0)
    fmt::print("  {:<14} {:.2f} measured over {:.2f} s{}\n", "fps", r.fps, r.span_s,
               r.declared_fps > 0 ? fmt::format(" (declared {:.2f})", r.declared_fps) : "");
  else
    fmt::print("  {:<14} {}\n", "fps",
               r.declared_fps > 0 ? fmt::format("{:.2f} (declared)", r.declared_fps) : "not measured");
  fmt::print(
      "  {:<14} {}\n", "GOP",
      r.gop_frames ? fmt::format("{} frames ({:.2f} s between keyframes)", r.gop_frames, r.gop_s) : "not measured");
  fmt::print("  {:<14} {}\n", "bitrate",
             r.bitrate_bps > 0 ? fmt::format("{:.0f} kbit/s ({} in {} frames)", r.bitrate_bps / 1000,
                                             formatBytes(static_cast<double>(r.bytes)), r.frames)
                               : "not measured");
  fmt::print("  {:<14} {:.0f} ms{}\n", "first keyframe", r.first_keyframe_ms,
             r.transport == "file" ? ""
                                   : fmt::format(" (connected in {:.0f} ms, {} frames before it)", r.connect_ms,
                                                 r.frames_before_keyframe));
  fmt::print("  {:<14} {}\n", "keyframe", r.keyframe_decodes ? "decodes" : "DOES NOT DECODE: " + r.decode_error);
  for (const auto& s : r.other_streams) fmt::print("  {:<14} {}\n", s.type, s.codec);
  if (!r.note.empty()) fmt::print("  {:<14} {}\n", "note", r.note);
  if (!r.supported)
    fmt::print("PROBLEM: the gateway ingests H.264 and H.265 only; set the camera's encoder to H.264\n");
  else if (!r.keyframe_decodes)
    fmt::print("PROBLEM: the stream's keyframe does not decode; the platform would show no picture\n");
  else
    fmt::print("OK: the gateway can ingest this stream (probe took {:.0f} ms)\n", r.total_ms);
}

}  // namespace

void addProbeCommand(CLI::App& app, Ctl& ctl) {
  struct ProbeArgs {
    std::string uri;
    bool udp = false;
    int timeout_ms = 5000;
    double measure_s = 10;
    bool quick = false;
    bool verbose = false;
  };
  auto args = std::make_shared<ProbeArgs>();
  auto* probe_cmd = app.add_subcommand("probe",
                                       "Open a camera or a clip with FFmpeg and measure it; no gateway "
                                       "needed");
  probe_cmd
      ->add_option("uri", args->uri,
                   "rtsp://[USER:PASSWORD@]HOST[:PORT]/PATH, rtsps://..., file:///PATH or "
                   "a path")
      ->required();
  probe_cmd->add_flag("--udp", args->udp, "RTP over UDP (default: interleaved in the RTSP TCP connection)");
  probe_cmd
      ->add_option("--timeout-ms", args->timeout_ms,
                   "For the camera to connect, answer and send its first keyframe (default 5000)")
      ->check(CLI::Range(100, 120000));
  probe_cmd->add_option("--measure-s", args->measure_s, "How long to wait for the second keyframe (default 10)")
      ->check(CLI::Range(0.1, 600.0));
  probe_cmd->add_flag("--quick", args->quick, "Stop at the first keyframe: no GOP, fps or bitrate measurement");
  probe_cmd->add_flag("-v,--verbose", args->verbose, "Show FFmpeg's own messages");
  probe_cmd->footer(
      "Takes as long as the camera needs to send two keyframes (one GOP after the first).\n"
      "JSON: {uri, transport, format, codec, supported, profile, level, width, height, pixel_format,\n"
      "fps, declared_fps, gop_frames, gop_s, bitrate_bps, span_s, frames, bytes, frames_before_keyframe,\n"
      "connect_ms, first_keyframe_ms, total_ms, keyframe_decodes, decode_error, note, other_streams[]}.\n"
      "Exit codes: 0 ok, 1 other problem (404, not H.264/H.265, does not decode, no keyframe),\n"
      "2 usage, 4 wrong or missing password, 5 unreachable or timeout, 6 no video track.");
  probe_cmd->callback([&ctl, args] {
    installStopHandler();
    probe::ProbeOptions options;
    options.uri = args->uri;
    options.udp = args->udp;
    options.timeout = std::chrono::milliseconds(args->timeout_ms);
    options.measure = std::chrono::milliseconds(static_cast<int64_t>(args->measure_s * 1000));
    options.quick = args->quick;
    options.libav_log = args->verbose;
    options.cancel = &stopRequested();
    auto report = probe::probeStream(options);
    if (!report) {
      const std::string code = report.error().code.empty() ? "failed" : report.error().code;
      if (ctl.options.json) printJson({{"code", code}, {"message", report.error().message}});
      std::cerr << "vcgatectl probe: " << report.error().message << "\n";
      ctl.exit_code = exitCodeFor(code);
      return;
    }
    if (ctl.options.json)
      printJson(reportToJson(*report));
    else
      printReport(*report);
    ctl.exit_code = report->supported && report->keyframe_decodes ? kExitOk : kExitProblem;
  });
}

}  // namespace vcgate::ctl
