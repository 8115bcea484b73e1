#include "tools/camsim/clip.h"

#include <gst/app/gstappsink.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace vcgate::camsim {

using core::Error;
using core::makeError;
using core::Result;
using core::VideoCodec;

namespace {

// A pipeline that makes no progress for this long is stuck (for example a
// parser waiting for data that never comes), not slow.
constexpr auto kNoProgressTimeout = std::chrono::seconds(30);
// Used when a raw elementary stream carries no timing at all.
constexpr GstClockTime kFallbackFrameDuration = GST_SECOND / 25;

const char* parserName(VideoCodec codec) { return codec == VideoCodec::kH264 ? "h264parse" : "h265parse"; }

GstCaps* byteStreamCaps(VideoCodec codec) {
  return gst_caps_new_simple(codec == VideoCodec::kH264 ? "video/x-h264" : "video/x-h265", "stream-format",
                             G_TYPE_STRING, "byte-stream", "alignment", G_TYPE_STRING, "au", nullptr);
}

std::string errorText(GstMessage* message) {
  GError* error = nullptr;
  gchar* debug = nullptr;
  gst_message_parse_error(message, &error, &debug);
  std::string text = fmt::format("{} ({}: {})", error ? error->message : "unknown error",
                                 GST_OBJECT_NAME(GST_MESSAGE_SRC(message)), debug ? debug : "no details");
  if (error) g_error_free(error);
  g_free(debug);
  return text;
}

// Access units pulled from an appsink, before their timing is cleaned up.
struct Collected {
  GByteArray* bytes = g_byte_array_new();
  std::vector<AccessUnit> units;
  std::vector<GstClockTime> pts;
  std::vector<GstClockTime> dts;

  Collected() = default;
  Collected(const Collected&) = delete;
  Collected& operator=(const Collected&) = delete;
  ~Collected() {
    if (bytes) g_byte_array_unref(bytes);
  }

  void append(GstBuffer* buffer) {
    GstMapInfo map;
    if (!gst_buffer_map(buffer, &map, GST_MAP_READ)) return;
    AccessUnit unit;
    unit.offset = bytes->len;
    unit.size = map.size;
    unit.keyframe = !GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT);
    unit.duration = GST_BUFFER_DURATION(buffer);
    g_byte_array_append(bytes, map.data, static_cast<guint>(map.size));
    gst_buffer_unmap(buffer, &map);
    units.push_back(unit);
    pts.push_back(GST_BUFFER_PTS(buffer));
    dts.push_back(GST_BUFFER_DTS(buffer));
  }
};

// Runs `pipeline` to the end, appending every sample of `sink` to `out`.
// `give_up` (may be null) lets a pad-added handler abort: it returns a reason.
template <class GiveUp>
Result<void> runToEnd(GstElement* pipeline, GstAppSink* sink, Collected& out, GiveUp give_up) {
  GstBus* bus = gst_element_get_bus(pipeline);
  Result<void> result;
  if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    GstMessage* message = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
    result = makeError(message ? errorText(message) : "the pipeline refused to start");
    if (message) gst_message_unref(message);
  }
  auto last_progress = std::chrono::steady_clock::now();
  while (result.ok()) {
    if (GstSample* sample = gst_app_sink_try_pull_sample(sink, 100 * GST_MSECOND)) {
      out.append(gst_sample_get_buffer(sample));
      gst_sample_unref(sample);
      last_progress = std::chrono::steady_clock::now();
      continue;
    }
    if (gst_app_sink_is_eos(sink)) break;
    if (GstMessage* message = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR)) {
      result = makeError(errorText(message));
      gst_message_unref(message);
    } else if (std::string reason = give_up(); !reason.empty()) {
      result = makeError(reason);
    } else if (std::chrono::steady_clock::now() - last_progress > kNoProgressTimeout) {
      result = makeError(fmt::format("no data for {} s", kNoProgressTimeout.count()));
    }
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(bus);
  return result;
}

// Simple synthetic pictures compress far below the requested bitrate, but
// what the network and the gateway must carry is the bitrate. Each frame gets
// an equal share of the shortfall as a filler-data NAL unit (H.264 type 12,
// H.265 type 38) after its slices, where the standards allow it; decoders
// skip filler. Returns the bytes added.
gsize padToBitrate(Collected& collected, VideoCodec codec, int bitrate_kbps, int fps) {
  const size_t frames = collected.units.size();
  if (frames == 0) return 0;
  const double target = static_cast<double>(bitrate_kbps) * 1000.0 / 8.0 * static_cast<double>(frames) / fps;
  const double actual = collected.bytes->len;
  if (target <= actual) return 0;
  const auto per_frame = static_cast<gsize>((target - actual) / static_cast<double>(frames));
  constexpr gsize kOverhead = 4 + 2 + 1;  // start code, largest NAL header, trailing-bits byte
  if (per_frame <= kOverhead) return 0;
  const std::vector<std::uint8_t> header = codec == VideoCodec::kH264 ? std::vector<std::uint8_t>{0, 0, 0, 1, 0x0c}
                                                                      : std::vector<std::uint8_t>{0, 0, 0, 1, 0x4c, 0x01};
  const gsize payload = per_frame - header.size() - 1;
  std::vector<std::uint8_t> filler(header);
  filler.insert(filler.end(), payload, 0xff);  // 0xff never forms a start code
  filler.push_back(0x80);                       // rbsp_trailing_bits
  GByteArray* padded = g_byte_array_sized_new(static_cast<guint>(actual + static_cast<double>(frames * filler.size())));
  for (auto& unit : collected.units) {
    const gsize offset = padded->len;
    g_byte_array_append(padded, collected.bytes->data + unit.offset, static_cast<guint>(unit.size));
    g_byte_array_append(padded, filler.data(), static_cast<guint>(filler.size()));
    unit.offset = offset;
    unit.size += filler.size();
  }
  g_byte_array_unref(std::exchange(collected.bytes, padded));
  return frames * filler.size();
}

// Turns what the appsink delivered into a clip that loops cleanly: it starts
// at a keyframe and every unit has a positive duration.
Result<std::shared_ptr<Clip>> finishClip(std::string source, VideoCodec codec, Collected& collected, int gop) {
  size_t first = 0;
  while (first < collected.units.size() && !collected.units[first].keyframe) ++first;
  if (first == collected.units.size())
    return makeError(fmt::format("{}: no keyframe in {} frames", source, collected.units.size()));
  bool guessed = false;
  std::vector<AccessUnit> units;
  units.reserve(collected.units.size() - first);
  for (size_t i = first; i < collected.units.size(); ++i) {
    AccessUnit unit = collected.units[i];
    const GstClockTime pts = collected.pts[i];
    const GstClockTime dts = GST_CLOCK_TIME_IS_VALID(collected.dts[i]) ? collected.dts[i] : pts;
    if (!GST_CLOCK_TIME_IS_VALID(unit.duration) || unit.duration == 0) {
      unit.duration = 0;
      if (i + 1 < collected.units.size()) {
        const GstClockTime next_dts =
            GST_CLOCK_TIME_IS_VALID(collected.dts[i + 1]) ? collected.dts[i + 1] : collected.pts[i + 1];
        if (GST_CLOCK_TIME_IS_VALID(dts) && GST_CLOCK_TIME_IS_VALID(next_dts) && next_dts > dts)
          unit.duration = next_dts - dts;
      }
      if (unit.duration == 0) {
        unit.duration = kFallbackFrameDuration;
        guessed = true;
      }
    }
    if (GST_CLOCK_TIME_IS_VALID(pts) && GST_CLOCK_TIME_IS_VALID(dts) && pts > dts) unit.pts_delay = pts - dts;
    units.push_back(unit);
  }
  if (guessed) spdlog::warn("{}: some frames carry no timing; assuming 25 frames per second for them", source);
  GBytes* bytes = g_byte_array_free_to_bytes(std::exchange(collected.bytes, nullptr));
  return std::make_shared<Clip>(std::move(source), codec, bytes, std::move(units), gop);
}

// Annex B scanning helper: the index of the next 00 00 01 at or after `from`.
size_t findStartCode(std::span<const std::uint8_t> data, size_t from) {
  for (size_t i = from; i + 2 < data.size(); ++i) {
    if (data[i + 2] > 1) {
      i += 2;  // none of the three bytes ending at i+2 can start a start code
      continue;
    }
    if (data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1) return i;
  }
  return data.size();
}

}  // namespace

Clip::Clip(std::string source, VideoCodec codec, GBytes* bytes, std::vector<AccessUnit> units, int gop)
    : source_(std::move(source)), codec_(codec), bytes_(bytes), units_(std::move(units)), gop_(gop) {}

Clip::~Clip() {
  g_bytes_unref(bytes_);
  if (GBytes* corrupt = corrupt_.load()) g_bytes_unref(corrupt);
}

GstClockTime Clip::duration() const {
  GstClockTime total = 0;
  for (const auto& unit : units_) total += unit.duration;
  return total;
}

gsize Clip::totalBytes() const { return g_bytes_get_size(bytes_); }

GstBuffer* Clip::wrapUnit(size_t index, bool corrupt) const {
  GBytes* bytes = bytes_;
  if (corrupt) {
    if (GBytes* twin = corrupt_.load(std::memory_order_acquire)) bytes = twin;
  }
  gsize size = 0;
  const void* data = g_bytes_get_data(bytes, &size);
  const AccessUnit& unit = units_[index];
  // The cast drops const only because the API is shared with writable
  // memory; the READONLY flag keeps everyone downstream from writing.
  return gst_buffer_new_wrapped_full(GST_MEMORY_FLAG_READONLY, const_cast<void*>(data), size, unit.offset, unit.size,
                                     g_bytes_ref(bytes), reinterpret_cast<GDestroyNotify>(g_bytes_unref));
}

void Clip::prepareCorrupt() {
  if (corrupt_.load()) return;
  gsize size = 0;
  const auto* data = static_cast<const std::uint8_t*>(g_bytes_get_data(bytes_, &size));
  auto* copy = static_cast<std::uint8_t*>(g_malloc(size ? size : 1));
  std::memcpy(copy, data, size);
  garbleSlices(std::span(copy, size), codec_, 0x9e3779b9u);
  corrupt_.store(g_bytes_new_take(copy, size), std::memory_order_release);
}

void garbleSlices(std::span<std::uint8_t> stream, VideoCodec codec, std::uint32_t seed) {
  std::uint32_t state = seed ? seed : 1;
  const size_t header_bytes = codec == VideoCodec::kH264 ? 1 : 2;
  size_t start = findStartCode(stream, 0);
  while (start < stream.size()) {
    const size_t nal = start + 3;
    const size_t next = findStartCode(stream, nal);
    // A 4-byte start code's leading zero belongs to the next start code, not to this NAL.
    size_t end = next;
    while (end > nal && end < stream.size() && stream[end - 1] == 0) --end;
    if (nal < end) {
      const std::uint8_t type =
          codec == VideoCodec::kH264 ? (stream[nal] & 0x1f) : static_cast<std::uint8_t>((stream[nal] >> 1) & 0x3f);
      const bool vcl = codec == VideoCodec::kH264 ? (type >= 1 && type <= 5) : (type <= 31);
      if (vcl) {
        for (size_t i = nal + header_bytes + 1; i < end; ++i) {
          state ^= state << 13;  // xorshift32: cheap, deterministic garbage
          state ^= state >> 17;
          state ^= state << 5;
          stream[i] = static_cast<std::uint8_t>(state % 255 + 1);
        }
      }
    }
    start = next;
  }
}

Result<void> checkPattern(const std::string& pattern) {
  GstElement* src = gst_element_factory_make("videotestsrc", nullptr);
  if (!src) return makeError("the GStreamer element videotestsrc is missing (install gstreamer1.0-plugins-base)");
  gst_object_ref_sink(src);
  GParamSpec* spec = g_object_class_find_property(G_OBJECT_GET_CLASS(src), "pattern");
  GEnumClass* enums = G_PARAM_SPEC_ENUM(spec)->enum_class;
  Result<void> result;
  if (!g_enum_get_value_by_nick(enums, pattern.c_str())) {
    std::string known;
    for (guint i = 0; i < enums->n_values; ++i) known += fmt::format("{}{}", i ? ", " : "", enums->values[i].value_nick);
    result = makeError(fmt::format("test:// pattern '{}' is not a videotestsrc pattern (known: {})", pattern, known));
  }
  gst_object_unref(src);
  return result;
}

Result<std::shared_ptr<Clip>> encodeSynthetic(const core::SyntheticSpec& spec, double clip_seconds) {
  if (auto ok = checkPattern(spec.pattern); !ok) return ok.error();
  const auto gops = static_cast<long>(std::ceil(clip_seconds * spec.fps / spec.gop));
  const long frames = std::max(1L, gops) * spec.gop;
  const bool h264 = spec.codec == VideoCodec::kH264;
  const std::string source = core::toUri(spec);
  const std::string launch = fmt::format(
      "videotestsrc name=src num-buffers={} pattern={} "
      "! video/x-raw,format=I420,width={},height={},framerate={}/1,pixel-aspect-ratio=1/1 "
      "! {} name=enc ! {} config-interval=-1 ! {},stream-format=byte-stream,alignment=au "
      "! appsink name=sink sync=false max-buffers=64",
      frames, spec.pattern, spec.width, spec.height, spec.fps, h264 ? "x264enc" : "x265enc", parserName(spec.codec),
      h264 ? "video/x-h264" : "video/x-h265");
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(launch.c_str(), &error);
  if (!pipeline || error) {
    std::string message = fmt::format("cannot build the encoder for {}: {}", source,
                                      error ? error->message : "unknown error");
    if (error) g_error_free(error);
    if (pipeline) gst_object_unref(pipeline);
    return makeError(message);
  }
  GstElement* src = gst_bin_get_by_name(GST_BIN(pipeline), "src");
  GstElement* enc = gst_bin_get_by_name(GST_BIN(pipeline), "enc");
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  // The ball moves by itself; every other pattern is scrolled so that the
  // picture changes and the encoder produces realistic P-frames.
  if (spec.pattern != "ball") g_object_set(src, "horizontal-speed", 4, nullptr);
  gst_util_set_object_arg(G_OBJECT(enc), "tune", "zerolatency");
  gst_util_set_object_arg(G_OBJECT(enc), "speed-preset", "ultrafast");
  g_object_set(enc, "key-int-max", spec.gop, "bitrate", spec.bitrate_kbps, nullptr);
  // Keyframes exactly every `gop` frames (no scene-cut extras) so that the clip
  // loops on a GOP boundary; closed GOPs so that H.265 keyframes are IDR.
  g_object_set(enc, "option-string", h264 ? "scenecut=0" : "scenecut=0:open-gop=0", nullptr);
  if (!h264) gst_util_set_object_arg(G_OBJECT(enc), "log-level", "error");

  const auto started = std::chrono::steady_clock::now();
  Collected collected;
  auto ran = runToEnd(pipeline, GST_APP_SINK(sink), collected, [] { return std::string(); });
  gst_object_unref(src);
  gst_object_unref(enc);
  gst_object_unref(sink);
  gst_object_unref(pipeline);
  if (!ran) return makeError(fmt::format("encoding {} failed: {}", source, ran.error().message));
  const gsize encoded_bytes = collected.bytes->len;
  const gsize filler_bytes = padToBitrate(collected, spec.codec, spec.bitrate_kbps, spec.fps);
  auto clip = finishClip(source, spec.codec, collected, spec.gop);
  if (!clip) return clip;
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  const double seconds = static_cast<double>((*clip)->duration()) / GST_SECOND;
  spdlog::info("encoded {}: {} frames, {:.1f} s, {} KiB ({:.0f} kbit/s encoded{}) in {} ms", source,
               (*clip)->units().size(), seconds, (*clip)->totalBytes() / 1024,
               static_cast<double>(encoded_bytes) * 8 / 1000 / seconds,
               filler_bytes ? fmt::format(", padded with filler to {:.0f}",
                                          static_cast<double>((*clip)->totalBytes()) * 8 / 1000 / seconds)
                            : std::string(),
               elapsed.count());
  return clip;
}

namespace {

// State shared with parsebin's pad-added handler (a streaming thread).
struct FileLoad {
  GstElement* pipeline = nullptr;
  GstElement* capsfilter = nullptr;
  std::mutex mutex;
  bool linked = false;
  // parsebin exposes all its pads at once and emits no "no-more-pads": a
  // stream other than video ending while no video is linked means there is none.
  bool other_ended = false;
  VideoCodec codec = VideoCodec::kH264;
  std::string link_error;
};

GstPadProbeReturn onOtherStreamEvent(GstPad* /*pad*/, GstPadProbeInfo* info, gpointer user_data) {
  if (GST_EVENT_TYPE(GST_PAD_PROBE_INFO_EVENT(info)) == GST_EVENT_EOS) {
    auto* load = static_cast<FileLoad*>(user_data);
    std::lock_guard lock(load->mutex);
    load->other_ended = true;
  }
  return GST_PAD_PROBE_OK;
}

void onParsebinPad(GstElement* /*parsebin*/, GstPad* pad, gpointer user_data) {
  auto* load = static_cast<FileLoad*>(user_data);
  GstCaps* caps = gst_pad_get_current_caps(pad);
  if (!caps) caps = gst_pad_query_caps(pad, nullptr);
  const gchar* media = gst_structure_get_name(gst_caps_get_structure(caps, 0));
  // A flag beside a plain value, not std::optional: GCC 12 warns (maybe-uninitialized) on the optional here.
  bool video = false;
  VideoCodec codec = VideoCodec::kH264;
  if (g_str_equal(media, "video/x-h264")) video = true;
  if (g_str_equal(media, "video/x-h265")) video = true, codec = VideoCodec::kH265;
  std::lock_guard lock(load->mutex);
  GstElement* next = nullptr;
  if (video && !load->linked) {
    next = gst_element_factory_make(parserName(codec), nullptr);
    // Parameter sets in front of every keyframe: a client may join at any keyframe.
    if (next) g_object_set(next, "config-interval", -1, nullptr);
  } else {
    // Audio, subtitles, a second video: drained so that the demuxer never sees not-linked.
    next = gst_element_factory_make("fakesink", nullptr);
    if (next) g_object_set(next, "sync", FALSE, "async", FALSE, nullptr);
    video = false;
  }
  gst_caps_unref(caps);
  if (!next) {
    load->link_error = "a GStreamer element is missing (h264parse/h265parse from gstreamer1.0-plugins-bad, fakesink)";
    return;
  }
  gst_bin_add(GST_BIN(load->pipeline), next);
  GstPad* sinkpad = gst_element_get_static_pad(next, "sink");
  const bool pad_linked = GST_PAD_LINK_SUCCESSFUL(gst_pad_link(pad, sinkpad));
  gst_object_unref(sinkpad);
  if (!video) {
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, onOtherStreamEvent, load, nullptr);
  } else {
    GstCaps* out = byteStreamCaps(codec);
    g_object_set(load->capsfilter, "caps", out, nullptr);
    gst_caps_unref(out);
    if (!pad_linked || !gst_element_link(next, load->capsfilter)) {
      load->link_error = fmt::format("cannot link {} to the video stream", parserName(codec));
    } else {
      load->linked = true;
      load->codec = codec;
    }
  }
  gst_element_sync_state_with_parent(next);
}

}  // namespace

Result<std::shared_ptr<Clip>> loadFile(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return makeError(fmt::format("no such file: {}", path));
  GstElement* pipeline = gst_pipeline_new("camsim-load");
  GstElement* filesrc = gst_element_factory_make("filesrc", nullptr);
  GstElement* parsebin = gst_element_factory_make("parsebin", nullptr);
  GstElement* capsfilter = gst_element_factory_make("capsfilter", nullptr);
  GstElement* sink = gst_element_factory_make("appsink", nullptr);
  if (!filesrc || !parsebin || !capsfilter || !sink) {
    for (GstElement* e : {filesrc, parsebin, capsfilter, sink})
      if (e) gst_object_unref(gst_object_ref_sink(e));
    gst_object_unref(pipeline);
    return makeError("GStreamer elements are missing (filesrc, parsebin, capsfilter, appsink: install "
                     "gstreamer1.0-plugins-base)");
  }
  g_object_set(filesrc, "location", path.c_str(), nullptr);
  g_object_set(sink, "sync", FALSE, "max-buffers", 64u, nullptr);
  gst_bin_add_many(GST_BIN(pipeline), filesrc, parsebin, capsfilter, sink, nullptr);
  gst_element_link(filesrc, parsebin);
  gst_element_link(capsfilter, sink);

  FileLoad load;
  load.pipeline = pipeline;
  load.capsfilter = capsfilter;
  g_signal_connect(parsebin, "pad-added", G_CALLBACK(onParsebinPad), &load);

  Collected collected;
  auto ran = runToEnd(pipeline, GST_APP_SINK(sink), collected, [&load] {
    std::lock_guard lock(load.mutex);
    if (!load.link_error.empty()) return load.link_error;
    if (load.other_ended && !load.linked) return std::string("it has no H.264 or H.265 video stream");
    return std::string();
  });
  // Handlers reference `load` on the stack: make sure none can run any more.
  g_signal_handlers_disconnect_by_data(parsebin, &load);
  gst_object_unref(pipeline);
  if (!ran) return makeError(fmt::format("cannot read {}: {}", path, ran.error().message));
  if (collected.units.empty()) return makeError(fmt::format("cannot read {}: no H.264 or H.265 video in it", path));
  auto clip = finishClip("file://" + path, load.codec, collected, 0);
  if (!clip) return clip;
  spdlog::info("loaded {}: {} {} frames, {:.1f} s, {} KiB", path, (*clip)->units().size(), core::codecName(load.codec),
               static_cast<double>((*clip)->duration()) / GST_SECOND, (*clip)->totalBytes() / 1024);
  return clip;
}

}  // namespace vcgate::camsim
