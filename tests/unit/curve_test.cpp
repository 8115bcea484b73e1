// CURVE keys, secret files and the ZAP allow-list, with real ZeroMQ sockets
// on loopback: an allowed key receives, an unknown key and a client without
// a key receive nothing and are counted; requests carry the client's role;
// the ZAP handler's denial log is throttled per key on an injected clock.
#include <sys/stat.h>

#include <array>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "gateway/bus/connection_monitor.h"
#include "gateway/bus/curve.h"
#include "gateway/core/secret_file.h"
#include "tests/support/program_run.h"
#include "tests/support/temp_dir.h"

namespace vcgate::bus {
namespace {

using namespace std::chrono_literals;
using testing::TempDir;

std::string boundEndpoint(zmq::socket_t& socket) { return socket.get(zmq::sockopt::last_endpoint); }

// Polls `socket` until a message arrives or `timeout` passes.
std::optional<std::string> receiveWithin(zmq::socket_t& socket, std::chrono::milliseconds timeout) {
  zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
  if (zmq::poll(&item, 1, timeout) <= 0) return std::nullopt;
  zmq::message_t message;
  if (!socket.recv(message, zmq::recv_flags::dontwait)) return std::nullopt;
  return message.to_string();
}

TEST(CurveKeys, GeneratedPairsRoundTripThroughFilesWithSafeModes) {
  TempDir dir;
  const auto keys = generateCurveKeyPair();
  EXPECT_TRUE(isZ85Key(keys.public_key));
  EXPECT_TRUE(isZ85Key(keys.secret_key));
  EXPECT_NE(keys.public_key, keys.secret_key);
  const std::string base = (dir.path() / "gateway").string();
  ASSERT_TRUE(writeKeyPair(base, keys).ok());

  struct stat st {};
  ASSERT_EQ(::stat((base + ".key_secret").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  auto secret = readSecretKeyFile(base + ".key_secret");
  ASSERT_TRUE(secret.ok()) << secret.error().message;
  EXPECT_EQ(secret->secret_key, keys.secret_key);
  EXPECT_EQ(secret->public_key, keys.public_key) << "the public key is derived from the secret";
  auto public_key = readPublicKeyFile(base + ".key");
  ASSERT_TRUE(public_key.ok());
  EXPECT_EQ(*public_key, keys.public_key);

  const auto again = writeKeyPair(base, generateCurveKeyPair());
  ASSERT_FALSE(again.ok()) << "an existing key is never overwritten silently";
  EXPECT_EQ(again.error().code, "exists");
  EXPECT_EQ(readSecretKeyFile(base + ".key_secret")->secret_key, keys.secret_key);
}

TEST(SecretFile, LooseModesMissingAndEmptyFilesAreRefusedWithTheFix) {
  TempDir dir;
  const auto path = dir.write("password", "hunter2\n");
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  auto loose = core::readSecretFile(path);
  ASSERT_FALSE(loose.ok());
  EXPECT_EQ(loose.error().code, "insecure");
  EXPECT_NE(loose.error().message.find("chmod 600 " + path), std::string::npos) << loose.error().message;
  EXPECT_EQ(loose.error().message.find("hunter2"), std::string::npos) << "never the secret itself";

  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  auto good = core::readSecretFile(path);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, "hunter2");

  EXPECT_EQ(core::readSecretFile((dir.path() / "nope").string()).error().code, "missing");
  const auto empty = dir.write("empty", "\n");
  ASSERT_EQ(::chmod(empty.c_str(), 0600), 0);
  EXPECT_EQ(core::readSecretFile(empty).error().code, "empty");

  const auto not_a_key = dir.write("bad.key_secret", "not a key\n");
  ASSERT_EQ(::chmod(not_a_key.c_str(), 0600), 0);
  EXPECT_EQ(readSecretKeyFile(not_a_key).error().code, "malformed");
}

TEST(UserId, CarriesRoleAndName) {
  const auto id = parseUserId("operator:command-room-1");
  ASSERT_TRUE(id);
  EXPECT_EQ(id->role, Role::kOperator);
  EXPECT_EQ(id->name, "command-room-1");
  EXPECT_FALSE(parseUserId(""));
  EXPECT_FALSE(parseUserId("root:x"));
  EXPECT_EQ(parseRole("admin"), Role::kAdmin);
  EXPECT_FALSE(parseRole("Admin"));
}

class CurveBus : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.keys = generateCurveKeyPair();
    viewer_ = generateCurveKeyPair();
    operator_ = generateCurveKeyPair();
    server_.clients = {{"wall-display", viewer_.public_key, Role::kViewer},
                       {"command-room-1", operator_.public_key, Role::kOperator}};
    auto zap = ZapAuthenticator::start(context_, server_.clients, stats_);
    ASSERT_TRUE(zap.ok()) << zap.error().message;
    zap_ = std::move(*zap);
  }
  void TearDown() override { zap_.reset(); }

  CurveClient clientWith(const CurveKeyPair& keys) const { return {keys, server_.keys.public_key}; }

  zmq::context_t context_;
  std::shared_ptr<AuthStats> stats_ = std::make_shared<AuthStats>();
  std::unique_ptr<ZapAuthenticator> zap_;
  CurveServer server_;
  CurveKeyPair viewer_, operator_;
};

TEST_F(CurveBus, OnlyAnAllowedKeyReceivesAndDenialsAreCounted) {
  zmq::socket_t pub(context_, zmq::socket_type::pub);
  pub.set(zmq::sockopt::linger, 0);
  applyCurveServer(pub, server_, "vcgate.publish");
  pub.bind("tcp://127.0.0.1:*");
  const std::string endpoint = boundEndpoint(pub);

  zmq::context_t client_context;
  const auto subscriber = [&](std::optional<CurveClient> curve) {
    auto sub = std::make_unique<zmq::socket_t>(client_context, zmq::socket_type::sub);
    sub->set(zmq::sockopt::linger, 0);
    if (curve) applyCurveClient(*sub, *curve);
    sub->set(zmq::sockopt::subscribe, "");
    sub->connect(endpoint);
    return sub;
  };
  auto allowed = subscriber(clientWith(viewer_));
  auto unknown = subscriber(clientWith(generateCurveKeyPair()));
  auto cleartext = subscriber(std::nullopt);
  // A client that knows the wrong server key cannot even complete the handshake.
  auto wrong_server = subscriber(CurveClient{viewer_, generateCurveKeyPair().public_key});

  // Publish until the allowed subscriber has joined (PUB drops while nobody
  // is subscribed), then keep going for a while: the others must get nothing.
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  std::optional<std::string> got;
  while (!got && std::chrono::steady_clock::now() < deadline) {
    pub.send(zmq::str_buffer("alarm"), zmq::send_flags::none);
    got = receiveWithin(*allowed, 50ms);
  }
  ASSERT_EQ(got, "alarm");
  for (int i = 0; i < 20; ++i) {
    pub.send(zmq::str_buffer("alarm"), zmq::send_flags::none);
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_FALSE(receiveWithin(*unknown, 300ms)) << "a key that is not on the allow-list receives nothing";
  EXPECT_FALSE(receiveWithin(*cleartext, 10ms)) << "a client without CURVE receives nothing";
  EXPECT_FALSE(receiveWithin(*wrong_server, 10ms)) << "a client with the wrong server key receives nothing";

  const auto counts = stats_->snapshot();
  EXPECT_GE(counts.allowed, 1u);
  EXPECT_GE(counts.denied, 1u);
  EXPECT_NE(counts.last_denied.find("not on the allow-list"), std::string::npos) << counts.last_denied;
  EXPECT_NE(counts.last_denied.find("127.0.0.1"), std::string::npos) << counts.last_denied;
}

TEST_F(CurveBus, RequestsCarryTheClientsRoleAndName) {
  zmq::socket_t rep(context_, zmq::socket_type::rep);
  rep.set(zmq::sockopt::linger, 0);
  applyCurveServer(rep, server_, "vcgate.commands");
  rep.bind("tcp://127.0.0.1:*");

  zmq::context_t client_context;
  zmq::socket_t req(client_context, zmq::socket_type::req);
  req.set(zmq::sockopt::linger, 0);
  applyCurveClient(req, clientWith(operator_));
  req.connect(boundEndpoint(rep));
  req.send(zmq::str_buffer("{\"cmd\":\"ping\"}"), zmq::send_flags::none);

  zmq::pollitem_t item{rep.handle(), 0, ZMQ_POLLIN, 0};
  ASSERT_EQ(zmq::poll(&item, 1, 20s), 1);
  zmq::message_t request;
  ASSERT_TRUE(rep.recv(request));
  const auto identity = parseUserId(request.gets("User-Id"));
  ASSERT_TRUE(identity);
  EXPECT_EQ(identity->role, Role::kOperator);
  EXPECT_EQ(identity->name, "command-room-1");
}

// Waits (bounded) until `done` holds.
bool eventually(const std::function<bool()>& done) { return testing::waitUntil(done, 20s, 20ms); }

TEST_F(CurveBus, TheMonitorCountsSubscribersAndHandshakesThatFail) {
  zmq::socket_t pub(context_, zmq::socket_type::pub);
  pub.set(zmq::sockopt::linger, 0);
  auto monitor = ConnectionMonitor::start(context_, pub, "publish", stats_);
  ASSERT_TRUE(monitor.ok()) << monitor.error().message;
  applyCurveServer(pub, server_, "vcgate.publish");
  pub.bind("tcp://127.0.0.1:*");
  const std::string endpoint = boundEndpoint(pub);

  zmq::context_t client_context;
  const auto connect = [&](std::optional<CurveClient> curve) {
    auto sub = std::make_unique<zmq::socket_t>(client_context, zmq::socket_type::sub);
    sub->set(zmq::sockopt::linger, 0);
    if (curve) applyCurveClient(*sub, *curve);
    sub->connect(endpoint);
    return sub;
  };
  auto first = connect(clientWith(viewer_));
  auto second = connect(clientWith(operator_));
  EXPECT_TRUE(eventually([&] { return (*monitor)->count() == 2; })) << (*monitor)->count();

  const uint64_t denied_before = stats_->snapshot().denied;
  auto cleartext = connect(std::nullopt);
  EXPECT_TRUE(eventually([&] { return stats_->snapshot().denied > denied_before; }))
      << "a client without CURVE is counted as denied";
  EXPECT_NE(stats_->snapshot().last_denied.find("failed the handshake"), std::string::npos);
  EXPECT_TRUE(eventually([&] { return (*monitor)->count() == 2; })) << "and not counted once it is dropped";

  first.reset();
  EXPECT_TRUE(eventually([&] { return (*monitor)->count() == 1; })) << (*monitor)->count();
  cleartext.reset();
  second.reset();
  EXPECT_TRUE(eventually([&] { return (*monitor)->count() == 0; }));
  monitor->reset();  // before the context goes
}

// Speaks RFC 27 to the ZAP handler of `context` over its inproc endpoint, as
// libzmq does for each CURVE handshake, and logs what the handler logs.
class ZapLog : public ::testing::Test {
 protected:
  void SetUp() override {
    previous_ = spdlog::default_logger();
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("zap-test", sink_));
    auto zap = ZapAuthenticator::start(context_, {{"wall-display", generateCurveKeyPair().public_key, Role::kViewer}},
                                       stats_, clock_);
    ASSERT_TRUE(zap.ok()) << zap.error().message;
    zap_ = std::move(*zap);
    zap_client_.set(zmq::sockopt::linger, 0);
    zap_client_.connect("inproc://zeromq.zap.01");
  }
  void TearDown() override {
    zap_client_.close();
    zap_.reset();
    spdlog::set_default_logger(previous_);
  }

  // Asks about a CURVE client with this 32-byte key; the ZAP status code.
  // The handler logs before it replies, so its log is complete on return.
  std::string authenticate(const std::array<uint8_t, 32>& key, const std::string& address = "10.20.0.7") {
    const std::vector<std::string> request{"1.0", std::to_string(++request_id_), "vcgate.publish", address, "",
                                           "CURVE"};
    for (const auto& frame : request) zap_client_.send(zmq::buffer(frame), zmq::send_flags::sndmore);
    zap_client_.send(zmq::buffer(key), zmq::send_flags::none);
    zmq::pollitem_t item{zap_client_.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, std::chrono::seconds(10)) != 1) return "no reply";
    std::vector<std::string> reply;
    zmq::message_t frame;
    do {
      if (!zap_client_.recv(frame, zmq::recv_flags::none)) break;
      reply.push_back(frame.to_string());
    } while (frame.more());
    return reply.size() >= 3 ? reply[2] : "malformed reply";
  }
  // Log lines that report a denial of this key.
  size_t denialsLogged(const std::array<uint8_t, 32>& key) const {
    char z85[41] = {};
    zmq_z85_encode(z85, key.data(), key.size());
    const std::string needle = "denied key " + std::string(z85).substr(0, 8);
    size_t n = 0;
    for (const auto& line : sink_->last_formatted()) n += line.find(needle) != std::string::npos;
    return n;
  }
  static std::array<uint8_t, 32> keyNumber(uint32_t n) {
    std::array<uint8_t, 32> key{};
    key.fill(0xa5);
    for (int i = 0; i < 4; ++i) key[static_cast<size_t>(i)] = static_cast<uint8_t>(n >> (8 * i));
    return key;
  }

  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_ = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(8192);
  std::shared_ptr<spdlog::logger> previous_;
  core::ManualClock clock_;
  zmq::context_t context_;
  std::shared_ptr<AuthStats> stats_ = std::make_shared<AuthStats>();
  std::unique_ptr<ZapAuthenticator> zap_;
  zmq::socket_t zap_client_{context_, zmq::socket_type::req};
  int request_id_ = 0;
};

TEST_F(ZapLog, EachKeysDenialIsLoggedAtMostOncePerInterval) {
  const auto stranger = keyNumber(1), other = keyNumber(2);
  EXPECT_EQ(authenticate(stranger), "400");
  EXPECT_EQ(denialsLogged(stranger), 1u);
  EXPECT_EQ(authenticate(stranger), "400");
  clock_.advance(ZapAuthenticator::kDenialLogInterval - std::chrono::seconds(1));
  EXPECT_EQ(authenticate(stranger), "400");
  EXPECT_EQ(denialsLogged(stranger), 1u) << "within the interval: counted, not logged again";
  EXPECT_EQ(authenticate(other), "400");
  EXPECT_EQ(denialsLogged(other), 1u) << "the throttle is per key";
  clock_.advance(std::chrono::seconds(1));
  EXPECT_EQ(authenticate(stranger), "400");
  EXPECT_EQ(denialsLogged(stranger), 2u) << "a minute on, logged again";
  EXPECT_EQ(stats_->snapshot().denied, 5u) << "every denial is counted";
}

// A peer that makes up a new key for every attempt: the throttle keeps at
// most kMaxThrottledKeys keys; beyond, it starts again from nothing (so a
// key it had throttled is logged once more), and every denial still counts.
TEST_F(ZapLog, KeysMadeUpByAPeerDoNotGrowTheThrottleWithoutEnd) {
  const auto stranger = keyNumber(0);
  EXPECT_EQ(authenticate(stranger), "400");
  EXPECT_EQ(authenticate(stranger), "400");
  EXPECT_EQ(denialsLogged(stranger), 1u);
  // With the stranger, kMaxThrottledKeys keys are remembered: the next new one forgets them.
  for (uint32_t n = 1; n < ZapAuthenticator::kMaxThrottledKeys; ++n) ASSERT_EQ(authenticate(keyNumber(n)), "400");
  EXPECT_EQ(authenticate(stranger), "400");
  EXPECT_EQ(denialsLogged(stranger), 1u) << "still remembered: the throttle is full, not over";
  ASSERT_EQ(authenticate(keyNumber(ZapAuthenticator::kMaxThrottledKeys)), "400");
  EXPECT_EQ(authenticate(stranger), "400");
  EXPECT_EQ(denialsLogged(stranger), 2u) << "forgotten with the others when the throttle was full";
  EXPECT_EQ(stats_->snapshot().denied, ZapAuthenticator::kMaxThrottledKeys + 4);
}

}  // namespace
}  // namespace vcgate::bus
