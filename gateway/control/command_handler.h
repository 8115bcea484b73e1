// CommandHandler: the request/reply commands of docs/protocol.md section 7,
// for both the local control socket (vcgatectl) and the platform's command
// endpoint. Parses a JSON request, acts, and always answers with a JSON reply:
// malformed input gets a "bad_request" reply, never an exception.
// Main thread only (it calls the alarm engine directly).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "gateway/alarm/alarm_engine.h"
#include "gateway/bus/command_server.h"
#include "gateway/bus/protocol.h"
#include "gateway/bus/publisher.h"
#include "gateway/core/clock.h"

namespace vcgate::control {

struct CommandContext {
  std::string site;
  std::string version;
  alarm::AlarmEngine* alarms = nullptr;
  bus::Publisher* publisher = nullptr;
  // The current heartbeat object (camera stats, alarms), built on demand.
  std::function<bus::StatusMessage()> status;
  // Re-reads the config file; returns an error text, or empty on success.
  std::function<std::string()> reload;
  const core::Clock* clock = &core::SystemClock::instance();
};

class CommandHandler {
 public:
  static constexpr int kMaxLeaseS = 600;
  static constexpr int kDefaultLeaseS = 60;

  explicit CommandHandler(CommandContext context) : context_(std::move(context)) {}
  std::string handle(const std::string& request, const bus::RequestOrigin& origin);

 private:
  CommandContext context_;
};

}  // namespace vcgate::control
