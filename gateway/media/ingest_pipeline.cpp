#include "gateway/media/ingest_pipeline.h"

#include <gst/app/gstappsink.h>
#include <gst/gst.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "gateway/core/clock.h"
#include "gateway/core/secret_file.h"
#include "gateway/core/synthetic_spec.h"
#include "gateway/core/uri.h"

namespace vcgate::media {

// Everything a streaming thread may touch. The streaming threads hold a
// reference through signal and callback user data, so it outlives the
// IngestPipeline object; `detached` tells them the owner is gone.
struct IngestPipeline::Shared {
  std::mutex mutex;
  bool detached = false;
  IngestCallbacks callbacks;
  std::string redacted_uri;
  bool sync_to_clock = false;  // files play at their own pace, live sources at theirs
  bool linked = false;         // a video branch has been linked (dynamic sources)
  std::string rejected;        // why a dynamic source offered nothing usable

  // Per-sample caps cache: caps rarely change, parsing them per frame is waste.
  GstCaps* last_caps = nullptr;
  VideoCodec codec = VideoCodec::kH264;
  int width = 0;
  int height = 0;
};

namespace {

using SharedRef = std::shared_ptr<IngestPipeline::Shared>;

void destroySharedRef(gpointer data) { delete static_cast<SharedRef*>(data); }
gpointer newSharedRef(const SharedRef& shared) { return new SharedRef(shared); }
IngestPipeline::Shared& sharedFrom(gpointer data) { return **static_cast<SharedRef*>(data); }

GstElement* makeElement(const char* factory, std::string& missing) {
  GstElement* element = gst_element_factory_make(factory, nullptr);
  if (!element && missing.empty()) missing = factory;
  return element;
}

int64_t toNs(GstClockTime t) { return GST_CLOCK_TIME_IS_VALID(t) ? static_cast<int64_t>(t) : -1; }

GstFlowReturn onNewSample(GstAppSink* sink, gpointer data) {
  auto& shared = sharedFrom(data);
  GstSample* sample = gst_app_sink_pull_sample(sink);
  if (!sample) return GST_FLOW_OK;
  GstBuffer* buffer = gst_sample_get_buffer(sample);
  GstCaps* caps = gst_sample_get_caps(sample);
  const GstSegment* segment = gst_sample_get_segment(sample);

  AccessUnit unit;
  unit.capture_us = core::SystemClock::instance().wallMicros();
  unit.keyframe = !GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT);
  // Running time, so that timestamps from different segments (a seek, a new
  // session) are on one timeline within this pipeline.
  auto running = [segment](GstClockTime t) {
    return segment && GST_CLOCK_TIME_IS_VALID(t) ? gst_segment_to_running_time(segment, GST_FORMAT_TIME, t) : t;
  };
  unit.pts_ns = toNs(running(GST_BUFFER_PTS(buffer)));
  unit.dts_ns = toNs(running(GST_BUFFER_DTS(buffer)));
  if (unit.dts_ns < 0) unit.dts_ns = unit.pts_ns;
  unit.duration_ns = GST_BUFFER_DURATION_IS_VALID(buffer) ? static_cast<int64_t>(GST_BUFFER_DURATION(buffer)) : 0;

  GstMapInfo map;
  if (gst_buffer_map(buffer, &map, GST_MAP_READ)) {
    unit.data.assign(map.data, map.data + map.size);
    gst_buffer_unmap(buffer, &map);
  }

  std::lock_guard lock(shared.mutex);
  if (caps != shared.last_caps) {
    gst_caps_replace(&shared.last_caps, caps);
    const GstStructure* s = gst_caps_get_structure(caps, 0);
    shared.codec = gst_structure_has_name(s, "video/x-h265") ? VideoCodec::kH265 : VideoCodec::kH264;
    if (!gst_structure_get_int(s, "width", &shared.width)) shared.width = 0;
    if (!gst_structure_get_int(s, "height", &shared.height)) shared.height = 0;
  }
  unit.codec = shared.codec;
  unit.width = shared.width;
  unit.height = shared.height;
  gst_sample_unref(sample);
  if (!shared.detached && shared.callbacks.on_access_unit) shared.callbacks.on_access_unit(std::move(unit));
  return GST_FLOW_OK;
}

// parser -> capsfilter(byte-stream, au) -> appsink, added to `bin`. Returns the
// parser (the element to link into), or nullptr with `missing` set.
GstElement* addParseTail(GstBin* bin, VideoCodec codec, const SharedRef& shared, std::string& missing) {
  const bool h265 = codec == VideoCodec::kH265;
  GstElement* parse = makeElement(h265 ? "h265parse" : "h264parse", missing);
  GstElement* filter = makeElement("capsfilter", missing);
  GstElement* sink = makeElement("appsink", missing);
  if (!parse || !filter || !sink) {
    for (GstElement* e : {parse, filter, sink})
      if (e) gst_object_unref(gst_object_ref_sink(e));
    return nullptr;
  }
  // Parameter sets in front of every keyframe: a subscriber or a clip may start at any keyframe.
  g_object_set(parse, "config-interval", -1, nullptr);
  GstCaps* caps = gst_caps_from_string(h265 ? "video/x-h265,stream-format=byte-stream,alignment=au"
                                            : "video/x-h264,stream-format=byte-stream,alignment=au");
  g_object_set(filter, "caps", caps, nullptr);
  gst_caps_unref(caps);
  // The callback copies each unit out at once, so the sink never holds more than one.
  g_object_set(sink, "sync", shared->sync_to_clock ? TRUE : FALSE, "max-buffers", 2u, "drop", FALSE,
               "enable-last-sample", FALSE, nullptr);
  GstAppSinkCallbacks callbacks{};
  callbacks.new_sample = onNewSample;
  gst_app_sink_set_callbacks(GST_APP_SINK(sink), &callbacks, newSharedRef(shared), destroySharedRef);

  gst_bin_add_many(bin, parse, filter, sink, nullptr);
  gst_element_link_many(parse, filter, sink, nullptr);
  gst_element_sync_state_with_parent(sink);
  gst_element_sync_state_with_parent(filter);
  gst_element_sync_state_with_parent(parse);
  return parse;
}

std::optional<VideoCodec> codecOfCaps(const GstCaps* caps) {
  const GstStructure* s = gst_caps_get_structure(caps, 0);
  // RTP pads say application/x-rtp; rtspsrc's select-stream offers the SDP
  // media as application/x-unknown; both name the codec in encoding-name.
  if (gst_structure_has_field(s, "encoding-name")) {
    const char* encoding = gst_structure_get_string(s, "encoding-name");
    if (encoding && g_ascii_strcasecmp(encoding, "H264") == 0) return VideoCodec::kH264;
    if (encoding && g_ascii_strcasecmp(encoding, "H265") == 0) return VideoCodec::kH265;
    return std::nullopt;
  }
  if (gst_structure_has_name(s, "video/x-h264")) return VideoCodec::kH264;
  if (gst_structure_has_name(s, "video/x-h265")) return VideoCodec::kH265;
  return std::nullopt;
}

std::string describeCaps(const GstCaps* caps) {
  const GstStructure* s = gst_caps_get_structure(caps, 0);
  if (const char* encoding = gst_structure_get_string(s, "encoding-name")) return encoding;
  return gst_structure_get_name(s);
}

void postStreamError(GstElement* element, const std::string& text) {
  GST_ELEMENT_ERROR(element, STREAM, CODEC_NOT_FOUND, ("%s", text.c_str()), (nullptr));
}

// rtspsrc asks per SDP stream whether to set it up: take the first H.264/H.265
// video stream, skip audio and metadata so they cost nothing.
gboolean onSelectStream(GstElement*, guint, GstCaps* caps, gpointer data) {
  auto& shared = sharedFrom(data);
  const GstStructure* s = gst_caps_get_structure(caps, 0);
  const char* media = gst_structure_get_string(s, "media");
  if (!media || g_strcmp0(media, "video") != 0) return FALSE;
  std::lock_guard lock(shared.mutex);
  if (shared.linked) return FALSE;
  if (!codecOfCaps(caps)) {
    const char* encoding = gst_structure_get_string(s, "encoding-name");
    shared.rejected = fmt::format("the camera offers {} video; only H.264 and H.265 are supported",
                                  encoding ? encoding : "unknown");
    return FALSE;
  }
  return TRUE;
}

void onDynamicPad(GstElement* element, GstPad* pad, gpointer data) {
  const SharedRef& shared = *static_cast<SharedRef*>(data);
  GstCaps* caps = gst_pad_get_current_caps(pad);
  if (!caps) caps = gst_pad_query_caps(pad, nullptr);
  const auto codec = codecOfCaps(caps);
  const bool is_rtp = gst_structure_has_name(gst_caps_get_structure(caps, 0), "application/x-rtp");
  const std::string described = describeCaps(caps);
  gst_caps_unref(caps);

  {
    std::lock_guard lock(shared->mutex);
    if (shared->linked) return;  // a second video track: ignored, left unlinked
    if (!codec) {
      shared->rejected = fmt::format("the source offers {}; only H.264 and H.265 video are supported", described);
      return;
    }
    shared->linked = true;
  }

  GstBin* bin = GST_BIN(gst_element_get_parent(element));
  std::string missing;
  GstElement* first = addParseTail(bin, *codec, shared, missing);
  if (first && is_rtp) {
    GstElement* depay = makeElement(*codec == VideoCodec::kH265 ? "rtph265depay" : "rtph264depay", missing);
    if (depay) {
      gst_bin_add(bin, depay);
      gst_element_link(depay, first);
      gst_element_sync_state_with_parent(depay);
      first = depay;
    } else {
      first = nullptr;
    }
  }
  gst_object_unref(bin);
  if (!first) {
    postStreamError(element, fmt::format("GStreamer element '{}' is not installed", missing));
    return;
  }
  GstPad* sinkpad = gst_element_get_static_pad(first, "sink");
  if (gst_pad_link(pad, sinkpad) != GST_PAD_LINK_OK)
    postStreamError(element, "could not link the video stream (" + described + ")");
  gst_object_unref(sinkpad);
}

// parsebin found every stream of a file: if none was usable, say why.
void onNoMorePads(GstElement* element, gpointer data) {
  auto& shared = sharedFrom(data);
  std::string reason;
  {
    std::lock_guard lock(shared.mutex);
    if (shared.linked) return;
    reason = shared.rejected.empty() ? "the file has no video stream" : shared.rejected;
  }
  postStreamError(element, reason);
}

// A synthetic camera's scripted incident (test://...&incident=...): frames
// are blacked out or dropped before the encoder while the incident is on.
GstPadProbeReturn onSyntheticFrame(GstPad*, GstPadProbeInfo* info, gpointer data) {
  const auto& spec = *static_cast<const core::SyntheticSpec*>(data);
  if (!core::incidentActive(spec, g_get_real_time() / G_USEC_PER_SEC)) return GST_PAD_PROBE_OK;
  if (spec.incident == "outage") return GST_PAD_PROBE_DROP;
  // "blackout": what a covered lens gives, in I420: luma 16, chroma 128.
  GstBuffer* buffer = gst_buffer_make_writable(gst_pad_probe_info_get_buffer(info));
  GstMapInfo map;
  if (gst_buffer_map(buffer, &map, GST_MAP_WRITE)) {
    const size_t luma = std::min<size_t>(map.size, static_cast<size_t>(GST_ROUND_UP_4(spec.width)) * spec.height);
    std::memset(map.data, 16, luma);
    std::memset(map.data + luma, 128, map.size - luma);
    gst_buffer_unmap(buffer, &map);
  }
  GST_PAD_PROBE_INFO_DATA(info) = buffer;
  return GST_PAD_PROBE_OK;
}

core::Result<GstElement*> buildSynthetic(const config::CameraConfig& camera, const SharedRef& shared) {
  auto spec = core::parseSyntheticUri(camera.uri);
  if (!spec) return spec.error();
  const bool h265 = spec->codec == VideoCodec::kH265;
  // Encoders tuned for a live camera: no B-frames, no lookahead, one thread,
  // so the demo's synthetic cameras stay cheap.
  const std::string encoder =
      h265 ? fmt::format("x265enc tune=zerolatency speed-preset=ultrafast bitrate={} key-int-max={} "
                         "option-string=\"pools=1:frame-threads=1\"",
                         spec->bitrate_kbps, spec->gop)
           : fmt::format("x264enc tune=zerolatency speed-preset=ultrafast bitrate={} key-int-max={} threads=1",
                         spec->bitrate_kbps, spec->gop);
  const std::string description =
      fmt::format("videotestsrc name=source is-live=true pattern={} ! "
                  "video/x-raw,format=I420,width={},height={},framerate={}/1 ! "
                  "{} name=encoder",
                  spec->pattern, spec->width, spec->height, spec->fps, encoder);
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch_full(description.c_str(), nullptr, GST_PARSE_FLAG_FATAL_ERRORS, &error);
  if (!pipeline) {
    std::string message = error ? error->message : "unknown error";
    g_clear_error(&error);
    return core::makeError("cannot build the synthetic camera pipeline: " + message);
  }
  if (!spec->incident.empty()) {
    GstElement* source = gst_bin_get_by_name(GST_BIN(pipeline), "source");
    GstPad* pad = gst_element_get_static_pad(source, "src");
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, onSyntheticFrame, new core::SyntheticSpec(*spec),
                      [](gpointer data) { delete static_cast<core::SyntheticSpec*>(data); });
    gst_object_unref(pad);
    gst_object_unref(source);
  }
  std::string missing;
  GstElement* parse = addParseTail(GST_BIN(pipeline), spec->codec, shared, missing);
  GstElement* enc = gst_bin_get_by_name(GST_BIN(pipeline), "encoder");
  const bool linked = parse && gst_element_link(enc, parse);
  gst_object_unref(enc);
  if (!linked) {
    gst_object_unref(pipeline);
    return core::makeError(missing.empty() ? "cannot link the synthetic camera pipeline"
                                           : fmt::format("GStreamer element '{}' is not installed", missing));
  }
  shared->linked = true;
  return pipeline;
}

core::Result<GstElement*> buildFile(const config::CameraConfig& camera, const SharedRef& shared) {
  auto uri = core::parseUri(camera.uri);
  if (!uri) return uri.error();
  std::string missing;
  GstElement* pipeline = gst_pipeline_new(nullptr);
  GstElement* src = makeElement("filesrc", missing);
  GstElement* demux = makeElement("parsebin", missing);
  if (!src || !demux) {
    gst_object_unref(pipeline);
    return core::makeError(fmt::format("GStreamer element '{}' is not installed", missing));
  }
  g_object_set(src, "location", uri->path.c_str(), nullptr);
  gst_bin_add_many(GST_BIN(pipeline), src, demux, nullptr);
  gst_element_link(src, demux);
  g_signal_connect_data(demux, "pad-added", G_CALLBACK(onDynamicPad), newSharedRef(shared),
                        [](gpointer d, GClosure*) { destroySharedRef(d); }, GConnectFlags(0));
  g_signal_connect_data(demux, "no-more-pads", G_CALLBACK(onNoMorePads), newSharedRef(shared),
                        [](gpointer d, GClosure*) { destroySharedRef(d); }, GConnectFlags(0));
  return pipeline;
}

core::Result<GstElement*> buildRtsp(const config::CameraConfig& camera, const SharedRef& shared) {
  std::string missing;
  GstElement* src = makeElement("rtspsrc", missing);
  if (!src) return core::makeError("GStreamer element 'rtspsrc' is not installed (gstreamer1.0-plugins-good)");
  GstElement* pipeline = gst_pipeline_new(nullptr);
  const auto us = [](std::chrono::milliseconds ms) { return static_cast<guint64>(ms.count()) * 1000; };
  // With a password file the user goes in user-id: GStreamer's RTSP URL
  // parser refuses "user@host" without ":password".
  std::string location = camera.uri;
  if (!camera.password_file.empty()) {
    const size_t host = location.find("://") + 3;
    const size_t at = location.find('@', host);
    if (at != std::string::npos && at < location.find('/', host)) location.erase(host, at + 1 - host);
  }
  g_object_set(src, "location", location.c_str(), "latency", static_cast<guint>(camera.latency.count()),
               "tcp-timeout", us(camera.connect_timeout), "timeout", us(camera.connect_timeout),
               // The gateway has its own reconnect schedule; rtspsrc must not retry behind its back.
               "retry", 0, nullptr);
  gst_util_set_object_arg(G_OBJECT(src), "protocols",
                          camera.transport == config::Transport::kUdp ? "udp" : "tcp");
  if (!camera.password_file.empty()) {
    // Read at every connect, so a rotated password needs no restart.
    auto password = core::readSecretFile(camera.password_file);
    if (!password) {
      gst_object_unref(pipeline);
      gst_object_unref(gst_object_ref_sink(src));  // not in the pipeline yet
      return core::makeError(fmt::format("cameras[].password_file: {}", password.error().message));
    }
    const auto uri = core::parseUri(camera.uri);
    if (uri && !uri->user.empty()) g_object_set(src, "user-id", uri->user.c_str(), nullptr);
    g_object_set(src, "user-pw", password->c_str(), nullptr);
  }
  gst_bin_add(GST_BIN(pipeline), src);
  g_signal_connect_data(src, "select-stream", G_CALLBACK(onSelectStream), newSharedRef(shared),
                        [](gpointer d, GClosure*) { destroySharedRef(d); }, GConnectFlags(0));
  g_signal_connect_data(src, "pad-added", G_CALLBACK(onDynamicPad), newSharedRef(shared),
                        [](gpointer d, GClosure*) { destroySharedRef(d); }, GConnectFlags(0));
  return pipeline;
}

// The last line of GStreamer's debug text is the useful one; the rest is source locations.
std::string lastLine(const char* text) {
  if (!text) return {};
  std::string s(text);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  const auto nl = s.rfind('\n');
  return nl == std::string::npos ? s : s.substr(nl + 1);
}

}  // namespace

core::Result<std::unique_ptr<IngestPipeline>> IngestPipeline::create(const config::CameraConfig& camera,
                                                                     IngestCallbacks callbacks,
                                                                     PipelineReaper& reaper) {
  auto uri = core::parseUri(camera.uri);
  if (!uri) return uri.error();
  auto shared = std::make_shared<Shared>();
  shared->callbacks = std::move(callbacks);
  shared->redacted_uri = core::redactUri(camera.uri);
  shared->sync_to_clock = uri->scheme == "file";

  core::Result<GstElement*> built = core::makeError("unsupported URI scheme '" + uri->scheme + "'");
  if (uri->scheme == "test") built = buildSynthetic(camera, shared);
  else if (uri->scheme == "file") built = buildFile(camera, shared);
  else if (uri->scheme == "rtsp" || uri->scheme == "rtsps" || uri->scheme == "rtspt") built = buildRtsp(camera, shared);
  if (!built) return built.error();
  return std::unique_ptr<IngestPipeline>(new IngestPipeline(*built, std::move(shared), reaper));
}

IngestPipeline::IngestPipeline(GstElement* pipeline, std::shared_ptr<Shared> shared, PipelineReaper& reaper)
    : pipeline_(pipeline), shared_(std::move(shared)), reaper_(reaper) {
  GstBus* bus = gst_element_get_bus(pipeline_);
  bus_watch_ = gst_bus_add_watch(bus, reinterpret_cast<GstBusFunc>(&IngestPipeline::onBusMessage), this);
  gst_object_unref(bus);
}

IngestPipeline::~IngestPipeline() {
  if (bus_watch_) g_source_remove(bus_watch_);
  {
    std::lock_guard lock(shared_->mutex);
    shared_->detached = true;
    gst_caps_replace(&shared_->last_caps, nullptr);
  }
  reaper_.dispose(pipeline_);
}

core::Result<void> IngestPipeline::play() {
  if (gst_element_set_state(pipeline_, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    return core::makeError(shared_->redacted_uri + ": the pipeline refused to start (see the error that follows)");
  return {};
}

int IngestPipeline::onBusMessage(GstBus*, GstMessage* message, void* data) {
  auto* self = static_cast<IngestPipeline*>(data);
  // A callback may destroy `self` (the camera tears the pipeline down on error);
  // keep the callbacks alive until they return and touch nothing of `self` after.
  const std::shared_ptr<Shared> shared = self->shared_;
  switch (GST_MESSAGE_TYPE(message)) {
    case GST_MESSAGE_ERROR: {
      GError* error = nullptr;
      gchar* debug = nullptr;
      gst_message_parse_error(message, &error, &debug);
      std::string text = error ? error->message : "unknown error";
      const std::string detail = lastLine(debug);
      if (!detail.empty() && detail != text) text += " (" + detail + ")";
      {
        std::lock_guard lock(shared->mutex);
        if (!shared->rejected.empty()) text = shared->rejected;
      }
      g_clear_error(&error);
      g_free(debug);
      if (shared->callbacks.on_error) shared->callbacks.on_error(core::redactText(text));
      break;
    }
    case GST_MESSAGE_EOS:
      if (shared->callbacks.on_eos) shared->callbacks.on_eos();
      break;
    case GST_MESSAGE_WARNING: {
      GError* error = nullptr;
      gst_message_parse_warning(message, &error, nullptr);
      spdlog::debug("{}: GStreamer warning: {}", shared->redacted_uri,
                    core::redactText(error ? error->message : ""));
      g_clear_error(&error);
      break;
    }
    default:
      break;
  }
  return TRUE;  // keep the watch
}

}  // namespace vcgate::media
