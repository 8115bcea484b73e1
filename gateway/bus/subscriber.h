// Subscriber: the receiving end of the bus (docs/protocol.md), as a platform
// would write it. One ZeroMQ SUB socket connected to one or more gateways (or
// to a zmq_proxy's XPUB), subscribed to topic prefixes; receive() hands back
// one decoded message at a time.
//
// Bad input never stops it: a message with the wrong number of frames, an
// unknown topic, an unsupported version or an undecodable header or JSON is
// counted under its reason and skipped, and receive() goes on to the next one.
//
// Thread rule: one thread owns a Subscriber (ZeroMQ sockets are not
// thread-safe). It may be moved to another thread before use, never shared.
// No exception leaves this class: ZeroMQ failures are Result errors, or, while
// receiving, an empty result (the caller's loop checks its stop flag).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "gateway/bus/curve.h"
#include "gateway/bus/protocol.h"
#include "gateway/core/result.h"

namespace vcgate::bus {

struct SubscriberOptions {
  std::vector<std::string> endpoints;  // tcp://host:port, ipc://path, inproc://name; at least one
  std::vector<std::string> prefixes;   // topic prefixes; empty list = nothing, "" = everything
  // Messages queued for this subscriber before ZeroMQ starts dropping whole
  // messages (the gateway side drops too; seq numbers then show the loss).
  int receive_hwm = 10000;
  // The kernel's receive buffer per connection (SO_RCVBUF), 0 = the system's
  // default. Small values make back-pressure reach the gateway sooner.
  int receive_buffer_bytes = 0;
  // For a gateway with security.curve: this client's key pair and the
  // gateway's public key. A key the gateway does not allow receives nothing.
  std::optional<CurveClient> curve;
};

struct VideoMessage {
  Topic topic;
  VideoHeader header;
  std::vector<uint8_t> payload;  // one access unit, Annex-B
  int64_t receive_us = 0;        // wall clock when receive() took it from the socket
};

// Nothing arrived before the timeout (or a signal interrupted the wait).
struct NoMessage {};

using Received = std::variant<NoMessage, VideoMessage, AlarmEventMessage, StatusMessage>;

// Why a message was skipped. kCount is the number of reasons.
enum class MalformedReason {
  kFrameCount,          // not the number of frames its topic requires
  kUnknownTopic,        // a topic this version does not know (a later version may add kinds)
  kUnsupportedVersion,  // the header byte 0 or JSON "v" is not 1
  kVideoHeader,         // the binary video header does not decode
  kEmptyAccessUnit,     // a video message without payload bytes
  kAlarmEvent,          // the alarm event JSON does not decode
  kStatus,              // the heartbeat JSON does not decode
  kCount
};
std::string_view malformedReasonName(MalformedReason reason);  // "frame_count", ...

struct MalformedCounts {
  std::array<uint64_t, static_cast<size_t>(MalformedReason::kCount)> by_reason{};
  uint64_t total() const;
  uint64_t operator[](MalformedReason r) const { return by_reason[static_cast<size_t>(r)]; }
};

// One message as it came off the socket, decoded without one: `frames` are
// its first frames (receive() keeps at most 4; later ones are only counted),
// `frame_count` how many it had. What receive() does with every message, and
// what the fuzzer (tests/fuzz/fuzz_bus_messages.cpp) drives. Pure; any thread.
struct DecodeFailure {
  MalformedReason reason;
  std::string detail;  // a sentence for logs
};
std::variant<Received, DecodeFailure> decodeFrames(std::span<const std::string_view> frames, size_t frame_count,
                                                   int64_t receive_us);

class Subscriber {
 public:
  // Creates the socket, connects to every endpoint and subscribes. Fails with
  // a sentence naming the endpoint when one cannot be used (bad syntax,
  // unknown transport). A tcp peer that is not up yet is not an error:
  // ZeroMQ keeps reconnecting, and heartbeats tell whether it is alive.
  static core::Result<Subscriber> create(const SubscriberOptions& options);

  Subscriber(Subscriber&&) noexcept;
  Subscriber& operator=(Subscriber&&) noexcept;
  ~Subscriber();

  // Waits up to `timeout` for the next well-formed message; malformed ones are
  // counted and skipped within the same wait.
  Received receive(std::chrono::milliseconds timeout);

  const MalformedCounts& malformed() const { return malformed_; }
  // What was wrong with the last skipped message of that reason, a sentence for logs.
  const std::string& lastMalformedDetail(MalformedReason reason) const {
    return last_detail_[static_cast<size_t>(reason)];
  }
  uint64_t messagesReceived() const { return received_; }

 private:
  struct Impl;
  explicit Subscriber(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
  MalformedCounts malformed_;
  std::array<std::string, static_cast<size_t>(MalformedReason::kCount)> last_detail_;
  uint64_t received_ = 0;
};

}  // namespace vcgate::bus
