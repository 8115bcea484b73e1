#include "gateway/probe/probe.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "gateway/core/uri.h"
#include "gateway/probe/keyframe.h"
#include "gateway/probe/libav_util.h"

extern "C" {
#include <libavutil/avutil.h>
#include <libavutil/pixdesc.h>
}

namespace vcgate::probe {
namespace {

using Clock = std::chrono::steady_clock;
using detail::PacketPtr;

double msSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

core::Error fail(const char* code, std::string message) { return core::makeCodedError(code, std::move(message)); }

// What libav's blocking calls check between reads: past the deadline, or
// cancelled, they give up with AVERROR_EXIT.
struct Interrupt {
  Clock::time_point deadline = Clock::time_point::max();
  const std::atomic<bool>* cancel = nullptr;
  bool fired = false;
  static int check(void* self) {
    auto* s = static_cast<Interrupt*>(self);
    if ((s->cancel && s->cancel->load()) || Clock::now() >= s->deadline) s->fired = true;
    return s->fired ? 1 : 0;
  }
};

struct FormatContextDeleter {
  void operator()(AVFormatContext* c) const { avformat_close_input(&c); }
};
using FormatContextPtr = std::unique_ptr<AVFormatContext, FormatContextDeleter>;

struct Target {
  bool network = false;
  std::string url;  // what libav opens
  std::string host;
  int port = 0;
  bool has_user = false;
};

core::Result<Target> parseTarget(const std::string& text) {
  Target t;
  if (text.starts_with("test://"))
    return fail("bad_uri",
                "test:// cameras are generated inside the gateway; there is nothing to probe. Probe "
                "an rtsp:// camera or a file:// clip");
  if (text.starts_with("file://")) {
    t.url = "file:" + text.substr(7);
    return t;
  }
  if (text.find("://") == std::string::npos) {  // a plain path
    t.url = "file:" + text;
    return t;
  }
  auto uri = core::parseUri(text);
  if (!uri)
    return fail("bad_uri", fmt::format("{} is not a valid URI: {}", core::redactUri(text), uri.error().message));
  if (uri->scheme != "rtsp" && uri->scheme != "rtsps")
    return fail("bad_uri", fmt::format("the probe opens rtsp://, rtsps:// and file:// URIs, not {}://", uri->scheme));
  if (uri->host.empty()) return fail("bad_uri", fmt::format("{} names no host", core::redactUri(text)));
  t.network = true;
  t.url = text;
  t.host = uri->host;
  t.port = uri->port ? uri->port : (uri->scheme == "rtsps" ? 322 : 554);
  t.has_user = !uri->user.empty();
  return t;
}

// Before libav: a plain TCP connection tells "no such host", "port closed"
// and "host silent" apart, which libav reports alike, and a technician fixes
// differently (address, port, cable/firewall).
core::Result<void> checkTcp(const Target& t, std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(t.port);
  if (int err = getaddrinfo(t.host.c_str(), port.c_str(), &hints, &found); err != 0)
    return fail("unreachable", fmt::format("cannot resolve the camera's host name '{}': {}. Check the name, or use "
                                           "the camera's IP address",
                                           t.host, gai_strerror(err)));
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> list(found, freeaddrinfo);
  int last_errno = ETIMEDOUT;
  const auto deadline = Clock::now() + timeout;
  for (addrinfo* a = found; a; a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    int err = connect(fd, a->ai_addr, a->ai_addrlen) == 0 ? 0 : errno;
    if (err == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      const int ready = left > 0 ? poll(&p, 1, static_cast<int>(left)) : 0;
      if (ready <= 0) {
        err = ETIMEDOUT;
      } else {
        socklen_t len = sizeof err;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      }
    }
    close(fd);
    if (err == 0) return {};
    last_errno = err;
  }
  const std::string where = fmt::format("{}:{}", t.host, t.port);
  switch (last_errno) {
    case ECONNREFUSED:
      return fail("unreachable", fmt::format("nothing listens on {} (connection refused): the port is wrong or the "
                                             "camera's RTSP server is off",
                                             where));
    case EHOSTUNREACH:
    case ENETUNREACH:
      return fail("unreachable", fmt::format("no route to {} ({}): the address is wrong or the camera is on another "
                                             "network",
                                             t.host, std::strerror(last_errno)));
    case ETIMEDOUT:
      return fail("unreachable", fmt::format("{} does not answer: no TCP connection within {} ms. The camera is off "
                                             "or unplugged, the address is wrong, or a firewall drops the traffic",
                                             where, timeout.count()));
    default:
      return fail("unreachable", fmt::format("cannot connect to {}: {}", where, std::strerror(last_errno)));
  }
}

core::Error openError(int err, const Target& t, const Interrupt& interrupt, std::chrono::milliseconds timeout,
                      const std::string& shown) {
  const std::string where = t.network ? fmt::format("{}:{}", t.host, t.port) : shown;
  if (err == AVERROR_HTTP_UNAUTHORIZED)
    return t.has_user ? fail("auth_failed",
                             "the camera refused the user name or password (401 Unauthorized). Check "
                             "the credentials in the URI, rtsp://USER:PASSWORD@host/...")
                      : fail("auth_failed",
                             "the camera needs a user name and password (401 Unauthorized). Put them "
                             "in the URI, rtsp://USER:PASSWORD@host/...");
  if (err == AVERROR_HTTP_FORBIDDEN)
    return fail("auth_failed", "the camera refuses this user (403 Forbidden): the account lacks the right to stream");
  if (err == AVERROR_HTTP_NOT_FOUND)
    return fail("not_found", fmt::format("the camera has no stream at this path (404 Not Found). Check the path "
                                         "in the camera's manual or web page: {}",
                                         shown));
  if (err == AVERROR_HTTP_SERVER_ERROR)
    return fail("failed", "the camera reported an internal error (RTSP 5xx): restart the camera");
  if (err == AVERROR_HTTP_OTHER_4XX || err == AVERROR_HTTP_BAD_REQUEST)
    return fail("failed",
                "the camera refused the request (RTSP 4xx): the path or the transport is not what it "
                "expects; try --udp, or check the path");
  if (interrupt.fired || err == AVERROR(ETIMEDOUT) || err == AVERROR_EXIT)
    return fail("timeout", fmt::format("{} accepted the connection but did not answer the RTSP request within {} ms: "
                                       "the camera hangs (restart it) or this port is not its RTSP service",
                                       where, timeout.count()));
  if (err == AVERROR(ECONNREFUSED) || err == AVERROR(EHOSTUNREACH) || err == AVERROR(ENETUNREACH))
    return fail("unreachable", fmt::format("cannot connect to {}: {}", where, detail::errorText(err)));
  if (!t.network && err == AVERROR(ENOENT)) return fail("not_found", fmt::format("no such file: {}", shown));
  if (!t.network && (err == AVERROR(EACCES) || err == AVERROR(EPERM)))
    return fail("failed", fmt::format("no permission to read {}", shown));
  if (err == AVERROR_INVALIDDATA)
    return fail("failed", t.network ? fmt::format("{} answered with something that is not RTSP media", where)
                                    : fmt::format("{} is not a media file FFmpeg can read", shown));
  return fail("failed", fmt::format("cannot open {}: {}", shown, detail::errorText(err)));
}

double rate(AVRational r) { return r.num > 0 && r.den > 0 ? av_q2d(r) : 0; }

// Decode order is the order packets arrive in, so DTS grows steadily even with B-frames.
int64_t timestampOf(const AVPacket& p) { return p.dts != AV_NOPTS_VALUE ? p.dts : p.pts; }

}  // namespace

std::string libavVersion() {
  const auto v = [](unsigned x) { return fmt::format("{}.{}.{}", x >> 16, (x >> 8) & 0xff, x & 0xff); };
  return fmt::format("FFmpeg {} (libavformat {}, libavcodec {}, libavutil {})", av_version_info(),
                     v(avformat_version()), v(avcodec_version()), v(avutil_version()));
}

core::Result<ProbeReport> probeStream(const ProbeOptions& options) {
  const auto start = Clock::now();
  av_log_set_level(options.libav_log ? AV_LOG_INFO : AV_LOG_QUIET);
  const std::string shown = core::redactUri(options.uri);
  auto target = parseTarget(options.uri);
  if (!target) return target.error();
  if (target->network) {
    if (auto reachable = checkTcp(*target, options.timeout); !reachable) return reachable.error();
  }

  ProbeReport report;
  report.uri = shown;
  report.transport = !target->network ? "file" : options.udp ? "udp" : "tcp";

  Interrupt interrupt;
  interrupt.cancel = options.cancel;
  if (target->network) interrupt.deadline = start + options.timeout;
  AVFormatContext* raw = avformat_alloc_context();
  if (!raw) return fail("failed", "out of memory");
  raw->interrupt_callback = {&Interrupt::check, &interrupt};
  AVDictionary* open_options = nullptr;
  if (target->network) {
    av_dict_set(&open_options, "rtsp_transport", options.udp ? "udp" : "tcp", 0);
    av_dict_set_int(&open_options, "timeout", std::chrono::microseconds(options.timeout).count(), 0);
  }
  const int opened = avformat_open_input(&raw, target->url.c_str(), nullptr, &open_options);
  av_dict_free(&open_options);
  if (opened < 0) return openError(opened, *target, interrupt, options.timeout, shown);  // libav freed raw
  FormatContextPtr input(raw);
  report.connect_ms = msSince(start);
  report.format = input->iformat ? input->iformat->name : "";

  // A file's header may not list every stream (MPEG-TS); reading a little
  // finds them. An RTSP camera's SDP already says what it sends, and the
  // first keyframe (decoded below) says the rest, without the extra wait.
  if (!target->network) {
    if (int err = avformat_find_stream_info(input.get(), nullptr); err < 0)
      return fail("failed", fmt::format("cannot read the streams of {}: {}", shown, detail::errorText(err)));
  }
  const int video = av_find_best_stream(input.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  for (unsigned i = 0; i < input->nb_streams; ++i) {
    const AVCodecParameters* p = input->streams[i]->codecpar;
    if (static_cast<int>(i) == video) continue;
    input->streams[i]->discard = AVDISCARD_ALL;
    const char* type = av_get_media_type_string(p->codec_type);
    report.other_streams.push_back({type ? type : "unknown", avcodec_get_name(p->codec_id)});
  }
  if (video < 0) {
    std::string found;
    for (const auto& s : report.other_streams)
      found += fmt::format("{}{} {}", found.empty() ? "" : ", ", s.type, s.codec);
    return fail("no_video",
                fmt::format("{} has no video track{}", shown, found.empty() ? "" : fmt::format(" (only {})", found)));
  }
  AVStream* stream = input->streams[video];
  const AVCodecParameters& par = *stream->codecpar;
  report.codec = avcodec_get_name(par.codec_id);
  report.supported = par.codec_id == AV_CODEC_ID_H264 || par.codec_id == AV_CODEC_ID_HEVC;
  report.width = par.width;
  report.height = par.height;
  report.declared_fps = rate(stream->avg_frame_rate) > 0 ? rate(stream->avg_frame_rate) : rate(stream->r_frame_rate);
  // RTSP's r_frame_rate is libav's guess from the RTP clock, not the camera's word.
  if (target->network && rate(stream->avg_frame_rate) <= 0) report.declared_fps = 0;
  if (const char* profile = avcodec_profile_name(par.codec_id, par.profile)) report.profile = profile;
  report.level = par.level > 0 ? par.level : 0;
  const double tb = av_q2d(stream->time_base);

  PacketPtr packet(av_packet_alloc());
  if (!packet) return fail("failed", "out of memory");
  bool have_key = false;
  // The first packet with a timestamp and its index in the span: RTSP gives
  // the very first packet none (libav has no RTP clock reference yet).
  int64_t first_ts = AV_NOPTS_VALUE;
  uint64_t first_ts_index = 0;
  int64_t end_ts = AV_NOPTS_VALUE;
  uint64_t video_packets = 0;
  uint64_t last_size = 0;
  int read_err = 0;
  while (true) {
    av_packet_unref(packet.get());
    read_err = av_read_frame(input.get(), packet.get());
    if (read_err < 0) break;
    if (packet->stream_index != video) continue;
    ++video_packets;
    const bool key = packet->flags & AV_PKT_FLAG_KEY;
    const int64_t ts = timestampOf(*packet);
    if (!have_key) {
      if (!key) {
        ++report.frames_before_keyframe;
        continue;
      }
      have_key = true;
      report.first_keyframe_ms = msSince(start);
      auto decoded = detail::decodeOne(par, *packet);
      if (decoded) {
        report.keyframe_decodes = true;
        const AVFrame& f = *decoded->frame;
        report.width = f.width;
        report.height = f.height;
        if (const char* pix = av_get_pix_fmt_name(static_cast<AVPixelFormat>(f.format))) report.pixel_format = pix;
        if (const char* profile = avcodec_profile_name(par.codec_id, decoded->context->profile))
          report.profile = profile;
        if (decoded->context->level > 0) report.level = decoded->context->level;
      } else {
        report.decode_error = decoded.error().message;
      }
      if (options.quick) break;
      interrupt.deadline = target->network ? Clock::now() + options.measure : Clock::time_point::max();
    } else if (key) {
      // The next keyframe closes the GOP: it is the end of the span, not part of it.
      report.gop_frames = static_cast<int>(report.frames);
      end_ts = ts;
      break;
    }
    if (ts != AV_NOPTS_VALUE && first_ts == AV_NOPTS_VALUE) {
      first_ts = ts;
      first_ts_index = report.frames;
    }
    if (ts != AV_NOPTS_VALUE) end_ts = ts;
    ++report.frames;
    report.bytes += static_cast<uint64_t>(packet->size);
    last_size = static_cast<uint64_t>(packet->size);
  }
  av_packet_unref(packet.get());
  if (options.cancel && options.cancel->load()) return fail("failed", "cancelled");

  if (!have_key) {
    if (read_err == AVERROR_EOF)
      return fail("no_keyframe", fmt::format("{} ends without a single keyframe ({} video frames): it cannot be "
                                             "decoded from the start",
                                             shown, video_packets));
    if (video_packets == 0 && (interrupt.fired || read_err == AVERROR(ETIMEDOUT) || read_err == AVERROR_EXIT))
      return fail("timeout",
                  fmt::format("the camera answered RTSP but sent no video within {} ms{}", options.timeout.count(),
                              options.udp ? ": a firewall may block RTP over UDP; try without --udp"
                                          : ": it may be stuck (restart it)"));
    if (interrupt.fired || read_err == AVERROR(ETIMEDOUT) || read_err == AVERROR_EXIT)
      return fail("no_keyframe", fmt::format("{} video frames arrived but no keyframe within {} ms: the camera's "
                                             "keyframe interval (GOP) is longer than that, or the stream is broken. "
                                             "Raise --timeout-ms, or shorten the GOP in the camera",
                                             video_packets, options.timeout.count()));
    return fail("failed", fmt::format("reading {} failed: {}", shown, detail::errorText(read_err)));
  }
  if (!options.quick && report.gop_frames == 0) {
    report.note = read_err == AVERROR_EOF
                      ? "the file ends before a second keyframe: GOP not measured"
                      : fmt::format("no second keyframe within {} s: the GOP is longer, or not measured",
                                    std::chrono::duration<double>(options.measure).count());
    // Without a closing keyframe the last packet read ends the span instead.
    if (report.frames > 1) {
      --report.frames;
      report.bytes -= last_size;
    }
  }
  // The time per frame between the first and the last timestamp known,
  // over the frames between them, extends to the whole span.
  const uint64_t timed_frames = report.frames > first_ts_index ? report.frames - first_ts_index : 0;
  if (first_ts != AV_NOPTS_VALUE && end_ts != AV_NOPTS_VALUE && end_ts > first_ts && timed_frames > 0) {
    const double per_frame = static_cast<double>(end_ts - first_ts) * tb / static_cast<double>(timed_frames);
    report.span_s = per_frame * static_cast<double>(report.frames);
    if (report.gop_frames) report.gop_s = report.span_s;
    report.bitrate_bps = static_cast<double>(report.bytes) * 8 / report.span_s;
    report.fps = 1 / per_frame;
  } else {
    report.fps = report.declared_fps;
  }
  report.total_ms = msSince(start);
  return report;
}

}  // namespace vcgate::probe
