// analytics_bench: what the analytics branch costs per camera, and how many
// cameras fit in 25 % of one core.
//
// A 1080p H.264 clip is encoded once (videotestsrc, x264enc, GOP 50 at 25 fps:
// one keyframe per 2 s, like a typical camera main stream). Then, per run:
//   throughput  N cameras' AnalyticsSink is offered the clip's keyframes, one
//               round per 2 s of video, as fast as the worker takes them; the
//               process CPU time (CLOCK_PROCESS_CPUTIME_ID) over the measured
//               rounds divided by the video time they stand for is the CPU
//               share of one camera (decode + scale + detectors + hand-over).
//   realtime    (--realtime S) N cameras send every access unit at 25 fps
//               through a FrameDispatcher for S seconds of wall time; process
//               CPU / wall time is what those cameras' analytics really cost.
// Median and spread over --runs. The encoding is not measured.
//
//   analytics_bench [--cameras 16] [--runs 5] [--keyframes 12] [--pattern snow]
//                   [--bitrate 4000] [--codec h264|h265] [--size 160x90] [--realtime 0] [--json]
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "gateway/analytics/analytics_sink.h"
#include "gateway/media/frame_dispatcher.h"

namespace {

using namespace vcgate;
using namespace std::chrono_literals;

struct Options {
  int cameras = 16;
  int runs = 5;
  int keyframes = 12;  // measured rounds per throughput run (plus one warm-up)
  std::string pattern = "snow";
  int bitrate_kbps = 4000;
  media::VideoCodec codec = media::VideoCodec::kH264;
  int width = 160;
  int height = 90;
  double realtime_s = 0;
  bool json = false;
};

double cpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

std::vector<media::AccessUnitPtr> encodeClip(const Options& o, int frames) {
  const bool h265 = o.codec == media::VideoCodec::kH265;
  const std::string encoder =
      h265 ? fmt::format("x265enc key-int-max=50 bitrate={} speed-preset=ultrafast tune=zerolatency ! h265parse "
                         "config-interval=-1 ! video/x-h265,stream-format=byte-stream,alignment=au",
                         o.bitrate_kbps)
           : fmt::format("x264enc key-int-max=50 bitrate={} speed-preset=ultrafast tune=zerolatency ! h264parse "
                         "config-interval=-1 ! video/x-h264,stream-format=byte-stream,alignment=au",
                         o.bitrate_kbps);
  const std::string description = fmt::format(
      "videotestsrc pattern={} num-buffers={} ! video/x-raw,format=I420,width=1920,height=1080,framerate=25/1 ! {} ! "
      "appsink name=sink sync=false",
      o.pattern, frames, encoder);
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(description.c_str(), &error);
  if (!pipeline) {
    fmt::print(stderr, "cannot build the encoder: {}\n", error ? error->message : "?");
    std::exit(2);
  }
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  std::vector<media::AccessUnitPtr> units;
  int64_t first_pts = -1;
  while (GstSample* sample = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 60 * GST_SECOND)) {
    GstBuffer* buffer = gst_sample_get_buffer(sample);
    GstMapInfo map;
    if (buffer && gst_buffer_map(buffer, &map, GST_MAP_READ)) {
      auto unit = std::make_shared<media::AccessUnit>();
      unit->codec = o.codec;
      unit->data.assign(map.data, map.data + map.size);
      unit->keyframe = !GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT);
      unit->pts_ns = static_cast<int64_t>(GST_BUFFER_PTS(buffer));
      if (first_pts < 0) first_pts = unit->pts_ns;
      unit->pts_ns -= first_pts;
      unit->width = 1920;
      unit->height = 1080;
      units.push_back(std::move(unit));
      gst_buffer_unmap(buffer, &map);
    }
    gst_sample_unref(sample);
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
  return units;
}

analytics::AnalyticsConfig benchConfig(const Options& o) {
  analytics::AnalyticsConfig config;
  for (int c = 0; c < o.cameras; ++c) {
    analytics::CameraAnalyticsConfig cam;
    cam.camera = fmt::format("cam{:02}", c);
    cam.interval_s = 1.0;
    cam.width = o.width;
    cam.height = o.height;
    // Two zones and every tamper detector: the detectors' full cost.
    analytics::MotionZoneConfig a;
    a.name = "left";
    a.polygon = {{0, 0.2}, {0.5, 0.1}, {0.5, 1}, {0, 1}};
    analytics::MotionZoneConfig b;
    b.name = "right";
    b.polygon = {{0.5, 0}, {1, 0}, {1, 1}, {0.6, 1}, {0.5, 0.5}};
    cam.zones = {a, b};
    config.cameras.push_back(cam);
  }
  config.stale_after_s = 3600;
  return config;
}

media::AccessUnitPtr at(const media::AccessUnitPtr& unit, int64_t capture_us) {
  auto copy = std::make_shared<media::AccessUnit>(*unit);
  copy->capture_us = capture_us;
  return copy;
}

struct RunResult {
  double cpu_per_camera = 0;  // fraction of one core
  double decode_ms = 0;       // worker time per keyframe: decode + scale
  double detect_ms = 0;       // worker time per keyframe: detectors
};

RunResult throughputRun(const Options& o, const std::vector<media::AccessUnitPtr>& keys) {
  std::atomic<uint64_t> events{0};
  analytics::AnalyticsSink sink(benchConfig(o), [&](const analytics::AnalyticsEvent&) { ++events; });
  sink.start();
  std::vector<media::CameraId> ids;
  for (int c = 0; c < o.cameras; ++c) ids.push_back(std::make_shared<const std::string>(fmt::format("cam{:02}", c)));
  const int64_t base = 1'700'000'000'000'000;
  auto waitAll = [&](uint64_t n) {
    while (true) {
      bool done = true;
      for (const auto& s : sink.stats()) done &= s.frames_analysed + s.decode_failures >= n;
      if (done) return;
      std::this_thread::sleep_for(1ms);
    }
  };
  auto round = [&](int k) {
    const auto& key = keys[static_cast<size_t>(k) % keys.size()];
    for (const auto& id : ids) sink.onAccessUnit(id, at(key, base + int64_t{k} * 2'000'000));
    waitAll(static_cast<uint64_t>(k) + 1);
  };
  round(0);  // warm-up: pipelines built, backgrounds seeded
  auto before = sink.stats();
  const double cpu0 = cpuSeconds();
  for (int k = 1; k <= o.keyframes; ++k) round(k);
  const double cpu = cpuSeconds() - cpu0;
  auto after = sink.stats();
  sink.stop();
  RunResult r;
  const double video_s = o.keyframes * 2.0;  // each round stands for 2 s of a GOP-50, 25 fps stream
  r.cpu_per_camera = cpu / (o.cameras * video_s);
  uint64_t decode_us = 0, detect_us = 0, frames = 0;
  for (size_t i = 0; i < after.size(); ++i) {
    decode_us += after[i].decode_us - before[i].decode_us;
    detect_us += after[i].detect_us - before[i].detect_us;
    frames += after[i].frames_analysed - before[i].frames_analysed;
  }
  r.decode_ms = frames ? decode_us / 1000.0 / frames : 0;
  r.detect_ms = frames ? detect_us / 1000.0 / frames : 0;
  return r;
}

// Every unit at 25 fps per camera through the dispatcher, cameras' GOPs
// staggered, for `seconds` of wall time.
RunResult realtimeRun(const Options& o, const std::vector<media::AccessUnitPtr>& units) {
  analytics::AnalyticsSink sink(benchConfig(o), nullptr);
  media::FrameDispatcher dispatcher;
  dispatcher.addSink(&sink);
  sink.start();
  dispatcher.start();
  std::vector<media::CameraId> ids;
  for (int c = 0; c < o.cameras; ++c) ids.push_back(std::make_shared<const std::string>(fmt::format("cam{:02}", c)));
  const auto start = std::chrono::steady_clock::now();
  const int64_t base_us = 1'700'000'000'000'000;
  const int total_frames = static_cast<int>(o.realtime_s * 25);
  double cpu0 = 0;
  const int warmup_frames = 50;  // 2 s: every camera's decoder is built before measuring
  for (int f = 0; f < total_frames + warmup_frames; ++f) {
    if (f == warmup_frames) cpu0 = cpuSeconds();
    std::this_thread::sleep_until(start + std::chrono::microseconds(int64_t{f} * 40'000));
    for (int c = 0; c < o.cameras; ++c) {
      const auto& unit = units[static_cast<size_t>(f + c * 3) % units.size()];
      // Keyframes get their own capture time (the rate gate reads it); the others are shared as they are.
      dispatcher.tryPush(ids[c], unit->keyframe ? at(unit, base_us + int64_t{f} * 40'000) : unit);
    }
  }
  const double cpu = cpuSeconds() - cpu0;
  dispatcher.stop();
  sink.stop();
  RunResult r;
  r.cpu_per_camera = cpu / o.realtime_s / o.cameras;
  return r;
}

struct Summary {
  double median = 0, min = 0, max = 0;
};
Summary summarize(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  Summary s;
  s.min = v.front();
  s.max = v.back();
  s.median = v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  return s;
}

void usage() {
  std::puts(
      "usage: analytics_bench [--cameras N] [--runs R] [--keyframes K] [--pattern P] [--bitrate KBPS]\n"
      "                       [--codec h264|h265] [--size WxH] [--realtime SECONDS] [--json]\n"
      "Analytics CPU per camera on 1080p keyframes (GOP 50 at 25 fps) and cameras per 25 % of a core.");
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        usage();
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--cameras") o.cameras = std::stoi(next());
    else if (a == "--runs") o.runs = std::stoi(next());
    else if (a == "--keyframes") o.keyframes = std::stoi(next());
    else if (a == "--pattern") o.pattern = next();
    else if (a == "--bitrate") o.bitrate_kbps = std::stoi(next());
    else if (a == "--codec") o.codec = next() == "h265" ? media::VideoCodec::kH265 : media::VideoCodec::kH264;
    else if (a == "--size") {
      const std::string s = next();
      if (std::sscanf(s.c_str(), "%dx%d", &o.width, &o.height) != 2) {
        usage();
        return 2;
      }
    } else if (a == "--realtime") o.realtime_s = std::stod(next());
    else if (a == "--json") o.json = true;
    else if (a == "--help" || a == "-h") {
      usage();
      return 0;
    } else {
      usage();
      return 2;
    }
  }
  if (o.cameras < 1 || o.runs < 1 || o.keyframes < 1) {
    usage();
    return 2;
  }
  gst_init(nullptr, nullptr);
  const int clip_gops = std::min(o.keyframes + 1, 6);  // keyframes are reused round robin beyond that
  auto units = encodeClip(o, clip_gops * 50);
  std::vector<media::AccessUnitPtr> keys;
  size_t key_bytes = 0;
  for (const auto& u : units)
    if (u->keyframe) {
      keys.push_back(u);
      key_bytes += u->data.size();
    }
  if (keys.empty()) {
    fmt::print(stderr, "the encoder produced no keyframe\n");
    return 1;
  }
  const double key_kb = key_bytes / 1024.0 / keys.size();

  std::vector<double> shares, decode_ms, detect_ms, realtime;
  for (int r = 0; r < o.runs; ++r) {
    auto res = throughputRun(o, keys);
    shares.push_back(res.cpu_per_camera);
    decode_ms.push_back(res.decode_ms);
    detect_ms.push_back(res.detect_ms);
    if (!o.json)
      fmt::print("run {}: {:.3f} % of a core per camera (decode+scale {:.2f} ms, detectors {:.3f} ms per keyframe)\n",
                 r + 1, res.cpu_per_camera * 100, res.decode_ms, res.detect_ms);
  }
  if (o.realtime_s > 0) {
    for (int r = 0; r < o.runs; ++r) {
      auto res = realtimeRun(o, units);
      realtime.push_back(res.cpu_per_camera);
      if (!o.json) fmt::print("realtime run {}: {:.3f} % of a core per camera\n", r + 1, res.cpu_per_camera * 100);
    }
  }
  const auto share = summarize(shares);
  const auto dec = summarize(decode_ms);
  const auto det = summarize(detect_ms);
  const double fit = 0.25 / share.median;
  const char* codec = o.codec == media::VideoCodec::kH265 ? "h265" : "h264";
  if (o.json) {
    fmt::print(
        "{{\"codec\":\"{}\",\"pattern\":\"{}\",\"bitrate_kbps\":{},\"keyframe_kib\":{:.1f},\"analysis_size\":\"{}x{}\","
        "\"cameras\":{},\"runs\":{},\"cpu_per_camera_pct\":{{\"median\":{:.4f},\"min\":{:.4f},\"max\":{:.4f}}},"
        "\"decode_ms\":{{\"median\":{:.3f},\"min\":{:.3f},\"max\":{:.3f}}},"
        "\"detect_ms\":{{\"median\":{:.4f},\"min\":{:.4f},\"max\":{:.4f}}},\"cameras_in_quarter_core\":{:.1f}",
        codec, o.pattern, o.bitrate_kbps, key_kb, o.width, o.height, o.cameras, o.runs, share.median * 100,
        share.min * 100, share.max * 100, dec.median, dec.min, dec.max, det.median, det.min, det.max, fit);
    if (!realtime.empty()) {
      const auto rt = summarize(realtime);
      fmt::print(",\"realtime_s\":{},\"realtime_cpu_per_camera_pct\":{{\"median\":{:.4f},\"min\":{:.4f},\"max\":{:.4f}}},"
                 "\"realtime_cameras_in_quarter_core\":{:.1f}",
                 o.realtime_s, rt.median * 100, rt.min * 100, rt.max * 100, 0.25 / rt.median);
    }
    fmt::print("}}\n");
    return 0;
  }
  fmt::print("\n1080p {} keyframes ({} pattern, {} kbit/s, {:.0f} KiB per keyframe on average), one per 2 s; "
             "analysis at {}x{}; {} cameras, {} runs\n",
             codec, o.pattern, o.bitrate_kbps, key_kb, o.width, o.height, o.cameras, o.runs);
  fmt::print("CPU per camera:        median {:.3f} % of one core (min {:.3f}, max {:.3f})\n", share.median * 100,
             share.min * 100, share.max * 100);
  fmt::print("per keyframe:          decode+scale {:.2f} ms (min {:.2f}, max {:.2f}), detectors {:.3f} ms\n",
             dec.median, dec.min, dec.max, det.median);
  fmt::print("cameras in 25 % of a core: {:.0f} (target >= 16: {})\n", fit, fit >= 16 ? "met" : "NOT met");
  if (!realtime.empty()) {
    const auto rt = summarize(realtime);
    fmt::print("realtime ({} s, every unit through the dispatcher): median {:.3f} % per camera (min {:.3f}, max "
               "{:.3f}) -> {:.0f} cameras in 25 % of a core\n",
               o.realtime_s, rt.median * 100, rt.min * 100, rt.max * 100, 0.25 / rt.median);
  }
  return 0;
}
