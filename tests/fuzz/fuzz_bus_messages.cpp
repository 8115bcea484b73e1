// libFuzzer target: what a platform subscriber decodes from the wire. The
// input is one multipart message (fuzz_input.h: a frame count, then the
// frames); bus::decodeFrames is exactly what Subscriber::receive() runs on
// every message it takes off its socket. It must never crash, and whatever it
// accepts must survive our own encoders (encode, decode again, same bytes).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <variant>

#include "gateway/bus/protocol.h"
#include "gateway/bus/subscriber.h"
#include "tests/fuzz/fuzz_input.h"

namespace {

using namespace vcgate;

void check(bool ok) {
  if (!ok) std::abort();  // a finding: libFuzzer keeps the input
}

void roundTrip(const bus::VideoMessage& message) {
  std::string once, twice;
  bus::encodeVideoHeader(message.header, once);
  auto again = bus::decodeVideoHeader({reinterpret_cast<const uint8_t*>(once.data()), once.size()});
  check(static_cast<bool>(again));
  bus::encodeVideoHeader(*again, twice);
  check(once == twice);
  check(!message.payload.empty());
}

void roundTrip(const bus::AlarmEventMessage& message) {
  const std::string once = bus::encodeAlarmEvent(message);
  auto again = bus::decodeAlarmEvent(once);
  check(static_cast<bool>(again));
  check(bus::encodeAlarmEvent(*again) == once);
}

void roundTrip(const bus::StatusMessage& message) {
  const std::string once = bus::encodeStatus(message);
  auto again = bus::decodeStatus(once);
  check(static_cast<bool>(again));
  check(bus::encodeStatus(*again) == once);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto frames = fuzz::splitFrames(data, size);
  if (frames.empty()) return 0;
  // The subscriber keeps the first 4 frames and counts the rest.
  const size_t kept = std::min<size_t>(frames.size(), 4);
  auto decoded = bus::decodeFrames(std::span(frames.data(), kept), frames.size(), 0);
  if (auto* failure = std::get_if<bus::DecodeFailure>(&decoded)) {
    check(!bus::malformedReasonName(failure->reason).empty());
    return 0;
  }
  const auto& received = std::get<bus::Received>(decoded);
  std::visit(
      [](const auto& message) {
        if constexpr (!std::is_same_v<std::decay_t<decltype(message)>, bus::NoMessage>) roundTrip(message);
      },
      received);
  check(!std::holds_alternative<bus::NoMessage>(received));
  return 0;
}
