#include "gateway/bus/connection_monitor.h"

#include <chrono>
#include <cstring>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "gateway/core/realtime.h"

namespace vcgate::bus {

core::Result<std::unique_ptr<ConnectionMonitor>> ConnectionMonitor::start(zmq::context_t& context,
                                                                         zmq::socket_t& socket,
                                                                         const std::string& name,
                                                                         std::shared_ptr<AuthStats> stats) {
  const std::string endpoint = fmt::format("inproc://vcgate-monitor-{}", name);
  constexpr int kEvents = ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED |
                          ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                          ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
  if (zmq_socket_monitor(socket.handle(), endpoint.c_str(), kEvents) != 0)
    return core::makeError(fmt::format("cannot monitor the {} socket: {}", name, zmq_strerror(zmq_errno())));
  auto events = std::make_unique<zmq::socket_t>(context, zmq::socket_type::pair);
  events->set(zmq::sockopt::linger, 0);
  try {
    events->connect(endpoint);
  } catch (const zmq::error_t& e) {
    return core::makeError(fmt::format("cannot monitor the {} socket: {}", name, e.what()));
  }
  return std::unique_ptr<ConnectionMonitor>(new ConnectionMonitor(std::move(events), std::move(stats)));
}

ConnectionMonitor::ConnectionMonitor(std::unique_ptr<zmq::socket_t> events, std::shared_ptr<AuthStats> stats)
    : events_(std::move(events)), stats_(std::move(stats)) {
  thread_ = std::thread([this] {
    core::nameThisThread("vcg-monitor");
    run();
  });
}

ConnectionMonitor::~ConnectionMonitor() {
  stop_ = true;
  thread_.join();
}

void ConnectionMonitor::run() {
  while (!stop_) {
    zmq::pollitem_t item{events_->handle(), 0, ZMQ_POLLIN, 0};
    try {
      if (zmq::poll(&item, 1, std::chrono::milliseconds(100)) <= 0) continue;
      // An event is two frames: 16-bit event id and 32-bit value (the
      // connection's fd for ACCEPTED and DISCONNECTED, an error code for the
      // handshake events), then the endpoint.
      zmq::message_t head, address;
      if (!events_->recv(head, zmq::recv_flags::dontwait)) continue;
      if (head.more()) (void)events_->recv(address, zmq::recv_flags::dontwait);
      if (head.size() < 6) continue;
      uint16_t event = 0;
      int32_t fd = 0;
      std::memcpy(&event, head.data(), sizeof event);
      std::memcpy(&fd, static_cast<const char*>(head.data()) + 2, sizeof fd);
      if (event == ZMQ_EVENT_ACCEPTED) {
        connected_.insert(fd);
      } else if (event == ZMQ_EVENT_DISCONNECTED) {
        connected_.erase(fd);
      } else if (stats_ && event != ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
        // Refused by the allow-list (HANDSHAKE_FAILED_AUTH) is counted by the
        // ZAP handler already; these never reached it.
        stats_->denied(fmt::format("a client of {} failed the handshake (no CURVE, or not this gateway's key)",
                                   address.to_string()));
      }
      count_ = static_cast<int>(connected_.size());
    } catch (const zmq::error_t& e) {
      if (e.num() == ETERM) return;
      spdlog::error("bus: connection monitor: {}", e.what());
    }
  }
}

}  // namespace vcgate::bus
