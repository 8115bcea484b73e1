// IngestPipeline: one GStreamer pipeline that turns one camera into access
// units, without decoding or re-encoding:
//   rtsp://  rtspsrc -> rtph26Xdepay -> h26Xparse -> appsink
//   file://  filesrc -> parsebin (MP4, MKV, MPEG-TS, raw .h264/.h265) -> h26Xparse -> appsink (synced to the clock)
//   test://  videotestsrc (moving object) -> x264enc/x265enc -> h26Xparse -> appsink
// The parser emits Annex-B access units with parameter sets before every keyframe.
//
// Thread rules: create(), play() and the destructor belong to the main thread,
// which must run the default GLib main context (the bus watch lives there).
// on_access_unit runs on a GStreamer streaming thread and must not block;
// on_error and on_eos run on the main thread. After the destructor returns no
// callback runs any more; the pipeline itself is taken down by the reaper.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "gateway/config/config.h"
#include "gateway/core/result.h"
#include "gateway/media/access_unit.h"
#include "gateway/media/pipeline_reaper.h"

typedef struct _GstElement GstElement;
typedef struct _GstBus GstBus;
typedef struct _GstMessage GstMessage;

namespace vcgate::media {

struct IngestCallbacks {
  std::function<void(AccessUnit&&)> on_access_unit;
  std::function<void(const std::string& error)> on_error;  // already redacted
  std::function<void()> on_eos;
};

class IngestPipeline {
 public:
  static core::Result<std::unique_ptr<IngestPipeline>> create(const config::CameraConfig& camera,
                                                              IngestCallbacks callbacks, PipelineReaper& reaper);
  ~IngestPipeline();
  IngestPipeline(const IngestPipeline&) = delete;
  IngestPipeline& operator=(const IngestPipeline&) = delete;

  core::Result<void> play();

  struct Shared;  // state reachable from streaming threads; defined in the .cpp

 private:
  IngestPipeline(GstElement* pipeline, std::shared_ptr<Shared> shared, PipelineReaper& reaper);
  static int onBusMessage(GstBus* bus, GstMessage* message, void* self);

  GstElement* pipeline_;
  std::shared_ptr<Shared> shared_;
  PipelineReaper& reaper_;
  unsigned bus_watch_ = 0;
};

}  // namespace vcgate::media
