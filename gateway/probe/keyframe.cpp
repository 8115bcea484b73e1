#include "gateway/probe/keyframe.h"

#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "gateway/probe/libav_util.h"

extern "C" {
#include <libavutil/pixdesc.h>
}

namespace vcgate::probe {
namespace detail {

std::string errorText(int err) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(err, text, sizeof text);
  return text;
}

core::Result<Decoded> decodeOne(const AVCodecParameters& parameters, const AVPacket& packet) {
  const AVCodec* decoder = avcodec_find_decoder(parameters.codec_id);
  if (!decoder)
    return core::makeError(fmt::format("this FFmpeg build has no {} decoder", avcodec_get_name(parameters.codec_id)));
  CodecContextPtr context(avcodec_alloc_context3(decoder));
  if (!context || avcodec_parameters_to_context(context.get(), &parameters) < 0)
    return core::makeError("out of memory setting up the decoder");
  // One picture: decoder threads would only hold it back for a frame.
  context->thread_count = 1;
  if (int err = avcodec_open2(context.get(), decoder, nullptr); err < 0)
    return core::makeError(fmt::format("cannot open the {} decoder: {}", decoder->name, errorText(err)));
  if (int err = avcodec_send_packet(context.get(), &packet); err < 0)
    return core::makeError(fmt::format("the keyframe does not decode: {}", errorText(err)));
  avcodec_send_packet(context.get(), nullptr);  // end of stream: the decoder gives back what it holds
  FramePtr frame(av_frame_alloc());
  if (!frame) return core::makeError("out of memory for a decoded picture");
  const int err = avcodec_receive_frame(context.get(), frame.get());
  if (err < 0)
    return core::makeError(
        "the keyframe gave no picture (it is incomplete, or its parameter sets SPS/PPS are missing)");
  return Decoded{std::move(frame), std::move(context)};
}

}  // namespace detail

namespace {

using detail::CodecContextPtr;
using detail::FramePtr;
using detail::PacketPtr;

AVCodecID codecId(core::VideoCodec codec) {
  return codec == core::VideoCodec::kH265 ? AV_CODEC_ID_HEVC : AV_CODEC_ID_H264;
}

core::Result<detail::Decoded> decodeAnnexB(core::VideoCodec codec, std::span<const uint8_t> annexb) {
  if (annexb.empty()) return core::makeError("the keyframe is empty");
  PacketPtr packet(av_packet_alloc());
  if (!packet || av_new_packet(packet.get(), static_cast<int>(annexb.size())) < 0)
    return core::makeError("out of memory for the keyframe");
  std::copy(annexb.begin(), annexb.end(), packet->data);
  packet->flags |= AV_PKT_FLAG_KEY;
  AVCodecParameters* parameters = avcodec_parameters_alloc();
  if (!parameters) return core::makeError("out of memory for the decoder parameters");
  parameters->codec_type = AVMEDIA_TYPE_VIDEO;
  parameters->codec_id = codecId(codec);
  auto decoded = detail::decodeOne(*parameters, *packet);
  avcodec_parameters_free(&parameters);
  return decoded;
}

// A JPEG is full range; cameras usually code limited range (16-235 luma,
// 16-240 chroma). Stretching with a table is exact enough for a picture a
// person looks at and needs no swscale.
struct RangeTables {
  std::array<uint8_t, 256> luma{};
  std::array<uint8_t, 256> chroma{};
  RangeTables() {
    for (int v = 0; v < 256; ++v) {
      luma[v] = static_cast<uint8_t>(std::clamp((v - 16) * 255 / 219, 0, 255));
      chroma[v] = static_cast<uint8_t>(std::clamp((v - 128) * 255 / 224 + 128, 0, 255));
    }
  }
};

core::Result<FramePtr> toJpegPlanes(const AVFrame& in) {
  AVPixelFormat target = AV_PIX_FMT_NONE;
  bool full_range = in.color_range == AVCOL_RANGE_JPEG;
  switch (in.format) {
    case AV_PIX_FMT_YUVJ420P:
      full_range = true;
      [[fallthrough]];
    case AV_PIX_FMT_YUV420P:
      target = AV_PIX_FMT_YUVJ420P;
      break;
    case AV_PIX_FMT_YUVJ422P:
      full_range = true;
      [[fallthrough]];
    case AV_PIX_FMT_YUV422P:
      target = AV_PIX_FMT_YUVJ422P;
      break;
    case AV_PIX_FMT_YUVJ444P:
      full_range = true;
      [[fallthrough]];
    case AV_PIX_FMT_YUV444P:
      target = AV_PIX_FMT_YUVJ444P;
      break;
    default: {
      const char* name = av_get_pix_fmt_name(static_cast<AVPixelFormat>(in.format));
      return core::makeError(
          fmt::format("the camera's pictures are {}; snapshots support 8-bit YUV 4:2:0, 4:2:2 "
                      "and 4:4:4 only",
                      name ? name : "an unknown pixel format"));
    }
  }
  FramePtr out(av_frame_alloc());
  if (!out) return core::makeError("out of memory for the picture");
  out->format = target;
  out->width = in.width;
  out->height = in.height;
  out->color_range = AVCOL_RANGE_JPEG;
  if (av_frame_get_buffer(out.get(), 0) < 0) return core::makeError("out of memory for the picture");
  static const RangeTables tables;
  const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(target);
  for (int plane = 0; plane < 3; ++plane) {
    const int w = plane == 0 ? in.width : AV_CEIL_RSHIFT(in.width, desc->log2_chroma_w);
    const int h = plane == 0 ? in.height : AV_CEIL_RSHIFT(in.height, desc->log2_chroma_h);
    const auto& table = plane == 0 ? tables.luma : tables.chroma;
    for (int y = 0; y < h; ++y) {
      const uint8_t* src = in.data[plane] + static_cast<ptrdiff_t>(y) * in.linesize[plane];
      uint8_t* dst = out->data[plane] + static_cast<ptrdiff_t>(y) * out->linesize[plane];
      if (full_range)
        std::copy(src, src + w, dst);
      else
        std::transform(src, src + w, dst, [&](uint8_t v) { return table[v]; });
    }
  }
  return out;
}

}  // namespace

core::Result<DecodedKeyframe> decodeKeyframe(core::VideoCodec codec, std::span<const uint8_t> annexb) {
  auto decoded = decodeAnnexB(codec, annexb);
  if (!decoded) return decoded.error();
  DecodedKeyframe out;
  out.width = decoded->frame->width;
  out.height = decoded->frame->height;
  const char* pix = av_get_pix_fmt_name(static_cast<AVPixelFormat>(decoded->frame->format));
  out.pixel_format = pix ? pix : "";
  const char* profile = avcodec_profile_name(decoded->context->codec_id, decoded->context->profile);
  out.profile = profile ? profile : "";
  out.level = decoded->context->level > 0 ? decoded->context->level : 0;
  return out;
}

core::Result<JpegImage> keyframeToJpeg(core::VideoCodec codec, std::span<const uint8_t> annexb, int quality) {
  auto decoded = decodeAnnexB(codec, annexb);
  if (!decoded) return decoded.error();
  auto planes = toJpegPlanes(*decoded->frame);
  if (!planes) return planes.error();
  FramePtr& picture = *planes;

  const AVCodec* encoder = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
  if (!encoder) return core::makeError("this FFmpeg build has no MJPEG encoder");
  CodecContextPtr context(avcodec_alloc_context3(encoder));
  if (!context) return core::makeError("out of memory setting up the JPEG encoder");
  context->width = picture->width;
  context->height = picture->height;
  context->pix_fmt = static_cast<AVPixelFormat>(picture->format);
  context->color_range = AVCOL_RANGE_JPEG;
  context->time_base = {1, 25};
  // A fixed quantiser instead of a bitrate: one picture has no rate to control.
  context->flags |= AV_CODEC_FLAG_QSCALE;
  context->global_quality = FF_QP2LAMBDA * std::clamp(quality, 2, 31);
  if (int err = avcodec_open2(context.get(), encoder, nullptr); err < 0)
    return core::makeError(fmt::format("cannot open the JPEG encoder: {}", detail::errorText(err)));
  picture->quality = context->global_quality;
  picture->pts = 0;
  if (int err = avcodec_send_frame(context.get(), picture.get()); err < 0)
    return core::makeError(fmt::format("JPEG encoding failed: {}", detail::errorText(err)));
  avcodec_send_frame(context.get(), nullptr);
  PacketPtr packet(av_packet_alloc());
  if (!packet) return core::makeError("out of memory for the JPEG");
  if (int err = avcodec_receive_packet(context.get(), packet.get()); err < 0)
    return core::makeError(fmt::format("JPEG encoding gave no picture: {}", detail::errorText(err)));
  JpegImage image;
  image.data.assign(packet->data, packet->data + packet->size);
  image.width = picture->width;
  image.height = picture->height;
  return image;
}

}  // namespace vcgate::probe
