// AccessUnit: one coded picture as it leaves ingest. Annex-B byte-stream; a
// keyframe carries its parameter sets (SPS/PPS, and VPS for H.265) in-band in
// front of it, so any keyframe is a point where a decoder can start.
// Immutable once made and shared by pointer between the pre-alarm buffer, the
// publisher and the recorder, so no consumer copies the bytes again.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "gateway/core/synthetic_spec.h"

namespace vcgate::media {

using core::VideoCodec;

struct AccessUnit {
  VideoCodec codec = VideoCodec::kH264;
  bool keyframe = false;
  // The camera's own timeline in nanoseconds: monotonic across reconnects and
  // file loops (ingest shifts each new session to continue after the last frame).
  int64_t pts_ns = 0;
  int64_t dts_ns = 0;
  int64_t duration_ns = 0;  // 0 when unknown
  // Wall-clock time (µs since the Unix epoch) when ingest received the unit.
  int64_t capture_us = 0;
  int width = 0;   // 0 when unknown
  int height = 0;
  // Counts connections of this camera: a change means a discontinuity.
  uint32_t session = 0;
  // Process-wide ingest order: strictly increasing per camera, across
  // reconnects and reloads, so consumers can tell "already seen" cheaply.
  uint64_t index = 0;
  // The unit before this one in the camera's own stream was not delivered
  // (a new connection, or units dropped because a queue was full).
  bool discontinuity = false;
  std::vector<uint8_t> data;
};

using AccessUnitPtr = std::shared_ptr<const AccessUnit>;

}  // namespace vcgate::media
