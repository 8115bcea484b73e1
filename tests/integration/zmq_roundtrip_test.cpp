// ZeroMQ round trips with the real libzmq and cppzmq, no vcgate code: the
// floor every bus test stands on, and the check that the library and the
// transports work on the target (these run under qemu for arm64).
// Each case runs over tcp (wildcard port on loopback, endpoint read back)
// and ipc (a socket file in a fresh directory). No fixed ports, no sleeps:
// waiting is always a poll with a deadline.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "tests/support/temp_dir.h"

namespace vcgate {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto kDeadline = 20s;  // generous: qemu-user is slow

enum class Transport { kTcp, kIpc };

std::string transportName(Transport t) { return t == Transport::kTcp ? "tcp" : "ipc"; }

// Every byte value, embedded NULs included, and a size that needs more than
// one read on the receiving side.
std::string binaryPayload(std::size_t size) {
  std::string payload(size, '\0');
  for (std::size_t i = 0; i < size; ++i) payload[i] = static_cast<char>((i * 131 + 7) % 256);
  return payload;
}

class ZmqRoundTrip : public ::testing::TestWithParam<Transport> {
 protected:
  // Binds `socket` on the transport under test and returns the endpoint a
  // peer connects to (for tcp the port the kernel chose).
  std::string bindAny(zmq::socket_t& socket) {
    if (GetParam() == Transport::kTcp) {
      socket.bind("tcp://127.0.0.1:*");
    } else {
      socket.bind("ipc://" + (dir_.path() / ("s" + std::to_string(next_++))).string());
    }
    return socket.get(zmq::sockopt::last_endpoint);
  }

  // Receives one multipart message, or nothing by the deadline.
  static std::optional<std::vector<std::string>> receive(zmq::socket_t& socket,
                                                         std::chrono::milliseconds timeout) {
    zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, timeout) == 0) return std::nullopt;
    std::vector<zmq::message_t> parts;
    if (!zmq::recv_multipart(socket, std::back_inserter(parts))) return std::nullopt;
    std::vector<std::string> out;
    for (const auto& part : parts) out.push_back(part.to_string());
    return out;
  }

  zmq::context_t context_;
  testing::TempDir dir_;
  int next_ = 0;
};

TEST_P(ZmqRoundTrip, BindReportsAConnectableEndpoint) {
  zmq::socket_t rep(context_, zmq::socket_type::rep);
  const auto endpoint = bindAny(rep);
  if (GetParam() == Transport::kTcp) {
    EXPECT_EQ(endpoint.rfind("tcp://127.0.0.1:", 0), 0u) << endpoint;
    EXPECT_NE(endpoint, "tcp://127.0.0.1:0");
    EXPECT_EQ(endpoint.find('*'), std::string::npos) << endpoint;
  } else {
    EXPECT_EQ(endpoint.rfind("ipc://", 0), 0u) << endpoint;
  }
}

TEST_P(ZmqRoundTrip, RequestReplyCarriesBinaryMessagesIntact) {
  zmq::socket_t rep(context_, zmq::socket_type::rep);
  zmq::socket_t req(context_, zmq::socket_type::req);
  req.set(zmq::sockopt::linger, 0);
  req.connect(bindAny(rep));

  for (const std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{4096}, std::size_t{1} << 20}) {
    SCOPED_TRACE(size);
    const auto request = binaryPayload(size);
    ASSERT_TRUE(req.send(zmq::buffer(request), zmq::send_flags::none));
    const auto got = receive(rep, std::chrono::duration_cast<std::chrono::milliseconds>(kDeadline));
    ASSERT_TRUE(got.has_value()) << "request not delivered";
    ASSERT_EQ(got->size(), 1u);
    EXPECT_EQ(got->front(), request);

    const std::string reply = "ack:" + std::to_string(size);
    ASSERT_TRUE(rep.send(zmq::buffer(reply), zmq::send_flags::none));
    const auto answer = receive(req, std::chrono::duration_cast<std::chrono::milliseconds>(kDeadline));
    ASSERT_TRUE(answer.has_value()) << "reply not delivered";
    EXPECT_EQ(*answer, std::vector<std::string>{reply});
  }
}

TEST_P(ZmqRoundTrip, PublishSubscribeDeliversMultipartMessagesInOrderToMatchingTopics) {
  zmq::socket_t pub(context_, zmq::socket_type::pub);
  zmq::socket_t sub(context_, zmq::socket_type::sub);
  pub.set(zmq::sockopt::linger, 0);
  sub.connect(bindAny(pub));
  sub.set(zmq::sockopt::subscribe, "site/cam1/");

  // A PUB drops what it sends before the subscription has arrived: send a
  // probe until one comes through, then the subscription is in place.
  const auto deadline = Clock::now() + kDeadline;
  bool joined = false;
  while (!joined && Clock::now() < deadline) {
    ASSERT_TRUE(pub.send(zmq::str_buffer("site/cam1/probe"), zmq::send_flags::none));
    joined = receive(sub, 10ms).has_value();
  }
  ASSERT_TRUE(joined) << "subscription never reached the publisher";
  while (receive(sub, 50ms)) {
  }  // drain probes still in flight

  const auto frame = binaryPayload(64 * 1024);
  for (int seq = 0; seq < 100; ++seq) {
    std::vector<zmq::const_buffer> other{zmq::str_buffer("site/cam2/video"), zmq::buffer(frame)};
    ASSERT_TRUE(zmq::send_multipart(pub, other));
    const std::string seq_text = std::to_string(seq);
    std::vector<zmq::const_buffer> mine{zmq::str_buffer("site/cam1/video"), zmq::buffer(seq_text),
                                        zmq::buffer(frame)};
    ASSERT_TRUE(zmq::send_multipart(pub, mine));
  }
  for (int seq = 0; seq < 100; ++seq) {
    const auto got = receive(sub, std::chrono::duration_cast<std::chrono::milliseconds>(kDeadline));
    ASSERT_TRUE(got.has_value()) << "message " << seq << " not delivered";
    ASSERT_EQ(got->size(), 3u);
    EXPECT_EQ((*got)[0], "site/cam1/video") << "a topic that was not subscribed came through";
    EXPECT_EQ((*got)[1], std::to_string(seq)) << "out of order";
    EXPECT_TRUE((*got)[2] == frame) << "payload of message " << seq << " corrupted";
  }
  EXPECT_FALSE(receive(sub, 100ms).has_value()) << "more messages than were published";
}

INSTANTIATE_TEST_SUITE_P(Transports, ZmqRoundTrip, ::testing::Values(Transport::kTcp, Transport::kIpc),
                         [](const auto& param_info) { return transportName(param_info.param); });

}  // namespace
}  // namespace vcgate
