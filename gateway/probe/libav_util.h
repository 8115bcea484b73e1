// Internal to the probe module: RAII for libav* objects and the one decode
// step that the probe and the snapshot share. Not for use outside gateway/probe.
#pragma once

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/frame.h>
}

#include <memory>
#include <string>

#include "gateway/core/result.h"

namespace vcgate::probe::detail {

struct FrameDeleter {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct PacketDeleter {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct CodecContextDeleter {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
using FramePtr = std::unique_ptr<AVFrame, FrameDeleter>;
using PacketPtr = std::unique_ptr<AVPacket, PacketDeleter>;
using CodecContextPtr = std::unique_ptr<AVCodecContext, CodecContextDeleter>;

// libav's text for an AVERROR code.
std::string errorText(int err);

// Decodes exactly one packet (a keyframe) with the decoder `parameters` name
// (its extradata too: RTSP carries the parameter sets in the SDP) and returns
// the picture, with the decoder context for its profile and level.
struct Decoded {
  FramePtr frame;
  CodecContextPtr context;
};
core::Result<Decoded> decodeOne(const AVCodecParameters& parameters, const AVPacket& packet);

}  // namespace vcgate::probe::detail
