#include "gateway/evidence/mp4_writer.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/error.h>
#include <libavutil/log.h>
#include <libavutil/mem.h>
}

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <vector>

#include <fmt/format.h>

namespace vcgate::evidence {
namespace {

constexpr AVRational kTimeBase{1, 90000};
constexpr int64_t kDefaultFrameTicks = 3600;  // 40 ms at 90 kHz, when nothing better is known

std::string avErrorText(int err) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(err, text, sizeof text);
  return text;
}

std::string parentOf(const std::string& path) {
  const auto parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

// A sentence a technician can act on: which file, what went wrong, what to check.
core::Error fileError(const std::string& path, const char* doing, int err) {
  const std::string dir = parentOf(path);
  switch (err) {
    case AVERROR(ENOENT):
      return core::makeError(fmt::format("cannot {} {}: the directory {} does not exist", doing, path, dir));
    case AVERROR(EACCES):
    case AVERROR(EPERM):
      return core::makeError(
          fmt::format("cannot {} {}: permission denied (check the owner and mode of {})", doing, path, dir));
    case AVERROR(ENOSPC):
      return core::makeError(fmt::format("cannot {} {}: the disk is full (no space left on device)", doing, path));
    case AVERROR(EDQUOT):
      return core::makeError(fmt::format("cannot {} {}: the disk quota of this user is exhausted", doing, path));
    case AVERROR(EROFS):
      return core::makeError(fmt::format("cannot {} {}: the file system is read-only", doing, path));
    case AVERROR(EISDIR):
      return core::makeError(fmt::format("cannot {} {}: it is a directory", doing, path));
    default:
      return core::makeError(fmt::format("cannot {} {}: {}", doing, path, avErrorText(err)));
  }
}

bool isH264ParameterSet(int type) { return type == 7 || type == 8; }
bool isH265ParameterSet(int type) { return type >= 32 && type <= 34; }

// The parameter sets of an Annex-B access unit, each behind a 4-byte start
// code: libavformat's mov muxer takes Annex-B extradata and writes the
// avcC/hvcC box from it itself (ff_isom_write_avcc/hvcc), and then also
// converts every Annex-B packet to length-prefixed NAL units.
std::vector<uint8_t> parameterSets(std::span<const uint8_t> unit, core::VideoCodec codec, bool* complete) {
  std::vector<uint8_t> out;
  bool has[3] = {false, false, false};  // H.264: SPS, PPS; H.265: VPS, SPS, PPS
  size_t i;
  const size_t n = unit.size();
  auto nextStart = [&](size_t from) -> std::pair<size_t, size_t> {  // (start code position, payload position)
    for (size_t k = from; k + 3 <= n; ++k) {
      if (unit[k] == 0 && unit[k + 1] == 0 && unit[k + 2] == 1) return {k > 0 && unit[k - 1] == 0 ? k - 1 : k, k + 3};
    }
    return {n, n};
  };
  i = nextStart(0).second;
  while (i < n) {
    auto [next_start, next_payload] = nextStart(i);
    const size_t end = next_start;
    if (end > i) {
      const uint8_t header = unit[i];
      const int type = codec == core::VideoCodec::kH264 ? (header & 0x1f) : ((header >> 1) & 0x3f);
      const bool wanted = codec == core::VideoCodec::kH264 ? isH264ParameterSet(type) : isH265ParameterSet(type);
      if (wanted) {
        static constexpr uint8_t kStartCode[] = {0, 0, 0, 1};
        out.insert(out.end(), kStartCode, kStartCode + 4);
        out.insert(out.end(), unit.begin() + static_cast<ptrdiff_t>(i), unit.begin() + static_cast<ptrdiff_t>(end));
        if (codec == core::VideoCodec::kH264) has[type - 7] = true;
        else has[type - 32] = true;
      }
    }
    i = next_payload;
  }
  *complete = codec == core::VideoCodec::kH264 ? (has[0] && has[1]) : (has[0] && has[1] && has[2]);
  return out;
}

// Width and height from the SPS, through libavcodec's parser (no decoding).
std::pair<int, int> dimensionsFromParser(std::span<const uint8_t> unit, AVCodecID id) {
  AVCodecParserContext* parser = av_parser_init(id);
  const AVCodec* codec = avcodec_find_decoder(id);
  AVCodecContext* context = codec ? avcodec_alloc_context3(codec) : nullptr;
  std::pair<int, int> size{0, 0};
  if (parser && context) {
    parser->flags |= PARSER_FLAG_COMPLETE_FRAMES;
    // The parser reads up to AV_INPUT_BUFFER_PADDING_SIZE past the end.
    std::vector<uint8_t> padded(unit.begin(), unit.end());
    padded.resize(unit.size() + AV_INPUT_BUFFER_PADDING_SIZE, 0);
    uint8_t* out = nullptr;
    int out_size = 0;
    av_parser_parse2(parser, context, &out, &out_size, padded.data(), static_cast<int>(unit.size()), AV_NOPTS_VALUE,
                     AV_NOPTS_VALUE, 0);
    size = {parser->width, parser->height};
  }
  avcodec_free_context(&context);
  av_parser_close(parser);
  return size;
}

// Walks the top-level boxes of an ISO BMFF file: true when the last one ends
// exactly at the end of the file. A cut file ends inside a box; the demuxer
// alone cannot tell when the cut falls inside a moof it then skips.
bool boxesEndAtEndOfFile(const std::string& path) {
  std::error_code ec;
  const auto file_size = std::filesystem::file_size(path, ec);
  if (ec) return false;
  std::ifstream in(path, std::ios::binary);
  uint64_t at = 0;
  while (at < file_size) {
    if (file_size - at < 8) return false;
    uint8_t header[16];
    in.seekg(static_cast<std::streamoff>(at));
    if (!in.read(reinterpret_cast<char*>(header), 8)) return false;
    uint64_t size = uint64_t{header[0]} << 24 | uint64_t{header[1]} << 16 | uint64_t{header[2]} << 8 | header[3];
    if (size == 0) return true;  // "to the end of the file"
    if (size == 1) {             // 64-bit size follows the type
      if (file_size - at < 16 || !in.read(reinterpret_cast<char*>(header + 8), 8)) return false;
      size = 0;
      for (int i = 8; i < 16; ++i) size = size << 8 | header[i];
    }
    if (size < 8 || size > file_size - at) return false;
    at += size;
  }
  return true;
}

// A packet with its own copy of the unit's bytes.
AVPacket* copiedPacket(std::span<const uint8_t> unit) {
  AVPacket* packet = av_packet_alloc();
  if (!packet || av_new_packet(packet, static_cast<int>(unit.size())) < 0) {
    av_packet_free(&packet);
    return nullptr;
  }
  std::memcpy(packet->data, unit.data(), unit.size());
  return packet;
}

// A packet that points at the unit's bytes and keeps `owner` alive until
// libavformat lets go of it: no copy of the video on its way to the muxer.
AVPacket* borrowedPacket(std::span<const uint8_t> unit, std::shared_ptr<const void> owner) {
  AVPacket* packet = av_packet_alloc();
  if (!packet) return nullptr;
  auto* keep = new std::shared_ptr<const void>(std::move(owner));
  auto* data = const_cast<uint8_t*>(unit.data());  // read-only buffer: the muxer never writes to it
  packet->buf = av_buffer_create(
      data, unit.size(), [](void* opaque, uint8_t*) { delete static_cast<std::shared_ptr<const void>*>(opaque); },
      keep, AV_BUFFER_FLAG_READONLY);
  if (!packet->buf) {
    delete keep;
    av_packet_free(&packet);
    return nullptr;
  }
  packet->data = data;
  packet->size = static_cast<int>(unit.size());
  return packet;
}

}  // namespace

struct Mp4Writer::Impl {
  std::string path;
  core::VideoCodec codec = core::VideoCodec::kH264;
  int width = 0;
  int height = 0;
  AVFormatContext* format = nullptr;
  AVStream* stream = nullptr;
  bool header_written = false;
  bool created = false;  // open() made a new regular file: only then may close() remove it
  std::optional<core::Error> failure;  // sticky: the first write error

  // Timestamps, in 1/90000 after rebasing.
  int64_t base_ns = 0;       // dts_ns of the first keyframe
  int64_t offset_ticks = 0;  // added after a non-increasing dts
  int64_t last_dts = 0;
  int64_t last_delta = 0;
  int64_t first_pts = 0;
  int64_t end_pts = 0;
  // The last unit is held back one step so that its duration is known
  // exactly (next dts - its dts): fragments then join without drift.
  AVPacket* pending = nullptr;

  Mp4Summary summary;

  void release() {
    av_packet_free(&pending);
    if (format) {
      if (format->pb) avio_closep(&format->pb);
      avformat_free_context(format);
      format = nullptr;
    }
    stream = nullptr;
    header_written = false;
  }

  core::Result<void> fail(const char* doing, int err) {
    failure = fileError(path, doing, err);
    return *failure;
  }

  // Writes `pending` with the given duration.
  core::Result<void> flushPending(int64_t duration_ticks) {
    if (!pending) return {};
    pending->duration = duration_ticks;
    end_pts = std::max(end_pts, pending->pts + duration_ticks);
    av_packet_rescale_ts(pending, kTimeBase, stream->time_base);
    const int err = av_write_frame(format, pending);
    av_packet_free(&pending);
    if (err < 0) return fail("write", err);
    if (format->pb->error < 0) return fail("write", format->pb->error);
    return {};
  }

  core::Result<void> startFile(std::span<const uint8_t> keyframe, const std::vector<uint8_t>& extradata) {
    const AVCodecID id = codec == core::VideoCodec::kH265 ? AV_CODEC_ID_HEVC : AV_CODEC_ID_H264;
    if (width <= 0 || height <= 0) std::tie(width, height) = dimensionsFromParser(keyframe, id);
    stream = avformat_new_stream(format, nullptr);
    if (!stream) return fail("set up", AVERROR(ENOMEM));
    stream->time_base = kTimeBase;
    AVCodecParameters* par = stream->codecpar;
    par->codec_type = AVMEDIA_TYPE_VIDEO;
    par->codec_id = id;
    // hvc1 (parameter sets in the sample entry) is what Apple players require; avc1 is the default for H.264.
    if (id == AV_CODEC_ID_HEVC) par->codec_tag = MKTAG('h', 'v', 'c', '1');
    par->width = width;
    par->height = height;
    par->extradata = static_cast<uint8_t*>(av_mallocz(extradata.size() + AV_INPUT_BUFFER_PADDING_SIZE));
    if (!par->extradata) return fail("set up", AVERROR(ENOMEM));
    std::memcpy(par->extradata, extradata.data(), extradata.size());
    par->extradata_size = static_cast<int>(extradata.size());

    AVDictionary* options = nullptr;
    // Fragmented: the moov comes first without samples and every GOP is one
    // self-contained moof+mdat, so a file cut at any point plays up to there.
    av_dict_set(&options, "movflags", "frag_keyframe+empty_moov+default_base_moof", 0);
    const int err = avformat_write_header(format, &options);
    av_dict_free(&options);
    if (err < 0) return fail("write the header of", err);
    if (format->pb->error < 0) return fail("write the header of", format->pb->error);
    header_written = true;
    return {};
  }
};

Mp4Writer::Mp4Writer() : impl_(std::make_unique<Impl>()) {}

Mp4Writer::~Mp4Writer() {
  if (isOpen()) (void)close();
}

bool Mp4Writer::isOpen() const { return impl_->format != nullptr; }
bool Mp4Writer::started() const { return impl_->header_written; }
uint64_t Mp4Writer::framesWritten() const { return impl_->summary.frames; }
uint64_t Mp4Writer::leadingDropped() const { return impl_->summary.leading_dropped; }
const std::string& Mp4Writer::path() const { return impl_->path; }

core::Result<void> Mp4Writer::open(const std::string& path, core::VideoCodec codec, int width, int height) {
  if (isOpen()) return core::makeError(fmt::format("cannot open {}: this writer still has {} open", path, impl_->path));
  Impl& m = *impl_;
  m = Impl{};
  m.path = path;
  m.codec = codec;
  m.width = width;
  m.height = height;
  m.summary.path = path;
  const int err = avformat_alloc_output_context2(&m.format, nullptr, "mp4", path.c_str());
  if (err < 0 || !m.format) {
    m.format = nullptr;
    return fileError(path, "set up", err < 0 ? err : AVERROR(ENOMEM));
  }
  // Each packet's bytes go to the file when av_write_frame returns, not when
  // an I/O buffer fills: complete fragments must be on disk if we are killed.
  m.format->flags |= AVFMT_FLAG_FLUSH_PACKETS;
  std::error_code ignored;
  const bool existed = std::filesystem::exists(path, ignored);
  const int open_err = avio_open(&m.format->pb, path.c_str(), AVIO_FLAG_WRITE);
  if (open_err < 0) {
    auto error = fileError(path, "create", open_err);
    m.release();
    return error;
  }
  m.created = !existed && std::filesystem::is_regular_file(path, ignored);
  return {};
}

core::Result<void> Mp4Writer::write(std::span<const uint8_t> unit, int64_t pts_ns, int64_t dts_ns, bool keyframe,
                                    std::shared_ptr<const void> owner) {
  Impl& m = *impl_;
  if (!m.format) return core::makeError("Mp4Writer::write() before open()");
  if (m.failure) return *m.failure;
  if (unit.empty()) return {};

  if (!m.header_written) {
    bool complete = false;
    const auto extradata = keyframe ? parameterSets(unit, m.codec, &complete) : std::vector<uint8_t>{};
    if (!keyframe || !complete) {
      // Nothing before a keyframe with its parameter sets can be decoded.
      ++m.summary.leading_dropped;
      return {};
    }
    if (auto started = m.startFile(unit, extradata); !started) return started;
    m.base_ns = dts_ns;
  }

  int64_t dts = av_rescale(dts_ns - m.base_ns, kTimeBase.den, 1'000'000'000) + m.offset_ticks;
  int64_t pts = av_rescale(pts_ns - m.base_ns, kTimeBase.den, 1'000'000'000) + m.offset_ticks;
  if (m.pending && dts <= m.last_dts) {
    // Decode time went backwards or stood still: continue one frame later.
    const int64_t wanted = m.last_dts + (m.last_delta > 0 ? m.last_delta : kDefaultFrameTicks);
    m.offset_ticks += wanted - dts;
    pts += wanted - dts;
    dts = wanted;
    ++m.summary.timestamp_fixes;
  }
  if (pts < dts) {
    pts = dts;
    ++m.summary.timestamp_fixes;
  }

  if (m.pending) {
    m.last_delta = dts - m.last_dts;
    if (auto flushed = m.flushPending(m.last_delta); !flushed) return flushed;
  } else if (m.summary.frames == 0) {
    m.first_pts = pts;
  }

  AVPacket* packet = owner ? borrowedPacket(unit, std::move(owner)) : copiedPacket(unit);
  if (!packet) return m.fail("write", AVERROR(ENOMEM));
  packet->stream_index = m.stream->index;
  packet->pts = pts;
  packet->dts = dts;
  if (keyframe) packet->flags |= AV_PKT_FLAG_KEY;
  m.pending = packet;
  m.last_dts = dts;
  m.first_pts = std::min(m.first_pts, pts);
  ++m.summary.frames;
  if (keyframe) ++m.summary.keyframes;
  m.summary.bytes += unit.size();
  return {};
}

core::Result<Mp4Summary> Mp4Writer::close() {
  Impl& m = *impl_;
  if (!m.format) return core::makeError("Mp4Writer::close() without an open file");
  std::optional<core::Error> error = m.failure;
  if (!m.header_written) {
    m.release();
    // An empty file would look like evidence that is not there. Never remove
    // what we did not create (an existing file, a device such as /dev/full).
    std::error_code ignored;
    if (m.created) std::filesystem::remove(m.path, ignored);
    if (error) return *error;
    return core::makeError(fmt::format("{} was not written: no keyframe with parameter sets arrived ({} unit(s) dropped)",
                                       m.path, m.summary.leading_dropped));
  }
  if (!error) {
    if (auto flushed = m.flushPending(m.last_delta > 0 ? m.last_delta : kDefaultFrameTicks); !flushed)
      error = flushed.error();
  }
  if (!error) {
    const int err = av_write_trailer(m.format);
    if (err < 0) error = fileError(m.path, "finish", err);
    else if (m.format->pb->error < 0) error = fileError(m.path, "finish", m.format->pb->error);
  }
  if (m.format->pb) {
    avio_flush(m.format->pb);
    const int err = m.format->pb->error;
    if (!error && err < 0) error = fileError(m.path, "finish", err);
    const int close_err = avio_closep(&m.format->pb);
    if (!error && close_err < 0) error = fileError(m.path, "close", close_err);
  }
  m.summary.duration_s = static_cast<double>(m.end_pts - m.first_pts) / kTimeBase.den;
  m.release();
  if (error) return *error;
  return m.summary;
}

PlayableReport verifyPlayable(const std::string& path) {
  PlayableReport report;
  AVFormatContext* format = nullptr;
  AVCodecContext* decoder = nullptr;
  AVPacket* packet = av_packet_alloc();
  AVFrame* frame = av_frame_alloc();
  int64_t first_pts = AV_NOPTS_VALUE;
  int64_t end_pts = AV_NOPTS_VALUE;
  int stream_index = -1;
  AVRational time_base{1, 1};

  auto finish = [&](std::string error) {
    report.error = std::move(error);
    if (first_pts != AV_NOPTS_VALUE && end_pts != AV_NOPTS_VALUE)
      report.duration_s = static_cast<double>(end_pts - first_pts) * av_q2d(time_base);
    report.ok = report.error.empty();
    av_frame_free(&frame);
    av_packet_free(&packet);
    avcodec_free_context(&decoder);
    avformat_close_input(&format);
    return report;
  };
  auto drain = [&] {
    while (true) {
      const int r = avcodec_receive_frame(decoder, frame);
      if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) break;
      if (r < 0) {
        ++report.decode_errors;
        break;
      }
      if (frame->decode_error_flags || (frame->flags & AV_FRAME_FLAG_CORRUPT)) ++report.decode_errors;
      else ++report.frames_decoded;
      report.width = frame->width;
      report.height = frame->height;
      av_frame_unref(frame);
    }
  };

  if (!packet || !frame) return finish("out of memory");
  int err = avformat_open_input(&format, path.c_str(), nullptr, nullptr);
  if (err < 0) return finish(fileError(path, "open", err).message);
  err = avformat_find_stream_info(format, nullptr);
  if (err < 0) return finish(fmt::format("{}: cannot read the stream information: {}", path, avErrorText(err)));
  stream_index = av_find_best_stream(format, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (stream_index < 0) return finish(fmt::format("{}: no video stream in the file", path));
  const AVStream* stream = format->streams[stream_index];
  time_base = stream->time_base;
  const AVCodec* codec = avcodec_find_decoder(stream->codecpar->codec_id);
  report.codec = avcodec_get_name(stream->codecpar->codec_id);
  report.width = stream->codecpar->width;
  report.height = stream->codecpar->height;
  if (!codec) return finish(fmt::format("{}: no decoder for {}", path, report.codec));
  decoder = avcodec_alloc_context3(codec);
  if (!decoder || avcodec_parameters_to_context(decoder, stream->codecpar) < 0)
    return finish(fmt::format("{}: cannot set up the {} decoder", path, report.codec));
  // Report damage instead of concealing it: the point is to know.
  decoder->err_recognition = AV_EF_EXPLODE;
  if (avcodec_open2(decoder, codec, nullptr) < 0)
    return finish(fmt::format("{}: cannot open the {} decoder", path, report.codec));

  std::string read_error;
  while (true) {
    err = av_read_frame(format, packet);
    if (err == AVERROR_EOF) break;
    if (err < 0) {
      report.truncated = true;
      read_error = avErrorText(err);
      break;
    }
    if (packet->stream_index != stream_index) {
      av_packet_unref(packet);
      continue;
    }
    if (report.packets == 0) report.starts_with_keyframe = packet->flags & AV_PKT_FLAG_KEY;
    ++report.packets;
    if (packet->flags & AV_PKT_FLAG_CORRUPT) report.truncated = true;
    if (packet->pts != AV_NOPTS_VALUE) {
      if (first_pts == AV_NOPTS_VALUE || packet->pts < first_pts) first_pts = packet->pts;
      const int64_t end = packet->pts + packet->duration;
      if (end_pts == AV_NOPTS_VALUE || end > end_pts) end_pts = end;
    }
    if (avcodec_send_packet(decoder, packet) < 0) ++report.decode_errors;
    av_packet_unref(packet);
    drain();
  }
  avcodec_send_packet(decoder, nullptr);
  drain();

  // The demuxer indexes every sample a moof announces; fewer packets than
  // that means the file ends inside a fragment (a cut file).
  const int announced = avformat_index_get_entries_count(format->streams[stream_index]);
  if (announced > report.packets || !boxesEndAtEndOfFile(path)) report.truncated = true;

  if (report.packets == 0) return finish(fmt::format("{}: the file holds no video frames", path));
  if (report.decode_errors > 0)
    return finish(fmt::format("{}: {} of {} frame(s) did not decode{}", path, report.decode_errors, report.packets,
                              report.truncated ? " (the file is cut short)" : ""));
  if (report.frames_decoded != report.packets)
    return finish(fmt::format("{}: {} packet(s) gave only {} picture(s)", path, report.packets,
                              report.frames_decoded));
  if (!read_error.empty())
    return finish(fmt::format("{}: reading stopped early: {} (the file is cut short)", path, read_error));
  if (report.truncated)
    return finish(fmt::format("{}: the file is cut short (it ends inside a fragment); the {} frame(s) before the "
                              "cut decode",
                              path, report.packets));
  return finish("");
}

void quietLibavLogs() { av_log_set_level(AV_LOG_FATAL); }

}  // namespace vcgate::evidence
