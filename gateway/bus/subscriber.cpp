#include "gateway/bus/subscriber.h"

#include <array>
#include <chrono>
#include <numeric>
#include <optional>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

namespace vcgate::bus {
namespace {

// Frames we keep of one message; more than any v1 message has. Extra frames
// are read (ZeroMQ delivers a message whole) and only counted.
constexpr size_t kMaxKeptFrames = 4;
// Malformed messages skipped within one receive() before it returns anyway,
// so that a flood of garbage cannot keep the caller from its timers.
constexpr int kMaxSkipsPerReceive = 1000;

int64_t wallMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The "v" of a JSON frame that failed to decode, if it has one, so that a
// message of a newer version is counted as such and not as garbage.
bool isOtherVersionJson(std::string_view text) {
  const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return false;
  const auto v = j.find("v");
  return v != j.end() && v->is_number_integer() && v->get<int64_t>() != kProtocolVersion;
}

std::string_view view(const zmq::message_t& m) { return {static_cast<const char*>(m.data()), m.size()}; }

}  // namespace

std::variant<Received, DecodeFailure> decodeFrames(std::span<const std::string_view> frames, size_t frame_count,
                                                   int64_t receive_us) {
  using Skip = DecodeFailure;
  if (frames.empty() || frame_count < frames.size())
    return Skip{MalformedReason::kFrameCount, "a message without frames"};
  auto topic = parseTopic(frames[0]);
  if (!topic)
    return Skip{MalformedReason::kUnknownTopic,
                fmt::format("topic '{}': {}", frames[0].substr(0, 80), topic.error().message)};
  const auto wrongCount = [&](size_t expected) {
    return Skip{MalformedReason::kFrameCount, fmt::format("topic '{}' needs {} frames, the message has {}",
                                                          frames[0], expected, frame_count)};
  };
  switch (topic->kind) {
    case TopicKind::kVideo: {
      if (frame_count != 3 || frames.size() != 3) return wrongCount(3);
      const std::span<const uint8_t> header_bytes(reinterpret_cast<const uint8_t*>(frames[1].data()), frames[1].size());
      if (!header_bytes.empty() && header_bytes[0] != kProtocolVersion)
        return Skip{MalformedReason::kUnsupportedVersion,
                    fmt::format("video header of protocol version {}", header_bytes[0])};
      auto header = decodeVideoHeader(header_bytes);
      if (!header) return Skip{MalformedReason::kVideoHeader, header.error().message};
      if (frames[2].size() == 0)
        return Skip{MalformedReason::kEmptyAccessUnit, fmt::format("empty access unit on '{}'", frames[0])};
      VideoMessage out;
      out.topic = std::move(*topic);
      out.header = std::move(*header);
      const auto* p = reinterpret_cast<const uint8_t*>(frames[2].data());
      out.payload.assign(p, p + frames[2].size());
      out.receive_us = receive_us;
      return Received{std::move(out)};
    }
    case TopicKind::kAlarm: {
      if (frame_count != 2 || frames.size() != 2) return wrongCount(2);
      auto event = decodeAlarmEvent(frames[1]);
      if (!event) {
        if (isOtherVersionJson(frames[1]))
          return Skip{MalformedReason::kUnsupportedVersion, event.error().message};
        return Skip{MalformedReason::kAlarmEvent, event.error().message};
      }
      return Received{std::move(*event)};
    }
    case TopicKind::kStatus: {
      if (frame_count != 2 || frames.size() != 2) return wrongCount(2);
      auto status = decodeStatus(frames[1]);
      if (!status) {
        if (isOtherVersionJson(frames[1]))
          return Skip{MalformedReason::kUnsupportedVersion, status.error().message};
        return Skip{MalformedReason::kStatus, status.error().message};
      }
      return Received{std::move(*status)};
    }
  }
  return Skip{MalformedReason::kUnknownTopic, "unknown topic kind"};
}

std::string_view malformedReasonName(MalformedReason reason) {
  switch (reason) {
    case MalformedReason::kFrameCount: return "frame_count";
    case MalformedReason::kUnknownTopic: return "unknown_topic";
    case MalformedReason::kUnsupportedVersion: return "unsupported_version";
    case MalformedReason::kVideoHeader: return "video_header";
    case MalformedReason::kEmptyAccessUnit: return "empty_access_unit";
    case MalformedReason::kAlarmEvent: return "alarm_event";
    case MalformedReason::kStatus: return "status";
    case MalformedReason::kCount: break;
  }
  return "unknown";
}

uint64_t MalformedCounts::total() const { return std::accumulate(by_reason.begin(), by_reason.end(), uint64_t{0}); }

struct Subscriber::Impl {
  zmq::context_t context{1};  // declared first: destroyed after the socket
  zmq::socket_t socket{context, zmq::socket_type::sub};
};

Subscriber::Subscriber(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Subscriber::Subscriber(Subscriber&&) noexcept = default;
Subscriber& Subscriber::operator=(Subscriber&&) noexcept = default;
Subscriber::~Subscriber() = default;

core::Result<Subscriber> Subscriber::create(const SubscriberOptions& options) {
  if (options.endpoints.empty()) return core::makeError("no endpoint to connect to: give at least one");
  std::unique_ptr<Impl> impl;
  try {
    impl = std::make_unique<Impl>();
    auto& s = impl->socket;
    s.set(zmq::sockopt::rcvhwm, options.receive_hwm);
    if (options.receive_buffer_bytes > 0) s.set(zmq::sockopt::rcvbuf, options.receive_buffer_bytes);
    // Closing must never wait for anything: a subscriber sends nothing that matters.
    s.set(zmq::sockopt::linger, 0);
    // TCP keepalive finds a connection that a NAT or a cut uplink killed
    // silently, so ZeroMQ reconnects instead of waiting forever on a dead socket.
    // Not ZMTP heartbeats: libzmq 4.3.4 aborts (stream_engine_base.cpp:417,
    // "_input_stopped") when a heartbeat arrives while a full receive queue has
    // stopped input, which is exactly what a slow subscriber runs into.
    s.set(zmq::sockopt::tcp_keepalive, 1);
    s.set(zmq::sockopt::tcp_keepalive_idle, 10);
    s.set(zmq::sockopt::tcp_keepalive_intvl, 5);
    s.set(zmq::sockopt::tcp_keepalive_cnt, 3);
    // Reconnect with backoff up to 5 s, not every 100 ms, while a gateway is down.
    s.set(zmq::sockopt::reconnect_ivl_max, 5000);
    for (const auto& prefix : options.prefixes) s.set(zmq::sockopt::subscribe, prefix);
    if (options.curve) applyCurveClient(s, *options.curve);
  } catch (const zmq::error_t& e) {
    return core::makeError(fmt::format("could not create the ZeroMQ SUB socket: {}", e.what()));
  }
  for (const auto& endpoint : options.endpoints) {
    try {
      impl->socket.connect(endpoint);
    } catch (const zmq::error_t& e) {
      return core::makeError(fmt::format(
          "cannot connect to '{}': {} (an endpoint looks like tcp://HOST:PORT or ipc:///PATH)", endpoint, e.what()));
    }
  }
  return Subscriber(std::move(impl));
}

Received Subscriber::receive(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (int skipped = 0; skipped < kMaxSkipsPerReceive;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    zmq_pollitem_t item{impl_->socket.handle(), 0, ZMQ_POLLIN, 0};
    // The C call, not zmq::poll: EINTR (a signal) is an ordinary return here.
    const int ready = zmq_poll(&item, 1, std::max<long>(0, static_cast<long>(left.count())));
    if (ready <= 0) return NoMessage{};

    std::vector<zmq::message_t> frames;
    size_t frame_count = 0;
    try {
      while (true) {
        zmq::message_t part;
        // Only the first part may be absent: the rest of a message arrives with it.
        const auto got = impl_->socket.recv(part, frame_count == 0 ? zmq::recv_flags::dontwait : zmq::recv_flags::none);
        if (!got) break;
        ++frame_count;
        const bool more = part.more();
        if (frames.size() < kMaxKeptFrames) frames.push_back(std::move(part));
        if (!more) break;
      }
    } catch (const zmq::error_t&) {
      // Interrupted by a signal (EINTR) or the context is closing: the caller decides.
      return NoMessage{};
    }
    if (frame_count == 0) continue;
    ++received_;
    std::array<std::string_view, kMaxKeptFrames> views;
    for (size_t i = 0; i < frames.size(); ++i) views[i] = view(frames[i]);
    auto decoded = decodeFrames(std::span(views.data(), frames.size()), frame_count, wallMicros());
    if (auto* message = std::get_if<Received>(&decoded)) return std::move(*message);
    auto& skip = std::get<DecodeFailure>(decoded);
    ++malformed_.by_reason[static_cast<size_t>(skip.reason)];
    last_detail_[static_cast<size_t>(skip.reason)] = std::move(skip.detail);
    ++skipped;
  }
  return NoMessage{};
}

}  // namespace vcgate::bus
