// Real H.264/H.265 access units for tests that need video but no camera:
// videotestsrc through x264enc/x265enc and the parser, pulled from an appsink
// as Annex-B access units with their keyframe flags and timestamps.
// Header-only (the mp4 writer and subscriber tests share it); call from the
// test thread. Needs GStreamer (PkgConfig::GST, via vcgate_test_support).
#pragma once

#include <gst/app/gstappsink.h>
#include <gst/gst.h>

#include <cstdint>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "gateway/core/synthetic_spec.h"
#include "tests/support/gst_loop.h"

namespace vcgate::testing {

struct EncodedUnit {
  std::vector<uint8_t> data;  // Annex-B, parameter sets in front of every keyframe
  bool keyframe = false;
  int64_t pts_ns = 0;
  int64_t dts_ns = 0;
};

// `frames` pictures of `width`x`height` at 25 fps, a keyframe every `gop`.
// Empty on failure (the test then fails on the size).
inline std::vector<EncodedUnit> encodeUnits(core::VideoCodec codec, int frames, int gop = 10, int width = 320,
                                            int height = 240) {
  initGstreamer();
  const std::string encoder =
      codec == core::VideoCodec::kH264
          ? fmt::format("x264enc key-int-max={} tune=zerolatency speed-preset=ultrafast bitrate=300 ! h264parse "
                        "config-interval=-1 ! video/x-h264,stream-format=byte-stream,alignment=au",
                        gop)
          : fmt::format("x265enc key-int-max={} tune=zerolatency speed-preset=ultrafast bitrate=300 ! h265parse "
                        "config-interval=-1 ! video/x-h265,stream-format=byte-stream,alignment=au",
                        gop);
  const std::string description = fmt::format(
      "videotestsrc num-buffers={} pattern=ball ! video/x-raw,format=I420,width={},height={},framerate=25/1 ! {} ! "
      "appsink name=sink sync=false",
      frames, width, height, encoder);
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(description.c_str(), &error);
  if (!pipeline) {
    g_clear_error(&error);
    return {};
  }
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline), "sink");
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  std::vector<EncodedUnit> units;
  while (GstSample* sample = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 20 * GST_SECOND)) {
    GstBuffer* buffer = gst_sample_get_buffer(sample);
    GstMapInfo map;
    if (buffer && gst_buffer_map(buffer, &map, GST_MAP_READ)) {
      EncodedUnit unit;
      unit.data.assign(map.data, map.data + map.size);
      unit.keyframe = !GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT);
      const GstClockTime pts = GST_BUFFER_PTS(buffer);
      const GstClockTime dts = GST_BUFFER_DTS_IS_VALID(buffer) ? GST_BUFFER_DTS(buffer) : pts;
      unit.pts_ns = static_cast<int64_t>(pts);
      unit.dts_ns = static_cast<int64_t>(dts);
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

}  // namespace vcgate::testing
