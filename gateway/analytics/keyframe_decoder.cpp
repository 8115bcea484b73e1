#include "gateway/analytics/keyframe_decoder.h"

#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include <cstring>
#include <string>

#include <fmt/format.h>

namespace vcgate::analytics {

struct KeyframeDecoder::Impl {
  GstElement* pipeline = nullptr;
  GstElement* sink = nullptr;
  GstPad* src = nullptr;  // our own pad, linked to the parser: we push from the calling thread
  GstBus* bus = nullptr;
  uint64_t pushed = 0;
  bool broken = false;

  ~Impl() {
    if (pipeline) gst_element_set_state(pipeline, GST_STATE_NULL);
    if (src) {
      gst_pad_set_active(src, FALSE);
      gst_object_unref(src);
    }
    if (bus) gst_object_unref(bus);
    if (sink) gst_object_unref(sink);
    if (pipeline) gst_object_unref(pipeline);
  }

  // Errors the elements posted while we pushed; other messages are dropped so the bus never grows.
  std::string takeError() {
    std::string error;
    while (GstMessage* message = gst_bus_pop(bus)) {
      if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR && error.empty()) {
        GError* err = nullptr;
        gst_message_parse_error(message, &err, nullptr);
        error = err ? err->message : "unknown decoder error";
        g_clear_error(&err);
      }
      gst_message_unref(message);
    }
    return error;
  }
};

namespace {

const char* packageOf(const char* factory) {
  const std::string f = factory;
  if (f.rfind("avdec", 0) == 0) return "gstreamer1.0-libav";
  if (f.find("parse") != std::string::npos) return "gstreamer1.0-plugins-bad";
  return "gstreamer1.0-plugins-base";
}

// Copies a GRAY8 sample (rows possibly padded) into a tight GreyFrame.
std::optional<GreyFrame> toGreyFrame(GstSample* sample, int64_t capture_us) {
  GstVideoInfo info;
  GstCaps* caps = gst_sample_get_caps(sample);
  GstBuffer* buffer = gst_sample_get_buffer(sample);
  if (!caps || !buffer || !gst_video_info_from_caps(&info, caps)) return std::nullopt;
  GstVideoFrame vframe;
  if (!gst_video_frame_map(&vframe, &info, buffer, GST_MAP_READ)) return std::nullopt;
  GreyFrame frame;
  frame.width = GST_VIDEO_FRAME_WIDTH(&vframe);
  frame.height = GST_VIDEO_FRAME_HEIGHT(&vframe);
  frame.capture_us = capture_us;
  frame.pixels.resize(static_cast<size_t>(frame.width) * frame.height);
  const auto* data = static_cast<const uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(&vframe, 0));
  const int stride = GST_VIDEO_FRAME_PLANE_STRIDE(&vframe, 0);
  for (int y = 0; y < frame.height; ++y)
    std::memcpy(frame.pixels.data() + static_cast<size_t>(y) * frame.width, data + static_cast<size_t>(y) * stride,
                frame.width);
  gst_video_frame_unmap(&vframe);
  return frame;
}

}  // namespace

core::Result<std::unique_ptr<KeyframeDecoder>> KeyframeDecoder::create(media::VideoCodec codec, int width,
                                                                        int height) {
  if (!gst_is_initialized()) gst_init(nullptr, nullptr);
  const bool h265 = codec == media::VideoCodec::kH265;
  const char* factories[] = {h265 ? "h265parse" : "h264parse", h265 ? "avdec_h265" : "avdec_h264", "videoscale",
                             "videoconvert", "capsfilter", "appsink"};
  GstElement* elements[6] = {};
  for (int i = 0; i < 6; ++i) {
    elements[i] = gst_element_factory_make(factories[i], nullptr);
    if (!elements[i]) {
      for (GstElement* e : elements)
        if (e) gst_object_unref(gst_object_ref_sink(e));
      return core::makeError(fmt::format("analytics: GStreamer element '{}' is not installed ({})", factories[i],
                                         packageOf(factories[i])));
    }
  }
  auto [parse, decoder, scale, convert, filter, sink] = elements;

  // One decoding thread: analytics must stay cheap and never compete with ingest.
  g_object_set(decoder, "max-threads", 1, nullptr);
  // Scale first (on the decoder's planar YUV), then take the luma: the
  // conversion then works on the small picture. Multi-tap bilinear averages
  // every source pixel, so compression noise does not flicker as motion; at
  // 1080p -> 160x90 it costs the same as 2-tap within measurement noise
  // (docs/benchmarks.md). Never letterbox: borders would look like a dark frame.
  gst_util_set_object_arg(G_OBJECT(scale), "method", "bilinear2");
  g_object_set(scale, "add-borders", FALSE, nullptr);
  GstCaps* caps = gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "GRAY8", "width", G_TYPE_INT, width,
                                      "height", G_TYPE_INT, height, nullptr);
  g_object_set(filter, "caps", caps, nullptr);
  gst_caps_unref(caps);
  // Synchronous: rendering happens in the pushing thread, the sink keeps only the newest picture.
  g_object_set(sink, "sync", FALSE, "async", FALSE, "max-buffers", 1u, "drop", TRUE, "enable-last-sample", FALSE,
               "wait-on-eos", FALSE, nullptr);

  auto impl = std::make_unique<Impl>();
  impl->pipeline = gst_pipeline_new("vcgate-analytics-decoder");
  gst_bin_add_many(GST_BIN(impl->pipeline), parse, decoder, scale, convert, filter, sink, nullptr);
  impl->sink = GST_ELEMENT(gst_object_ref(sink));
  impl->bus = gst_element_get_bus(impl->pipeline);
  if (!gst_element_link_many(parse, decoder, scale, convert, filter, sink, nullptr))
    return core::makeError("analytics: cannot link the keyframe decoder pipeline");

  impl->src = gst_pad_new("src", GST_PAD_SRC);
  GstPad* parse_sink = gst_element_get_static_pad(parse, "sink");
  const GstPadLinkReturn linked = gst_pad_link(impl->src, parse_sink);
  gst_object_unref(parse_sink);
  if (linked != GST_PAD_LINK_OK) return core::makeError("analytics: cannot link to the parser");

  if (gst_element_set_state(impl->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    const std::string error = impl->takeError();
    return core::makeError("analytics: the keyframe decoder did not start" + (error.empty() ? "" : ": " + error));
  }
  gst_pad_set_active(impl->src, TRUE);
  gst_pad_push_event(impl->src, gst_event_new_stream_start("vcgate-analytics"));
  GstCaps* in_caps = gst_caps_from_string(h265 ? "video/x-h265,stream-format=byte-stream,alignment=au"
                                               : "video/x-h264,stream-format=byte-stream,alignment=au");
  gst_pad_push_event(impl->src, gst_event_new_caps(in_caps));
  gst_caps_unref(in_caps);
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  // Keyframes only: tells the decoder to output each picture at once instead
  // of holding it for reordering until the next keyframe arrives.
  segment.flags = static_cast<GstSegmentFlags>(segment.flags | GST_SEGMENT_FLAG_TRICKMODE_KEY_UNITS);
  gst_pad_push_event(impl->src, gst_event_new_segment(&segment));

  return std::unique_ptr<KeyframeDecoder>(new KeyframeDecoder(codec, width, height, std::move(impl)));
}

KeyframeDecoder::KeyframeDecoder(media::VideoCodec codec, int width, int height, std::unique_ptr<Impl> impl)
    : codec_(codec), width_(width), height_(height), impl_(std::move(impl)) {}

KeyframeDecoder::~KeyframeDecoder() = default;

core::Result<std::optional<GreyFrame>> KeyframeDecoder::decode(const media::AccessUnit& unit) {
  if (impl_->broken) return core::makeError("analytics: the keyframe decoder failed earlier");
  if (unit.data.empty()) return std::optional<GreyFrame>{};
  GstBuffer* buffer = gst_buffer_new_memdup(unit.data.data(), unit.data.size());
  // Our own timeline, one second per pushed keyframe: the camera's timestamps
  // jump at reconnects and would only confuse the segment.
  const GstClockTime ts = impl_->pushed++ * GST_SECOND;
  GST_BUFFER_PTS(buffer) = ts;
  GST_BUFFER_DTS(buffer) = ts;
  GST_BUFFER_DURATION(buffer) = GST_SECOND;
  if (!unit.keyframe) GST_BUFFER_FLAG_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT);
  const GstFlowReturn flow = gst_pad_push(impl_->src, buffer);
  const std::string error = impl_->takeError();
  if (flow != GST_FLOW_OK || !error.empty()) {
    impl_->broken = true;
    return core::makeError(fmt::format("analytics: decoding failed ({}{}{})", gst_flow_get_name(flow),
                                       error.empty() ? "" : ": ", error));
  }
  GstSample* sample = gst_app_sink_try_pull_sample(GST_APP_SINK(impl_->sink), 0);
  if (!sample) return std::optional<GreyFrame>{};
  auto frame = toGreyFrame(sample, unit.capture_us);
  gst_sample_unref(sample);
  return frame;
}

}  // namespace vcgate::analytics
