#include "tests/support/video_check.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/log.h>
}

#include <algorithm>

namespace vcgate::testing {

std::vector<int> nalTypes(const std::vector<uint8_t>& data, core::VideoCodec codec) {
  std::vector<int> types;
  for (size_t i = 0; i + 3 < data.size(); ++i) {
    if (data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1) {
      const uint8_t header = data[i + 3];
      types.push_back(codec == core::VideoCodec::kH264 ? (header & 0x1f) : ((header >> 1) & 0x3f));
      i += 3;
    }
  }
  return types;
}

bool hasParameterSetsAndKeyframe(const std::vector<uint8_t>& data, core::VideoCodec codec) {
  const auto types = nalTypes(data, codec);
  const auto has = [&](int t) { return std::find(types.begin(), types.end(), t) != types.end(); };
  if (codec == core::VideoCodec::kH264) return has(7) && has(8) && has(5);
  const bool irap = std::any_of(types.begin(), types.end(), [](int t) { return t >= 16 && t <= 21; });
  return has(32) && has(33) && has(34) && irap;
}

struct Decoder::Impl {
  AVCodecContext* context = nullptr;
  AVPacket* packet = nullptr;
  AVFrame* frame = nullptr;
};

Decoder::Decoder(core::VideoCodec codec) : impl_(std::make_unique<Impl>()) {
  av_log_set_level(AV_LOG_ERROR);
  const AVCodec* decoder = avcodec_find_decoder(codec == core::VideoCodec::kH264 ? AV_CODEC_ID_H264 : AV_CODEC_ID_HEVC);
  impl_->context = avcodec_alloc_context3(decoder);
  // Report damage as errors instead of concealing it: the tests want to know.
  impl_->context->err_recognition = AV_EF_EXPLODE;
  avcodec_open2(impl_->context, decoder, nullptr);
  impl_->packet = av_packet_alloc();
  impl_->frame = av_frame_alloc();
}

Decoder::~Decoder() {
  av_frame_free(&impl_->frame);
  av_packet_free(&impl_->packet);
  avcodec_free_context(&impl_->context);
}

bool Decoder::decode(const std::vector<uint8_t>& annexb) {
  av_packet_unref(impl_->packet);
  if (av_new_packet(impl_->packet, static_cast<int>(annexb.size())) < 0) return false;
  std::copy(annexb.begin(), annexb.end(), impl_->packet->data);
  bool ok = avcodec_send_packet(impl_->context, impl_->packet) >= 0;
  while (true) {
    const int r = avcodec_receive_frame(impl_->context, impl_->frame);
    if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) break;
    if (r < 0) {
      ok = false;
      break;
    }
    if (impl_->frame->decode_error_flags) ok = false;
    ++frames_;
    width_ = impl_->frame->width;
    height_ = impl_->frame->height;
    av_frame_unref(impl_->frame);
  }
  if (!ok) ++errors_;
  return ok;
}

void Decoder::flush() {
  avcodec_send_packet(impl_->context, nullptr);
  while (avcodec_receive_frame(impl_->context, impl_->frame) >= 0) {
    ++frames_;
    av_frame_unref(impl_->frame);
  }
}

}  // namespace vcgate::testing
