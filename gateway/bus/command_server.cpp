#include "gateway/bus/command_server.h"

#include <glib-unix.h>
#include <glib.h>
#include <sys/stat.h>

#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <zmq.hpp>

namespace vcgate::bus {

struct CommandServer::Socket {
  Socket(zmq::context_t& context, std::string channel_) : socket(context, zmq::socket_type::rep), channel(std::move(channel_)) {}
  zmq::socket_t socket;
  std::string channel;
  std::string bound;
  unsigned watch = 0;
};

namespace {

// The socket's own limit: a message larger than this is hostile, and ZeroMQ
// drops the peer before it is buffered. Requests above the handler's limit
// (64 KiB) but under this one are read, refused with a reply ("too_large")
// and counted, so a client that sends one by mistake learns why.
constexpr int64_t kMaxMessageBytes = 1024 * 1024;
// Requests a peer may have waiting: a REQ client has one at a time; this
// bounds what a pipelining peer makes the gateway hold (x kMaxMessageBytes).
constexpr int kReceiveQueue = 16;

// ipc:// paths need their directory, and only the owner and its group may talk
// to the control socket (root and the vcgate group).
void prepareIpcPath(const std::string& address) {
  if (!address.starts_with("ipc://")) return;
  const std::filesystem::path path = address.substr(6);
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  std::filesystem::remove(path, ec);  // a stale socket from a crash would make bind fail
}

void restrictIpcPath(const std::string& address) {
  if (!address.starts_with("ipc://")) return;
  chmod(address.substr(6).c_str(), 0660);
}

}  // namespace

core::Result<std::unique_ptr<CommandServer>> CommandServer::create(const std::vector<Endpoint>& endpoints,
                                                                   RequestHandler handler,
                                                                   const std::optional<CurveServer>& curve,
                                                                   std::shared_ptr<AuthStats> auth_stats) {
  std::unique_ptr<CommandServer> server(new CommandServer(std::move(handler)));
  if (curve) {
    auto zap = ZapAuthenticator::start(*server->context_, curve->clients,
                                       auth_stats ? std::move(auth_stats) : std::make_shared<AuthStats>());
    if (!zap) return zap.error();
    server->zap_ = std::move(*zap);
  }
  for (const auto& endpoint : endpoints) {
    auto socket = std::make_unique<Socket>(*server->context_, endpoint.channel);
    socket->socket.set(zmq::sockopt::linger, 0);
    socket->socket.set(zmq::sockopt::maxmsgsize, kMaxMessageBytes);
    socket->socket.set(zmq::sockopt::rcvhwm, kReceiveQueue);
    if (curve && endpoint.address.starts_with("tcp://")) applyCurveServer(socket->socket, *curve, "vcgate." + endpoint.channel);
    prepareIpcPath(endpoint.address);
    try {
      socket->socket.bind(endpoint.address);
    } catch (const zmq::error_t& e) {
      return core::makeError(fmt::format("cannot bind the {} endpoint {}: {}", endpoint.channel, endpoint.address,
                                         e.what()));
    }
    restrictIpcPath(endpoint.address);
    socket->bound = socket->socket.get(zmq::sockopt::last_endpoint);
    const int fd = socket->socket.get(zmq::sockopt::fd);
    socket->watch = g_unix_fd_add(
        fd, G_IO_IN,
        +[](int, GIOCondition, gpointer self) -> gboolean {
          static_cast<CommandServer*>(self)->poll();
          return G_SOURCE_CONTINUE;
        },
        server.get());
    server->sockets_.push_back(std::move(socket));
  }
  server->timer_ = g_timeout_add(
      200,
      +[](gpointer self) -> gboolean {
        static_cast<CommandServer*>(self)->poll();
        return G_SOURCE_CONTINUE;
      },
      server.get());
  return server;
}

CommandServer::CommandServer(RequestHandler handler)
    : handler_(std::move(handler)), context_(std::make_unique<zmq::context_t>(1)) {}

CommandServer::~CommandServer() {
  if (timer_) g_source_remove(timer_);
  for (auto& socket : sockets_) {
    if (socket->watch) g_source_remove(socket->watch);
    socket->socket.close();
    if (socket->bound.starts_with("ipc://")) {
      std::error_code ec;
      std::filesystem::remove(socket->bound.substr(6), ec);
    }
  }
  zap_.reset();  // its socket must be closed before the context can terminate
  context_->close();
}

std::vector<std::string> CommandServer::boundEndpoints() const {
  std::vector<std::string> out;
  for (const auto& socket : sockets_) out.push_back(socket->bound);
  return out;
}

void CommandServer::poll() {
  for (auto& socket : sockets_) {
    // Drain: the fd only signals edges, so one wake-up may stand for several requests.
    while (socket->socket.get(zmq::sockopt::events) & ZMQ_POLLIN) {
      zmq::message_t request;
      if (!socket->socket.recv(request, zmq::recv_flags::dontwait)) break;
      // A REP socket takes exactly one frame here; drain extra frames of a malformed request.
      while (request.more()) {
        zmq::message_t extra;
        if (!socket->socket.recv(extra, zmq::recv_flags::dontwait)) break;
      }
      RequestOrigin origin{socket->channel, {}, {}};
      // Set by the ZAP handler on a CURVE connection; nothing else can set it.
      // (zmq_msg_gets, not message_t::gets, which throws when the property is absent.)
      if (const char* user_id = zmq_msg_gets(request.handle(), "User-Id"); user_id && *user_id)
        if (auto identity = parseUserId(user_id)) {
          origin.client = identity->name;
          origin.role = std::string(toString(identity->role));
        }
      Reply reply = handler_(request.to_string(), origin);
      try {
        if (reply.data) {
          socket->socket.send(zmq::buffer(reply.body), zmq::send_flags::dontwait | zmq::send_flags::sndmore);
          socket->socket.send(zmq::buffer(*reply.data), zmq::send_flags::dontwait);
        } else {
          socket->socket.send(zmq::buffer(reply.body), zmq::send_flags::dontwait);
        }
      } catch (const zmq::error_t& e) {
        spdlog::warn("{} channel: could not send a reply: {}", socket->channel, e.what());
      }
    }
  }
}

CommandClient::CommandClient(std::string endpoint, std::optional<CurveClient> curve)
    : endpoint_(std::move(endpoint)), curve_(std::move(curve)), context_(std::make_unique<zmq::context_t>(1)) {}

CommandClient::~CommandClient() {
  if (socket_) socket_->close();
  context_->close();
}

core::Result<std::string> CommandClient::request(const std::string& body, int timeout_ms) {
  auto reply = requestWithData(body, timeout_ms);
  if (!reply) return reply.error();
  return std::move(reply->body);
}

core::Result<Reply> CommandClient::requestWithData(const std::string& body, int timeout_ms) {
  if (!socket_) {
    socket_ = std::make_unique<zmq::socket_t>(*context_, zmq::socket_type::req);
    socket_->set(zmq::sockopt::linger, 0);
    if (curve_) applyCurveClient(*socket_, *curve_);
    try {
      socket_->connect(endpoint_);
    } catch (const zmq::error_t& e) {
      socket_.reset();
      return core::makeError(fmt::format("cannot connect to {}: {}", endpoint_, e.what()));
    }
  }
  try {
    socket_->send(zmq::buffer(body), zmq::send_flags::none);
    zmq::pollitem_t item{socket_->handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, std::chrono::milliseconds(timeout_ms)) == 0) {
      socket_.reset();
      // A CURVE server that refuses a key just closes the connection: from
      // here that looks like silence, so name both causes.
      return core::makeError(fmt::format("no reply from {} within {} ms ({})", endpoint_, timeout_ms,
                                         curve_ ? "is vcgated running, with this key in its security.clients "
                                                  "and this server key?"
                                                : "is vcgated running?"));
    }
    zmq::message_t frame;
    (void)socket_->recv(frame, zmq::recv_flags::none);
    Reply reply{frame.to_string(), std::nullopt};
    if (frame.more()) {
      zmq::message_t data;
      (void)socket_->recv(data, zmq::recv_flags::none);
      const auto* p = static_cast<const uint8_t*>(data.data());
      reply.data.emplace(p, p + data.size());
      while (data.more()) (void)socket_->recv(data, zmq::recv_flags::none);  // a later version's extra frames
    }
    return reply;
  } catch (const zmq::error_t& e) {
    socket_.reset();
    return core::makeError(fmt::format("request to {} failed: {}", endpoint_, e.what()));
  }
}

}  // namespace vcgate::bus
