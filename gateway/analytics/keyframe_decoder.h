// KeyframeDecoder: turns keyframe access units of one camera into small grey
// frames, with one GStreamer pipeline kept alive for the camera:
//   (pad) ! h264parse|h265parse ! avdec_h264|avdec_h265 max-threads=1
//         ! videoscale ! videoconvert ! video/x-raw,format=GRAY8,width=W,height=H ! appsink
// The decoder object pushes the unit into the parser from the calling thread,
// so the whole chain runs synchronously in that thread: no streaming thread,
// no queue, and decode() returns the frame of the unit it was given. The
// segment is flagged TRICKMODE_KEY_UNITS, which makes the video decoder drain
// after each keyframe, so a stream with B-frames yields its picture at once.
//
// Thread rules: create(), decode() and the destructor on one thread (the
// analytics worker). Needs gst_init() (done by create() if nobody did).
#pragma once

#include <memory>
#include <optional>

#include "gateway/analytics/analytics_event.h"
#include "gateway/core/result.h"
#include "gateway/media/access_unit.h"

namespace vcgate::analytics {

class KeyframeDecoder {
 public:
  // Fails when an element is missing (names the Debian package) or the
  // pipeline does not start.
  static core::Result<std::unique_ptr<KeyframeDecoder>> create(media::VideoCodec codec, int width, int height);
  ~KeyframeDecoder();
  KeyframeDecoder(const KeyframeDecoder&) = delete;
  KeyframeDecoder& operator=(const KeyframeDecoder&) = delete;

  // A frame of width x height with the unit's capture_us; nullopt when the
  // decoder produced nothing for it (not yet a picture: not an error); an
  // error when the stream could not be decoded (the pipeline is then broken:
  // drop this decoder and create another).
  core::Result<std::optional<GreyFrame>> decode(const media::AccessUnit& unit);

  media::VideoCodec codec() const { return codec_; }
  int width() const { return width_; }
  int height() const { return height_; }

  struct Impl;  // GStreamer objects; defined in the .cpp

 private:
  KeyframeDecoder(media::VideoCodec codec, int width, int height, std::unique_ptr<Impl> impl);

  media::VideoCodec codec_;
  int width_;
  int height_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vcgate::analytics
