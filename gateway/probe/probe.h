// probeStream: open a camera (rtsp://, rtsps://) or a file (file://, or a plain
// path) with libavformat, as a platform's player would, and measure what it
// sends: codec, profile, resolution, frame rate, GOP length (packets between
// two keyframes, no decoding), bitrate (bytes over the measured span) and the
// time to the first keyframe, which is also decoded once to prove it decodes.
// Needs no gateway: `vcgatectl probe` is the technician's first test of a
// camera before it goes into the config.
//
// Every expected failure is an Error whose `code` tells them apart and whose
// message says what to check:
//   auth_failed   the camera answered 401/403: wrong or missing user/password
//   unreachable   the name does not resolve, the port refuses, or the host
//                 never completes the TCP connection
//   timeout       the host accepted the connection but never answered RTSP,
//                 or answered but sent no video in time
//   no_video      the stream or file has no video track
//   not_found     404 on the camera, or no such file
//   no_keyframe   video arrives but no keyframe within the timeout
//   bad_uri       not a URI the probe can open (test:// is the gateway's own)
//   failed        anything else, with libav's reason
//
// Blocking: returns within about timeout + measure (rtsp), or as fast as the
// file reads. Any thread; calls do not share state, except that libav's log
// level is process-wide (set to quiet unless `libav_log`).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "gateway/core/result.h"

namespace vcgate::probe {

struct ProbeOptions {
  std::string uri;
  bool udp = false;  // RTP over UDP; the default is RTP interleaved in the RTSP TCP connection
  // For the camera to accept the connection, answer RTSP and send its first
  // keyframe. A file has no deadline.
  std::chrono::milliseconds timeout{5000};
  // After the first keyframe: how long to wait for the next one (the GOP).
  std::chrono::milliseconds measure{10000};
  bool quick = false;                         // stop at the first keyframe: no GOP, fps or bitrate measurement
  bool libav_log = false;                     // let libav print its own messages to stderr (debugging)
  const std::atomic<bool>* cancel = nullptr;  // set (e.g. by SIGINT) to stop early: a "failed" error
};

struct OtherStream {
  std::string type;   // "audio", "data", "subtitle", ...
  std::string codec;  // libavcodec's name, e.g. "aac", "pcm_mulaw"
};

struct ProbeReport {
  std::string uri;         // as given, password redacted
  std::string transport;   // "tcp", "udp" (rtsp) or "file"
  std::string format;      // libavformat's demuxer, e.g. "rtsp", "mov,mp4,m4a,3gp,3g2,mj2"
  std::string codec;       // libavcodec's name: "h264", "hevc", "mjpeg", ...
  bool supported = false;  // H.264 or H.265: what the gateway ingests without transcoding
  std::string profile;     // "High", "Main", ...; empty when unknown
  int level = 0;           // as coded (H.264: 31 means 3.1; H.265: 93 means 3.1); 0 unknown
  int width = 0;
  int height = 0;
  std::string pixel_format;  // of the decoded keyframe, e.g. "yuv420p"
  double declared_fps = 0;   // what the container/SDP says, 0 when it says nothing
  double fps = 0;            // measured (frames over the span); the declared rate when not measured
  int gop_frames = 0;        // frames from a keyframe to the next; 0 = not measured
  double gop_s = 0;          // the same in seconds (timestamps)
  double bitrate_bps = 0;    // bytes over the measured span; 0 = not measured
  double span_s = 0;         // what fps and bitrate are measured over (timestamps)
  uint64_t frames = 0;       // video packets in the span
  uint64_t bytes = 0;
  uint64_t frames_before_keyframe = 0;  // video packets skipped while waiting for the first keyframe
  double connect_ms = 0;                // until the stream was open (rtsp: OPTIONS..PLAY done)
  double first_keyframe_ms = 0;         // from the start, the connection included
  double total_ms = 0;
  bool keyframe_decodes = false;
  std::string decode_error;  // why the first keyframe did not decode
  std::string note;          // why the measurement is partial, e.g. "no second keyframe within 10 s"
  std::vector<OtherStream> other_streams;
};

core::Result<ProbeReport> probeStream(const ProbeOptions& options);

// "FFmpeg 5.1.4 (libavformat 59.27.100, libavcodec 59.37.100, libavutil 57.28.100)"
std::string libavVersion();

}  // namespace vcgate::probe
