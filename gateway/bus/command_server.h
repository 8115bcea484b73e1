// CommandServer: REP sockets for requests (bus.control for local tools,
// bus.commands for the platform), served on the GLib main loop of the main
// thread so that handlers can touch the alarm engine and the cameras directly.
// ZeroMQ's notification fd is edge-triggered: every wake-up drains all
// pending requests, and a slow timer re-checks as a safety net.
// Main thread only. The handler must not block: it runs on the main loop.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gateway/bus/curve.h"
#include "gateway/core/result.h"

namespace zmq {
class context_t;
class socket_t;
}  // namespace zmq

namespace vcgate::bus {

// Who sent a request: which endpoint it came in on ("control" or "commands")
// and, on a CURVE endpoint, the allow-list entry of the client's key.
struct RequestOrigin {
  std::string channel;
  std::string client;  // security.clients[].name; empty when not authenticated
  std::string role;    // "viewer", "operator", "admin"; empty when not authenticated
};

// A reply: the JSON object (frame 1) and, for commands that return file
// bytes (clip.fetch, snapshot.fetch), the raw bytes as a second frame, so
// they cross the constrained uplink without base64.
struct Reply {
  std::string body;
  std::optional<std::vector<uint8_t>> data;
};

using RequestHandler = std::function<Reply(const std::string& request, const RequestOrigin& origin)>;

class CommandServer {
 public:
  struct Endpoint {
    std::string channel;   // "control" or "commands"
    std::string address;   // ipc://..., tcp://...
  };
  // With `curve`, every tcp:// endpoint is a CURVE server that lets in only
  // the allow-listed keys (counted in `auth_stats`), and each request's
  // origin carries the client's name and role. ipc:// endpoints stay as they
  // are: their file mode is their guard.
  static core::Result<std::unique_ptr<CommandServer>> create(const std::vector<Endpoint>& endpoints,
                                                            RequestHandler handler,
                                                            const std::optional<CurveServer>& curve = std::nullopt,
                                                            std::shared_ptr<AuthStats> auth_stats = nullptr);
  ~CommandServer();

  // Endpoints as bound (ports resolved).
  std::vector<std::string> boundEndpoints() const;
  // Serves every pending request now; also called by the fd watch and the timer.
  void poll();

 private:
  struct Socket;
  CommandServer(RequestHandler handler);

  RequestHandler handler_;
  std::unique_ptr<zmq::context_t> context_;
  std::unique_ptr<ZapAuthenticator> zap_;  // before the sockets bind, gone before the context
  std::vector<std::unique_ptr<Socket>> sockets_;
  unsigned timer_ = 0;
};

// A client for the request channel: one request, one reply, with a timeout.
// After a timeout the socket is rebuilt (a REQ socket cannot send twice in a row).
// One thread per instance.
class CommandClient {
 public:
  // With `curve`, the endpoint must be a gateway's CURVE endpoint whose
  // allow-list holds this key pair.
  explicit CommandClient(std::string endpoint, std::optional<CurveClient> curve = std::nullopt);
  ~CommandClient();
  // The JSON reply (frame 1); a second frame, if any, is discarded.
  core::Result<std::string> request(const std::string& body, int timeout_ms);
  // The JSON reply and the data frame, if the reply has one.
  core::Result<Reply> requestWithData(const std::string& body, int timeout_ms);

 private:
  std::string endpoint_;
  std::optional<CurveClient> curve_;
  std::unique_ptr<zmq::context_t> context_;
  std::unique_ptr<zmq::socket_t> socket_;
};

}  // namespace vcgate::bus
