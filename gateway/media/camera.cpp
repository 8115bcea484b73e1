#include "gateway/media/camera.h"

#include <spdlog/spdlog.h>

#include "gateway/core/uri.h"

namespace vcgate::media {
namespace {

core::BackoffPolicy policyOf(const config::ReconnectConfig& reconnect) {
  core::BackoffPolicy policy;
  policy.initial = reconnect.initial;
  policy.max = reconnect.max;
  policy.stable = reconnect.stable;
  return policy;
}

double seconds(core::Duration d) { return std::chrono::duration<double>(d).count(); }

std::atomic<uint64_t> next_unit_index{1};

}  // namespace

Camera::Camera(config::CameraConfig config, FrameDispatcher& dispatcher, PipelineReaper& reaper,
               const core::Clock& clock)
    : config_(std::move(config)),
      id_(std::make_shared<const std::string>(config_.id)),
      is_file_(config_.uri.rfind("file:", 0) == 0),
      dispatcher_(dispatcher),
      reaper_(reaper),
      clock_(clock),
      backoff_(policyOf(config_.reconnect), clock),
      stats_(config_.id, clock) {}

Camera::~Camera() { stop(); }

void Camera::start() {
  if (!config_.enabled) {
    stats_.setState(CameraState::kDisabled);
    return;
  }
  connect();
}

void Camera::stop() { pipeline_.reset(); }

void Camera::connect() {
  pipeline_.reset();
  ++session_;
  session_started_ = false;
  waiting_for_keyframe_ = true;
  after_gap_ = true;
  got_frame_ = false;
  attempt_started_ = clock_.now();
  stats_.setState(CameraState::kConnecting);

  IngestCallbacks callbacks;
  callbacks.on_access_unit = [this](AccessUnit&& unit) { onAccessUnit(std::move(unit)); };
  callbacks.on_error = [this](const std::string& error) { onError(error); };
  callbacks.on_eos = [this] { onEndOfStream(); };
  auto created = IngestPipeline::create(config_, std::move(callbacks), reaper_);
  if (!created) return fail(created.error().message, CameraState::kBackoff);
  pipeline_ = std::move(*created);
  spdlog::debug("camera {}: connecting to {}", config_.id, core::redactUri(config_.uri));
  if (auto played = pipeline_->play(); !played) {
    // The bus carries the specific reason; give it a moment by failing on the next error,
    // but never rely on it arriving.
    spdlog::debug("camera {}: {}", config_.id, played.error().message);
  }
}

void Camera::fail(const std::string& reason, CameraState next) {
  pipeline_.reset();
  stats_.setError(reason);
  const auto delay = backoff_.onFailure();
  retry_at_ = clock_.now() + delay;
  stats_.setState(next);
  spdlog::warn("camera {}: {}; retrying in {:.1f} s", config_.id, reason, seconds(delay));
}

void Camera::onError(const std::string& error) {
  const auto state = stats_.state();
  if (state != CameraState::kConnecting && state != CameraState::kStreaming) return;
  fail(error, CameraState::kBackoff);
}

void Camera::onEndOfStream() {
  if (is_file_ && config_.loop) {
    // Not a failure: play the file again at once, continuing the timeline.
    spdlog::debug("camera {}: end of file, looping", config_.id);
    connect();
    stats_.setState(CameraState::kStreaming);
    got_frame_ = true;
    return;
  }
  if (is_file_) {
    pipeline_.reset();
    stats_.setState(CameraState::kFinished);
    spdlog::info("camera {}: end of file (loop is off)", config_.id);
    return;
  }
  fail("the camera ended the stream", CameraState::kBackoff);
}

void Camera::tick() {
  const auto now = clock_.now();
  switch (stats_.state()) {
    case CameraState::kConnecting:
      if (got_frame_) {
        stats_.setState(CameraState::kStreaming);
        backoff_.onConnected();
        const auto s = stats_.snapshot();
        spdlog::info("camera {}: streaming {} {}x{} after {:.2f} s", config_.id, s.codec, s.width, s.height,
                     seconds(now - attempt_started_));
      } else if (now - attempt_started_ >= config_.connect_timeout) {
        fail(fmt::format("no video within {:.1f} s of connecting (connect_timeout_ms)",
                         seconds(config_.connect_timeout)),
             CameraState::kBackoff);
      }
      break;
    case CameraState::kStreaming:
      if (const auto silence = stats_.silenceSince(attempt_started_); silence >= config_.stall_timeout)
        fail(fmt::format("stalled: no frame for {:.1f} s (stall_timeout_ms)", seconds(silence)),
             CameraState::kStalled);
      break;
    case CameraState::kBackoff:
    case CameraState::kStalled:
      if (now >= retry_at_) {
        stats_.countReconnect();
        connect();
      }
      break;
    case CameraState::kDisabled:
    case CameraState::kFinished:
      break;
  }
}

void Camera::onAccessUnit(AccessUnit&& unit) {
  stats_.onFrame(unit);
  got_frame_ = true;

  // A session may start mid-GOP; nothing before its first keyframe can be decoded.
  if (waiting_for_keyframe_) {
    if (!unit.keyframe) return;
    waiting_for_keyframe_ = false;
  }

  // One timeline per camera: each new session continues where the last one
  // stopped, plus the wall-clock time the camera was away.
  if (unit.dts_ns < 0) unit.dts_ns = unit.pts_ns;
  if (!session_started_) {
    session_started_ = true;
    int64_t continue_at = 0;
    if (last_dts_ >= 0) continue_at = last_dts_ + std::max<int64_t>(1'000'000, (unit.capture_us - last_capture_us_) * 1000);
    timestamp_offset_ = continue_at - std::max<int64_t>(unit.dts_ns, 0);
  }
  if (unit.dts_ns >= 0) unit.dts_ns += timestamp_offset_;
  unit.pts_ns = unit.pts_ns >= 0 ? unit.pts_ns + timestamp_offset_ : unit.dts_ns;
  // Parsers may repeat a timestamp they could not interpolate; keep DTS strictly increasing.
  if (unit.dts_ns <= last_dts_) unit.dts_ns = last_dts_ + 1;
  last_dts_ = unit.dts_ns;
  last_capture_us_ = unit.capture_us;
  unit.session = session_;
  unit.index = next_unit_index.fetch_add(1, std::memory_order_relaxed);
  unit.discontinuity = after_gap_;

  if (dispatcher_.tryPush(id_, std::make_shared<const AccessUnit>(std::move(unit)))) {
    after_gap_ = false;
  } else {
    stats_.onDropped();
    waiting_for_keyframe_ = true;
    after_gap_ = true;
  }
}

}  // namespace vcgate::media
