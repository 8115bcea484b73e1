#include "gateway/evidence/mp4_writer.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/error.h>
#include <libavutil/log.h>
#include <libavutil/mem.h>
}

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <vector>

#include <fmt/format.h>

#include "gateway/evidence/fragment_boxes.h"

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

// Where the next start code (00 00 01) at or after `from` begins; the
// unit's size if there is none. memchr finds the 01 bytes, so the scan does
// not look at every byte of a frame in C.
size_t findStartCode(std::span<const uint8_t> unit, size_t from) {
  const size_t n = unit.size();
  for (size_t one = from + 2; one < n;) {
    const auto* hit = static_cast<const uint8_t*>(std::memchr(unit.data() + one, 1, n - one));
    if (!hit) break;
    one = static_cast<size_t>(hit - unit.data());
    if (unit[one - 1] == 0 && unit[one - 2] == 0) return one - 2;
    ++one;
  }
  return n;
}

// Calls fn(nal) for each NAL unit of an Annex-B access unit, without its start
// code, as libavformat splits them: the zero in front of a 4-byte start code
// belongs to the start code; empty NAL units are skipped.
template <typename Fn>
void forEachNalUnit(std::span<const uint8_t> unit, Fn&& fn) {
  const size_t n = unit.size();
  for (size_t code = findStartCode(unit, 0); code < n;) {
    const size_t begin = code + 3;
    const size_t next = findStartCode(unit, begin);
    const size_t end = next < n && next > begin && unit[next - 1] == 0 ? next - 1 : next;
    if (end > begin) fn(unit.subspan(begin, end - begin));
    code = next;
  }
}

// The parameter sets of an Annex-B access unit, each behind a 4-byte start
// code: libavformat's mov muxer takes Annex-B extradata and writes the
// avcC/hvcC box of the file header from it (ff_isom_write_avcc/hvcc).
std::vector<uint8_t> parameterSets(std::span<const uint8_t> unit, core::VideoCodec codec, bool* complete) {
  std::vector<uint8_t> out;
  bool has[3] = {false, false, false};  // H.264: SPS, PPS; H.265: VPS, SPS, PPS
  forEachNalUnit(unit, [&](std::span<const uint8_t> nal) {
    const uint8_t header = nal[0];
    const int type = codec == core::VideoCodec::kH264 ? (header & 0x1f) : ((header >> 1) & 0x3f);
    const bool wanted = codec == core::VideoCodec::kH264 ? isH264ParameterSet(type) : isH265ParameterSet(type);
    if (!wanted) return;
    static constexpr uint8_t kStartCode[] = {0, 0, 0, 1};
    out.insert(out.end(), kStartCode, kStartCode + 4);
    out.insert(out.end(), nal.begin(), nal.end());
    if (codec == core::VideoCodec::kH264) has[type - 7] = true;
    else has[type - 32] = true;
  });
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

// Writes every byte of `pieces` to fd, in order, with as few writev calls as
// the kernel allows. 0 or the errno of the failure.
int writeAll(int fd, std::vector<iovec>& pieces) {
  size_t next = 0;
  while (next < pieces.size()) {
    const int count = static_cast<int>(std::min<size_t>(pieces.size() - next, IOV_MAX));
    const ssize_t written = ::writev(fd, &pieces[next], count);
    if (written < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    // A short write (a signal, a nearly full disk): go on after the last byte that made it.
    auto left = static_cast<size_t>(written);
    while (next < pieces.size() && left >= pieces[next].iov_len) left -= pieces[next++].iov_len;
    if (left > 0) {
      pieces[next].iov_base = static_cast<uint8_t*>(pieces[next].iov_base) + left;
      pieces[next].iov_len -= left;
    }
  }
  return 0;
}

int writeAll(int fd, std::span<const uint8_t> bytes) {
  std::vector<iovec> one{{const_cast<uint8_t*>(bytes.data()), bytes.size()}};
  return writeAll(fd, one);
}

// The file header (ftyp, and a moov that announces fragments and holds no
// samples), from libavformat's mov muxer: it builds the avcC/hvcC sample
// entry from Annex-B parameter sets. `time_base` receives the track's time
// scale as the moov states it. An AVERROR code on failure.
int fileHeader(AVCodecID id, int width, int height, const std::vector<uint8_t>& extradata, std::vector<uint8_t>* out,
               AVRational* time_base) {
  AVFormatContext* format = nullptr;
  int err = avformat_alloc_output_context2(&format, nullptr, "mp4", nullptr);
  if (err < 0) return err;
  if (!format) return AVERROR(ENOMEM);
  AVStream* stream = avformat_new_stream(format, nullptr);
  err = stream ? avio_open_dyn_buf(&format->pb) : AVERROR(ENOMEM);
  if (err >= 0) {
    stream->time_base = kTimeBase;
    AVCodecParameters* par = stream->codecpar;
    par->codec_type = AVMEDIA_TYPE_VIDEO;
    par->codec_id = id;
    // hvc1 (parameter sets in the sample entry) is what Apple players require; avc1 is the default for H.264.
    if (id == AV_CODEC_ID_HEVC) par->codec_tag = MKTAG('h', 'v', 'c', '1');
    par->width = width;
    par->height = height;
    par->extradata = static_cast<uint8_t*>(av_mallocz(extradata.size() + AV_INPUT_BUFFER_PADDING_SIZE));
    if (!par->extradata) err = AVERROR(ENOMEM);
  }
  if (err >= 0) {
    std::memcpy(stream->codecpar->extradata, extradata.data(), extradata.size());
    stream->codecpar->extradata_size = static_cast<int>(extradata.size());
    AVDictionary* options = nullptr;
    // empty_moov: the moov is written now, with no samples, and every
    // fragment after it is self-contained (default_base_moof), which is how
    // the fragments written by fragmentHeader() are built.
    av_dict_set(&options, "movflags", "frag_keyframe+empty_moov+default_base_moof", 0);
    err = avformat_write_header(format, &options);
    av_dict_free(&options);
    *time_base = stream->time_base;
  }
  if (format->pb) {
    uint8_t* bytes = nullptr;
    const int size = avio_close_dyn_buf(format->pb, &bytes);
    format->pb = nullptr;
    if (err >= 0 && size > 0) out->assign(bytes, bytes + size);
    av_free(bytes);
  }
  avformat_free_context(format);  // also lets go of the muxer's state: its fragments are never used
  if (err >= 0 && out->empty()) err = AVERROR(EIO);
  return err < 0 ? err : 0;
}

// The ISO BMFF track that fileHeader() creates.
constexpr uint32_t kTrackId = 1;

}  // namespace

struct Mp4Writer::Impl {
  std::string path;
  core::VideoCodec codec = core::VideoCodec::kH264;
  int width = 0;
  int height = 0;
  int fd = -1;
  bool header_written = false;
  bool created = false;  // open() made a new regular file: only then may close() remove it
  std::optional<core::Error> failure;  // sticky: the first write error
  AVRational track_time_base = kTimeBase;
  uint64_t file_size = 0;  // bytes written so far: where the next fragment starts

  // Timestamps, in 1/90000 after rebasing.
  int64_t base_ns = 0;       // dts_ns of the first keyframe
  int64_t offset_ticks = 0;  // added after a non-increasing dts
  int64_t last_dts = 0;
  int64_t last_delta = 0;
  int64_t first_pts = 0;
  int64_t end_pts = 0;

  // The fragment being gathered: the units since the last keyframe. It is
  // written when the next keyframe arrives (which also gives the last
  // unit's exact duration, so fragments join without drift) or at close().
  struct Sample {
    int64_t dts = 0;
    int64_t pts = 0;
    uint32_t size = 0;  // length-prefixed NAL units
    bool keyframe = false;
  };
  std::vector<Sample> samples;
  std::vector<std::span<const uint8_t>> nal_units;     // of all samples, in order, in the units' own buffers
  std::vector<std::shared_ptr<const void>> owners;     // keep those buffers alive until the fragment is written
  uint32_t next_sequence = 1;
  std::vector<FragmentIndexEntry> fragments;
  // Reused from fragment to fragment.
  std::vector<FragmentSample> boxes_input;
  std::vector<uint8_t> length_prefixes;
  std::vector<iovec> pieces;

  Mp4Summary summary;

  void dropFragment() {
    samples.clear();
    nal_units.clear();
    owners.clear();
  }

  void release() {
    dropFragment();
    if (fd >= 0) ::close(fd);
    fd = -1;
    header_written = false;
  }

  core::Result<void> fail(const char* doing, int err) {
    failure = fileError(path, doing, err);
    dropFragment();
    return *failure;
  }

  int64_t toTrack(int64_t ticks) const { return av_rescale_q(ticks, kTimeBase, track_time_base); }

  // Writes the gathered fragment; `last_duration` is its last unit's, in 1/90000.
  core::Result<void> writeFragment(int64_t last_duration) {
    if (samples.empty()) return {};
    boxes_input.clear();
    for (size_t i = 0; i < samples.size(); ++i) {
      const Sample& s = samples[i];
      const int64_t next_dts = i + 1 < samples.size() ? samples[i + 1].dts : s.dts + last_duration;
      end_pts = std::max(end_pts, s.pts + (next_dts - s.dts));
      const int64_t start = toTrack(s.dts);
      const int64_t duration = std::clamp<int64_t>(toTrack(next_dts) - start, 0, UINT32_MAX);
      const int64_t composition_offset = std::clamp<int64_t>(toTrack(s.pts) - start, INT32_MIN, INT32_MAX);
      boxes_input.push_back({s.size, static_cast<uint32_t>(duration), static_cast<int32_t>(composition_offset),
                             s.keyframe});
    }
    const auto base = static_cast<uint64_t>(toTrack(samples.front().dts));
    const auto header = fragmentHeader(next_sequence, kTrackId, base, boxes_input);

    // moof + mdat header, then each NAL unit behind its 4-byte length, straight from the units' buffers.
    length_prefixes.resize(nal_units.size() * 4);
    pieces.clear();
    pieces.push_back({const_cast<uint8_t*>(header.data()), header.size()});
    uint64_t total = header.size();
    for (size_t i = 0; i < nal_units.size(); ++i) {
      const auto size = static_cast<uint32_t>(nal_units[i].size());
      uint8_t* prefix = &length_prefixes[i * 4];
      for (int b = 0; b < 4; ++b) prefix[b] = static_cast<uint8_t>(size >> (24 - 8 * b));
      pieces.push_back({prefix, 4});
      pieces.push_back({const_cast<uint8_t*>(nal_units[i].data()), nal_units[i].size()});
      total += 4 + size;
    }
    if (const int err = writeAll(fd, pieces); err != 0) return fail("write", AVERROR(err));
    fragments.push_back({base, file_size});
    file_size += total;
    ++next_sequence;
    ++summary.fragments;
    dropFragment();
    return {};
  }

  core::Result<void> startFile(std::span<const uint8_t> keyframe, const std::vector<uint8_t>& extradata) {
    const AVCodecID id = codec == core::VideoCodec::kH265 ? AV_CODEC_ID_HEVC : AV_CODEC_ID_H264;
    if (width <= 0 || height <= 0) std::tie(width, height) = dimensionsFromParser(keyframe, id);
    std::vector<uint8_t> header;
    if (const int err = fileHeader(id, width, height, extradata, &header, &track_time_base); err < 0)
      return fail("write the header of", err);
    if (const int err = writeAll(fd, header); err != 0) return fail("write the header of", AVERROR(err));
    file_size = header.size();
    header_written = true;
    return {};
  }
};

Mp4Writer::Mp4Writer() : impl_(std::make_unique<Impl>()) {}

Mp4Writer::~Mp4Writer() {
  if (isOpen()) (void)close();
}

bool Mp4Writer::isOpen() const { return impl_->fd >= 0; }
bool Mp4Writer::started() const { return impl_->header_written; }
uint64_t Mp4Writer::framesWritten() const { return impl_->summary.frames; }
uint64_t Mp4Writer::fragmentsWritten() const { return impl_->summary.fragments; }
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
  std::error_code ignored;
  const bool existed = std::filesystem::exists(path, ignored);
  m.fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (m.fd < 0) return fileError(path, "create", AVERROR(errno));
  m.created = !existed && std::filesystem::is_regular_file(path, ignored);
  return {};
}

core::Result<void> Mp4Writer::write(std::span<const uint8_t> unit, int64_t pts_ns, int64_t dts_ns, bool keyframe,
                                    std::shared_ptr<const void> owner) {
  Impl& m = *impl_;
  if (m.fd < 0) return core::makeError("Mp4Writer::write() before open()");
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
  const bool first = m.summary.frames == 0;
  if (!first && dts <= m.last_dts) {
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

  if (first) {
    m.first_pts = pts;
  } else {
    m.last_delta = dts - m.last_dts;
    // A keyframe starts the next fragment: the one gathered so far is complete.
    if (keyframe)
      if (auto written = m.writeFragment(m.last_delta); !written) return written;
  }

  if (!owner) {  // the caller's bytes may change after we return: keep a copy until the fragment is written
    auto copy = std::make_shared<const std::vector<uint8_t>>(unit.begin(), unit.end());
    unit = *copy;
    owner = std::move(copy);
  }
  uint64_t size = 0;
  forEachNalUnit(unit, [&](std::span<const uint8_t> nal) {
    m.nal_units.push_back(nal);
    size += 4 + nal.size();
  });
  m.owners.push_back(std::move(owner));
  m.samples.push_back({dts, pts, static_cast<uint32_t>(size), keyframe});
  m.last_dts = dts;
  m.first_pts = std::min(m.first_pts, pts);
  ++m.summary.frames;
  if (keyframe) ++m.summary.keyframes;
  m.summary.bytes += unit.size();
  return {};
}

core::Result<Mp4Summary> Mp4Writer::close() {
  Impl& m = *impl_;
  if (m.fd < 0) return core::makeError("Mp4Writer::close() without an open file");
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
    if (auto written = m.writeFragment(m.last_delta > 0 ? m.last_delta : kDefaultFrameTicks); !written)
      error = written.error();
  }
  if (!error) {
    const auto index = fragmentIndex(kTrackId, m.fragments);
    if (const int err = writeAll(m.fd, index); err != 0) error = fileError(m.path, "finish", AVERROR(err));
  }
  const int fd = m.fd;
  m.fd = -1;
  if (::close(fd) != 0 && !error) error = fileError(m.path, "close", AVERROR(errno));
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
