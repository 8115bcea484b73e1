// CURVE security for the bus: key pairs, the allow-list of platform keys
// with their roles, and the ZAP handler that enforces it.
//
// Every TCP endpoint of a gateway with `security.curve: true` is a CURVE
// server: traffic is encrypted and a client must present a public key that is
// on the allow-list. The ZAP handler (ZeroMQ's authentication protocol, RFC 27)
// answers the library's question "may this key connect?" and tags each
// accepted connection with "ROLE:NAME" as its User-Id, which the command
// server reads off every request to decide what the client may do.
//
// Roles: viewer (subscribe, read-only commands), operator (also raise, clear,
// acknowledge alarms and start live views), admin (also reload).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "gateway/core/clock.h"
#include "gateway/core/result.h"

namespace zmq {
class context_t;
class socket_t;
}  // namespace zmq

namespace vcgate::bus {

enum class Role { kViewer = 1, kOperator = 2, kAdmin = 3 };
std::string_view toString(Role role);  // "viewer", "operator", "admin"
std::optional<Role> parseRole(std::string_view name);

// A CURVE key pair in Z85 text: 40 characters each.
struct CurveKeyPair {
  std::string public_key;
  std::string secret_key;
};

CurveKeyPair generateCurveKeyPair();
// True for 40 characters that decode as Z85 (a 32-byte key).
bool isZ85Key(std::string_view text);

// Key files, as `vcgatectl keygen NAME` writes them: NAME.key holds the public
// key (may be shared, mode 0644), NAME.key_secret the secret key (0600).
core::Result<void> writeKeyPair(const std::string& base_path, const CurveKeyPair& keys, bool replace = false);
// Reads a secret key file (refused if group- or world-readable) and derives
// its public key.
core::Result<CurveKeyPair> readSecretKeyFile(const std::string& path);
// Reads a public key file, or a file holding a secret key (only its public half is used).
core::Result<std::string> readPublicKeyFile(const std::string& path);

// A platform key allowed to connect.
struct AuthorizedClient {
  std::string name;        // shown in logs and counters: "command-room-1"
  std::string public_key;  // Z85
  Role role = Role::kViewer;
};

// What a CURVE server socket needs: its own key pair and whom to let in.
struct CurveServer {
  CurveKeyPair keys;
  std::vector<AuthorizedClient> clients;
};

// What a CURVE client socket needs: its own key pair and the server's public key.
struct CurveClient {
  CurveKeyPair keys;
  std::string server_public_key;
};

// A client's CURVE settings from its secret key file and the gateway's public
// key, given as a .key file or as the 40-character key itself.
core::Result<CurveClient> loadCurveClient(const std::string& secret_key_file, const std::string& server_key);

// Makes a socket a CURVE server in a ZAP domain (before bind).
void applyCurveServer(zmq::socket_t& socket, const CurveServer& server, const std::string& zap_domain);
// Makes a socket a CURVE client (before connect).
void applyCurveClient(zmq::socket_t& socket, const CurveClient& client);

// Counts what the ZAP handler decided, for heartbeats, status and metrics.
// Any thread.
class AuthStats {
 public:
  struct Snapshot {
    uint64_t allowed = 0;
    uint64_t denied = 0;
    std::string last_denied;  // "key Abc12345… from 10.0.0.7 (not on the allow-list)"; empty if none
  };
  void allowed();
  void denied(std::string what);
  Snapshot snapshot() const;

 private:
  mutable std::mutex mutex_;
  Snapshot counts_;
};

// The ZAP handler of one ZeroMQ context: serves inproc://zeromq.zap.01 on its
// own thread until destroyed. Must be started before any CURVE socket of the
// context binds: without a handler libzmq would let every key in.
// Denials are logged (the key's first characters and the peer address,
// never a secret), at most once per kDenialLogInterval per key; it remembers
// at most kMaxThrottledKeys keys (then forgets them all), so a peer making
// up keys cannot grow it. Every denial is counted in `stats` regardless.
// `clock` (read on the handler's thread) times the log throttle.
class ZapAuthenticator {
 public:
  static constexpr std::chrono::seconds kDenialLogInterval{60};
  static constexpr size_t kMaxThrottledKeys = 1024;

  static core::Result<std::unique_ptr<ZapAuthenticator>> start(
      zmq::context_t& context, std::vector<AuthorizedClient> clients, std::shared_ptr<AuthStats> stats,
      const core::Clock& clock = core::SystemClock::instance());
  ~ZapAuthenticator();
  ZapAuthenticator(const ZapAuthenticator&) = delete;
  ZapAuthenticator& operator=(const ZapAuthenticator&) = delete;

 private:
  ZapAuthenticator(std::unique_ptr<zmq::socket_t> socket, std::vector<AuthorizedClient> clients,
                   std::shared_ptr<AuthStats> stats, const core::Clock& clock);
  void serve();

  std::unique_ptr<zmq::socket_t> socket_;
  std::map<std::string, AuthorizedClient> by_key_;  // Z85 public key -> client
  std::shared_ptr<AuthStats> stats_;
  const core::Clock& clock_;
  std::map<std::string, core::TimePoint> last_logged_;  // per denied key, to bound the log
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// The role and name a ZAP User-Id carries ("operator:command-room-1").
struct ClientIdentity {
  Role role = Role::kViewer;
  std::string name;
};
std::optional<ClientIdentity> parseUserId(std::string_view user_id);

}  // namespace vcgate::bus
