// clip_bench: what recording evidence clips costs per camera (issue 5).
//
// A 1080p25 H.264 clip is encoded once, not measured (videotestsrc, x264enc,
// GOP 50: one keyframe per 2 s; pattern `snow` by default, so that the
// encoder really spends the configured 4 Mbit/s; the bitrate it reached is
// printed). Then, per run, an EvidenceRecorder with the gateway's defaults
// (fdatasync after every fragment, one fragment per GOP) records N cameras,
// all covered by one alarm, for `--seconds` of video each:
//   throughput  (default) the units are offered one GOP of every camera at a
//               time, as fast as the recorder's worker takes them (flush()
//               after each round, so its queue never overflows); process CPU
//               time (CLOCK_PROCESS_CPUTIME_ID) from the first unit to the
//               closed clips, divided by N x the video seconds, is the share
//               of one core that recording one camera costs;
//   realtime    (--realtime) the units are offered at 25 fps per camera, as
//               the publisher does; process CPU / wall time / N. Includes the
//               feeding thread and the idle wake-ups: an upper bound.
// Bytes written per second of video and per camera = the closed MP4 files'
// sizes / (N x seconds). Median and spread (min-max) over --runs.
//
//   clip_bench [--cameras 8] [--seconds 60] [--runs 5] [--bitrate 4000] [--pattern snow]
//              [--dir /var/tmp] [--no-sync] [--realtime] [--json]
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "gateway/evidence/evidence_recorder.h"
#include "gateway/evidence/mp4_writer.h"

namespace {

using namespace vcgate;
namespace fs = std::filesystem;

struct Options {
  int cameras = 8;
  int seconds = 60;
  int runs = 5;
  int bitrate_kbps = 4000;
  std::string pattern = "snow";
  std::string dir = "/var/tmp";
  bool sync = true;
  bool realtime = false;
  bool json = false;
};

constexpr int kFps = 25;
constexpr int kGop = 50;
constexpr int64_t kFrameNs = 1'000'000'000 / kFps;

double cpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double wallSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

struct Encoded {
  std::vector<uint8_t> data;
  bool keyframe = false;
};

// One GOP-aligned clip of `frames` pictures, Annex-B with parameter sets in
// front of every keyframe, as ingest delivers it.
std::vector<Encoded> encodeClip(const Options& o, int frames) {
  const std::string description = fmt::format(
      "videotestsrc pattern={} num-buffers={} ! video/x-raw,format=I420,width=1920,height=1080,framerate=25/1 ! "
      "x264enc key-int-max={} bitrate={} speed-preset=ultrafast tune=zerolatency option-string=scenecut=0 ! "
      "h264parse config-interval=-1 ! video/x-h264,stream-format=byte-stream,alignment=au ! "
      "appsink name=sink sync=false",
      o.pattern, frames, kGop, o.bitrate_kbps);
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(description.c_str(), &error);
  if (!pipeline || error) {
    fmt::print(stderr, "cannot build the encoder: {}\n", error ? error->message : "?");
    std::exit(2);
  }
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  std::vector<Encoded> units;
  while (GstSample* sample = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 60 * GST_SECOND)) {
    GstBuffer* buffer = gst_sample_get_buffer(sample);
    GstMapInfo map;
    if (buffer && gst_buffer_map(buffer, &map, GST_MAP_READ)) {
      units.push_back({std::vector<uint8_t>(map.data, map.data + map.size),
                       !GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT)});
      gst_buffer_unmap(buffer, &map);
    }
    gst_sample_unref(sample);
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
  return units;
}

struct RunResult {
  double cpu_pct_per_camera = 0;  // % of one core
  double bytes_per_s = 0;         // MP4 bytes per second of video, per camera
  double wall_s = 0;
  uint64_t clips = 0;
  uint64_t frames = 0;
  uint64_t dropped = 0;  // queue full or write error: must be 0 for a valid run
  std::string error;
};

RunResult runOnce(const Options& o, const std::vector<media::AccessUnitPtr>& units, int run) {
  RunResult r;
  std::string pattern = o.dir + "/vcgate-clip-bench-XXXXXX";
  if (!::mkdtemp(pattern.data())) {
    r.error = fmt::format("cannot create a directory under {}: {}", o.dir, std::strerror(errno));
    return r;
  }
  const std::string dir = pattern;
  {
    evidence::RecorderOptions options;
    options.dir = dir;
    options.quota_bytes = 0;
    options.sync_fragments = o.sync;
    auto started = evidence::EvidenceRecorder::start(options);
    if (!started) {
      r.error = started.error().message;
      fs::remove_all(dir);
      return r;
    }
    auto& recorder = **started;
    std::mt19937_64 rng(static_cast<uint64_t>(run) + 1);
    const evidence::CoveringAlarm alarm{alarm::AlarmId::random(rng), 1};
    std::vector<std::string> cameras;
    for (int c = 0; c < o.cameras; ++c) cameras.push_back(fmt::format("cam{:02}", c));

    const double cpu0 = cpuSeconds();
    const double wall0 = wallSeconds();
    if (o.realtime) {
      // Every camera's unit i at wall0 + i/25 s, cameras in turn: the publisher's pattern.
      auto next = std::chrono::steady_clock::now();
      for (const auto& unit : units) {
        for (const auto& camera : cameras) recorder.onUnit(camera, unit, {&alarm, 1});
        next += std::chrono::nanoseconds(kFrameNs);
        std::this_thread::sleep_until(next);
      }
    } else {
      // At most 16 GOPs in the queue at once: under its default 1000 units and 64 MiB.
      for (size_t begin = 0; begin < units.size(); begin += kGop) {
        const size_t end = std::min(units.size(), begin + kGop);
        for (size_t c = 0; c < cameras.size(); ++c) {
          for (size_t i = begin; i < end; ++i) recorder.onUnit(cameras[c], units[i], {&alarm, 1});
          if (c % 16 == 15) recorder.flush();
        }
        recorder.flush();
      }
    }
    recorder.closeAlarm(alarm.id);
    recorder.flush();
    const double cpu1 = cpuSeconds();
    const double wall1 = wallSeconds();
    const auto stats = recorder.stats();
    const auto clips = recorder.listClips();
    recorder.stop();

    const double video_s = static_cast<double>(units.size()) / kFps;
    r.wall_s = wall1 - wall0;
    const double denominator = o.realtime ? r.wall_s : video_s;
    r.cpu_pct_per_camera = (cpu1 - cpu0) / denominator / o.cameras * 100.0;
    uint64_t bytes = 0;
    for (const auto& clip : clips) {
      std::error_code ec;
      const auto size = fs::file_size(clip.path, ec);
      bytes += ec ? clip.bytes : size;
      r.frames += clip.frames;
    }
    r.clips = clips.size();
    r.bytes_per_s = static_cast<double>(bytes) / video_s / o.cameras;
    r.dropped = stats.units_dropped_queue + stats.units_dropped_error;
    if (stats.write_errors) r.error = stats.last_error;
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  return r;
}

struct Spread {
  double median = 0, min = 0, max = 0;
};

Spread spread(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return {n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2, v.front(), v.back()};
}

bool parse(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (arg == "--cameras" && (v = value()))
      o.cameras = std::atoi(v);
    else if (arg == "--seconds" && (v = value()))
      o.seconds = std::atoi(v);
    else if (arg == "--runs" && (v = value()))
      o.runs = std::atoi(v);
    else if (arg == "--bitrate" && (v = value()))
      o.bitrate_kbps = std::atoi(v);
    else if (arg == "--pattern" && (v = value()))
      o.pattern = v;
    else if (arg == "--dir" && (v = value()))
      o.dir = v;
    else if (arg == "--no-sync")
      o.sync = false;
    else if (arg == "--realtime")
      o.realtime = true;
    else if (arg == "--json")
      o.json = true;
    else {
      const bool help = arg == "-h" || arg == "--help";
      std::fprintf(help ? stdout : stderr,
                   "Usage: clip_bench [--cameras 8] [--seconds 60] [--runs 5] [--bitrate 4000] [--pattern snow]\n"
                   "                  [--dir /var/tmp] [--no-sync] [--realtime] [--json]\n"
                   "What recording evidence clips costs per 1080p25 H.264 camera: CPU %% of one core and\n"
                   "MP4 bytes per second, median (min-max) over the runs. See docs/benchmarks.md.\n");
      std::exit(help ? 0 : 2);
    }
  }
  if (o.cameras < 1 || o.seconds < 2 || o.runs < 1 || o.bitrate_kbps < 100) {
    std::fprintf(stderr, "clip_bench: --cameras >= 1, --seconds >= 2, --runs >= 1, --bitrate >= 100\n");
    std::exit(2);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  parse(argc, argv, o);
  gst_init(nullptr, nullptr);
  evidence::quietLibavLogs();
  spdlog::set_level(spdlog::level::warn);  // one line per clip is noise here

  // Encode a few GOPs once and loop them with continuous timestamps: a long
  // recording without a long encoding.
  const int gops = std::min(5, (o.seconds * kFps + kGop - 1) / kGop);
  const auto clip = encodeClip(o, gops * kGop);
  if (clip.empty() || !clip.front().keyframe) {
    std::fprintf(stderr, "clip_bench: the encoder produced no keyframe first\n");
    return 1;
  }
  uint64_t clip_bytes = 0;
  for (const auto& e : clip) clip_bytes += e.data.size();
  const double clip_kbps = static_cast<double>(clip_bytes) * 8 / 1000 / (static_cast<double>(clip.size()) / kFps);

  // The same units serve every camera (the recorder takes shared pointers, as
  // from the publisher): the feeding itself costs next to nothing.
  const int frames = o.seconds / 2 * kGop;  // whole GOPs
  const int64_t wall_us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  std::vector<media::AccessUnitPtr> units;
  units.reserve(static_cast<size_t>(frames));
  for (int i = 0; i < frames; ++i) {
    const auto& e = clip[static_cast<size_t>(i) % clip.size()];
    auto unit = std::make_shared<media::AccessUnit>();
    unit->codec = media::VideoCodec::kH264;
    unit->keyframe = e.keyframe;
    unit->pts_ns = unit->dts_ns = i * kFrameNs;
    unit->duration_ns = kFrameNs;
    unit->capture_us = wall_us + i * kFrameNs / 1000;
    unit->width = 1920;
    unit->height = 1080;
    unit->index = static_cast<uint64_t>(i) + 1;
    unit->data = e.data;
    units.push_back(std::move(unit));
  }

  std::vector<double> cpu, bytes;
  std::vector<RunResult> results;
  for (int run = 0; run < o.runs; ++run) {
    auto r = runOnce(o, units, run);
    if (!r.error.empty() || r.dropped || r.clips != static_cast<uint64_t>(o.cameras)) {
      std::fprintf(stderr, "clip_bench: run %d invalid: %s (clips %llu, dropped %llu)\n", run + 1, r.error.c_str(),
                   static_cast<unsigned long long>(r.clips), static_cast<unsigned long long>(r.dropped));
      return 1;
    }
    if (!o.json)
      fmt::print(stderr, "run {}: {:.3f} % of a core per camera, {:.0f} KB/s per camera, {:.1f} s wall\n", run + 1,
                 r.cpu_pct_per_camera, r.bytes_per_s / 1000, r.wall_s);
    cpu.push_back(r.cpu_pct_per_camera);
    bytes.push_back(r.bytes_per_s);
    results.push_back(r);
  }
  const auto c = spread(cpu);
  const auto b = spread(bytes);
  const char* mode = o.realtime ? "realtime" : "throughput";
  if (o.json) {
    fmt::print(
        "{{\"mode\":\"{}\",\"cameras\":{},\"seconds\":{},\"runs\":{},\"sync_fragments\":{},\"dir\":\"{}\","
        "\"pattern\":\"{}\",\"clip_kbps\":{:.0f},\"cpu_pct_per_camera\":{{\"median\":{:.4f},\"min\":{:.4f},"
        "\"max\":{:.4f}}},\"bytes_per_s_per_camera\":{{\"median\":{:.0f},\"min\":{:.0f},\"max\":{:.0f}}}}}\n",
        mode, o.cameras, frames / kFps, o.runs, o.sync, o.dir, o.pattern, clip_kbps, c.median, c.min, c.max, b.median,
        b.min, b.max);
    return 0;
  }
  fmt::print(
      "| mode | cameras | video s per camera | fdatasync per fragment | stream kbit/s | CPU % of one core per "
      "camera: median (min – max) | MP4 bytes/s per camera: median (min – max) |\n");
  fmt::print("|---|---:|---:|---|---:|---:|---:|\n");
  fmt::print("| {} | {} | {} | {} | {:.0f} | {:.3f} ({:.3f} – {:.3f}) | {:.0f} kB/s ({:.0f} – {:.0f}) |\n", mode,
             o.cameras, frames / kFps, o.sync ? "yes" : "no", clip_kbps, c.median, c.min, c.max, b.median / 1000,
             b.min / 1000, b.max / 1000);
  return 0;
}
