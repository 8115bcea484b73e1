// ConnectionMonitor: how many peers are connected to a bound socket, from
// ZeroMQ's own socket monitor: a connection counts from its accept to its
// disconnect. (The handshake events carry no connection id in libzmq 4.3,
// so a client that fails the handshake is counted for the moment until
// ZeroMQ drops it.) A failed handshake — a client without CURVE, or with the
// wrong server key — is counted as a denial in the shared AuthStats, since
// the allow-list never saw it.
//
// start() must be called on the thread that owns the socket, before it
// binds; the monitor then reads its events on its own thread. count() and
// the stats may be read from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "gateway/bus/curve.h"
#include "gateway/core/result.h"

namespace zmq {
class context_t;
class socket_t;
}  // namespace zmq

namespace vcgate::bus {

class ConnectionMonitor {
 public:
  // `name` tells monitors of one context apart ("publish"); `stats` may be null.
  static core::Result<std::unique_ptr<ConnectionMonitor>> start(zmq::context_t& context, zmq::socket_t& socket,
                                                               const std::string& name,
                                                               std::shared_ptr<AuthStats> stats);
  ~ConnectionMonitor();
  ConnectionMonitor(const ConnectionMonitor&) = delete;
  ConnectionMonitor& operator=(const ConnectionMonitor&) = delete;

  // Peers connected now.
  int count() const { return count_.load(); }

 private:
  ConnectionMonitor(std::unique_ptr<zmq::socket_t> events, std::shared_ptr<AuthStats> stats);
  void run();

  std::unique_ptr<zmq::socket_t> events_;  // the PAIR end of the monitor; the thread's only
  std::shared_ptr<AuthStats> stats_;
  std::set<int> connected_;  // file descriptors of open connections (thread only)
  std::atomic<int> count_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace vcgate::bus
