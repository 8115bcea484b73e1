#include "gateway/bus/curve.h"

#include <chrono>
#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "gateway/core/realtime.h"
#include "gateway/core/secret_file.h"

namespace vcgate::bus {
namespace {

constexpr size_t kZ85KeyLength = 40;
constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";

// What a log line may show of a key: enough to find it in the allow-list.
std::string keyHint(const std::string& z85) { return z85.substr(0, 8) + "…"; }

std::string firstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

}  // namespace

std::string_view toString(Role role) {
  switch (role) {
    case Role::kViewer:
      return "viewer";
    case Role::kOperator:
      return "operator";
    case Role::kAdmin:
      return "admin";
  }
  return "viewer";
}

std::optional<Role> parseRole(std::string_view name) {
  if (name == "viewer") return Role::kViewer;
  if (name == "operator") return Role::kOperator;
  if (name == "admin") return Role::kAdmin;
  return std::nullopt;
}

CurveKeyPair generateCurveKeyPair() {
  char public_key[kZ85KeyLength + 1] = {};
  char secret_key[kZ85KeyLength + 1] = {};
  if (zmq_curve_keypair(public_key, secret_key) != 0)
    throw std::runtime_error("libzmq was built without CURVE support");  // a packaging error, not input
  return {public_key, secret_key};
}

bool isZ85Key(std::string_view text) {
  if (text.size() != kZ85KeyLength) return false;
  uint8_t decoded[32];
  const std::string copy(text);
  return zmq_z85_decode(decoded, copy.c_str()) != nullptr;
}

core::Result<void> writeKeyPair(const std::string& base_path, const CurveKeyPair& keys, bool replace) {
  // The secret first: a public key without its secret is useless, the reverse is recoverable.
  if (auto written = core::writeSecretFile(base_path + ".key_secret", keys.secret_key, replace); !written)
    return written;
  const std::string public_path = base_path + ".key";
  const std::string temporary = public_path + ".tmp";
  {
    std::FILE* file = std::fopen(temporary.c_str(), "w");
    if (!file) return core::makeCodedError("unwritable", fmt::format("cannot create {}: {}", temporary, std::strerror(errno)));
    const bool ok = std::fprintf(file, "%s\n", keys.public_key.c_str()) > 0;
    if (std::fclose(file) != 0 || !ok)
      return core::makeCodedError("unwritable", fmt::format("cannot write {}", temporary));
  }
  if (std::rename(temporary.c_str(), public_path.c_str()) != 0)
    return core::makeCodedError("unwritable", fmt::format("cannot write {}: {}", public_path, std::strerror(errno)));
  return {};
}

core::Result<CurveKeyPair> readSecretKeyFile(const std::string& path) {
  auto text = core::readSecretFile(path);
  if (!text) return text.error();
  const std::string secret = firstLine(*text);
  if (!isZ85Key(secret))
    return core::makeCodedError("malformed",
                                fmt::format("{} does not hold a CURVE secret key (40 Z85 characters, as "
                                            "'vcgatectl keygen' writes)",
                                            path));
  char public_key[kZ85KeyLength + 1] = {};
  if (zmq_curve_public(public_key, secret.c_str()) != 0)
    return core::makeCodedError("malformed", fmt::format("{}: cannot derive the public key", path));
  return CurveKeyPair{public_key, secret};
}

core::Result<std::string> readPublicKeyFile(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "r");
  if (!file)
    return core::makeCodedError(errno == ENOENT ? "missing" : "unreadable",
                                fmt::format("cannot read public key file {}: {}", path, std::strerror(errno)));
  char line[128] = {};
  const bool read = std::fgets(line, sizeof line, file) != nullptr;
  std::fclose(file);
  std::string key = read ? line : "";
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r' || key.back() == ' ')) key.pop_back();
  if (!isZ85Key(key))
    return core::makeCodedError("malformed",
                                fmt::format("{} does not hold a CURVE public key (40 Z85 characters)", path));
  return key;
}

core::Result<CurveClient> loadCurveClient(const std::string& secret_key_file, const std::string& server_key) {
  auto keys = readSecretKeyFile(secret_key_file);
  if (!keys) return keys.error();
  CurveClient client{std::move(*keys), server_key};
  if (!isZ85Key(server_key)) {
    auto from_file = readPublicKeyFile(server_key);
    if (!from_file) return from_file.error();
    client.server_public_key = std::move(*from_file);
  }
  return client;
}

void applyCurveServer(zmq::socket_t& socket, const CurveServer& server, const std::string& zap_domain) {
  socket.set(zmq::sockopt::curve_server, 1);
  socket.set(zmq::sockopt::curve_secretkey, server.keys.secret_key);
  socket.set(zmq::sockopt::zap_domain, zap_domain);
}

void applyCurveClient(zmq::socket_t& socket, const CurveClient& client) {
  socket.set(zmq::sockopt::curve_serverkey, client.server_public_key);
  socket.set(zmq::sockopt::curve_publickey, client.keys.public_key);
  socket.set(zmq::sockopt::curve_secretkey, client.keys.secret_key);
}

void AuthStats::allowed() {
  std::lock_guard lock(mutex_);
  ++counts_.allowed;
}

void AuthStats::denied(std::string what) {
  std::lock_guard lock(mutex_);
  ++counts_.denied;
  counts_.last_denied = std::move(what);
}

AuthStats::Snapshot AuthStats::snapshot() const {
  std::lock_guard lock(mutex_);
  return counts_;
}

core::Result<std::unique_ptr<ZapAuthenticator>> ZapAuthenticator::start(zmq::context_t& context,
                                                                        std::vector<AuthorizedClient> clients,
                                                                        std::shared_ptr<AuthStats> stats,
                                                                        const core::Clock& clock) {
  auto socket = std::make_unique<zmq::socket_t>(context, zmq::socket_type::rep);
  socket->set(zmq::sockopt::linger, 0);
  try {
    socket->bind(kZapEndpoint);
  } catch (const zmq::error_t& e) {
    return core::makeError(fmt::format("cannot start the CURVE authenticator: {}", e.what()));
  }
  return std::unique_ptr<ZapAuthenticator>(
      new ZapAuthenticator(std::move(socket), std::move(clients), std::move(stats), clock));
}

ZapAuthenticator::ZapAuthenticator(std::unique_ptr<zmq::socket_t> socket, std::vector<AuthorizedClient> clients,
                                   std::shared_ptr<AuthStats> stats, const core::Clock& clock)
    : socket_(std::move(socket)), stats_(std::move(stats)), clock_(clock) {
  for (auto& c : clients) by_key_.emplace(c.public_key, std::move(c));
  // The socket now belongs to the thread (bound here, used only there: a
  // hand-over that ZeroMQ allows with a full memory barrier, which the thread start is).
  thread_ = std::thread([this] {
    core::nameThisThread("vcg-zap");
    serve();
  });
}

ZapAuthenticator::~ZapAuthenticator() {
  stop_ = true;
  thread_.join();
}

void ZapAuthenticator::serve() {
  while (!stop_) {
    zmq::pollitem_t item{socket_->handle(), 0, ZMQ_POLLIN, 0};
    try {
      if (zmq::poll(&item, 1, std::chrono::milliseconds(100)) <= 0) continue;
      std::vector<zmq::message_t> frames;
      do {
        zmq::message_t frame;
        if (!socket_->recv(frame, zmq::recv_flags::dontwait)) break;
        frames.push_back(std::move(frame));
      } while (frames.back().more());

      // RFC 27: version, request id, domain, address, routing id, mechanism, credentials...
      const auto text = [&](size_t i) { return i < frames.size() ? frames[i].to_string() : std::string(); };
      const std::string request_id = text(1), address = text(3), mechanism = text(5);
      std::string status = "400", reason, user_id;
      std::string key;
      if (frames.size() >= 7 && mechanism == "CURVE" && frames[6].size() == 32) {
        char z85[kZ85KeyLength + 1] = {};
        zmq_z85_encode(z85, frames[6].data<uint8_t>(), 32);
        key = z85;
        if (auto it = by_key_.find(key); it != by_key_.end()) {
          status = "200";
          user_id = fmt::format("{}:{}", toString(it->second.role), it->second.name);
        } else {
          reason = "not on the allow-list";
        }
      } else {
        reason = mechanism.empty() ? "malformed authentication request" : "mechanism " + mechanism + " is not allowed";
      }

      if (status == "200") {
        stats_->allowed();
      } else {
        const std::string who = key.empty() ? "a client" : "key " + keyHint(key);
        const std::string what = fmt::format("{} from {} ({})", who, address, reason);
        stats_->denied(what);
        // A peer making up keys must not grow this without end.
        if (last_logged_.size() >= kMaxThrottledKeys && !last_logged_.contains(key)) last_logged_.clear();
        const auto now = clock_.now();
        auto [last, first] = last_logged_.try_emplace(key, now);
        if (first || now - last->second >= kDenialLogInterval) {
          spdlog::warn("bus: denied {}", what);
          last->second = now;
        }
      }

      const std::vector<std::string> reply{"1.0", request_id, status, status == "200" ? "OK" : reason, user_id, ""};
      for (size_t i = 0; i < reply.size(); ++i)
        socket_->send(zmq::buffer(reply[i]), i + 1 < reply.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
    } catch (const zmq::error_t& e) {
      if (e.num() == ETERM) return;
      spdlog::error("bus: CURVE authenticator: {}", e.what());
    }
  }
}

std::optional<ClientIdentity> parseUserId(std::string_view user_id) {
  const size_t colon = user_id.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const auto role = parseRole(user_id.substr(0, colon));
  if (!role) return std::nullopt;
  return ClientIdentity{*role, std::string(user_id.substr(colon + 1))};
}

}  // namespace vcgate::bus
