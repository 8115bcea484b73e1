#include "gateway/control/command_handler.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace vcgate::control {
namespace {

using nlohmann::json;

// A refusal with its protocol error code; thrown only inside handle() and
// caught there, so a bad request never travels further than this file.
struct Refusal {
  std::string code;
  std::string message;
};

const json& argsOf(const json& request) {
  static const json kEmpty = json::object();
  auto it = request.find("args");
  if (it == request.end()) return kEmpty;
  if (!it->is_object()) throw Refusal{"bad_request", "'args' must be an object"};
  return *it;
}

template <class T>
T required(const json& args, const char* name, const char* what) {
  auto it = args.find(name);
  if (it == args.end()) throw Refusal{"invalid_argument", fmt::format("missing argument '{}' ({})", name, what)};
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    throw Refusal{"invalid_argument", fmt::format("argument '{}' must be {}", name, what)};
  }
}

template <class T>
std::optional<T> optional(const json& args, const char* name, const char* what) {
  if (!args.contains(name)) return std::nullopt;
  return required<T>(args, name, what);
}

json unwrap(core::Result<alarm::Alarm> result) {
  if (!result) throw Refusal{result.error().code.empty() ? "internal" : result.error().code, result.error().message};
  return {{"alarm", bus::alarmToJson(*result)}};
}

}  // namespace

std::string CommandHandler::handle(const std::string& text, const bus::RequestOrigin& origin) {
  json reply = {{"v", bus::kProtocolVersion}};
  try {
    const json request = json::parse(text, nullptr, false);
    if (request.is_discarded() || !request.is_object())
      throw Refusal{"bad_request", "the request is not a JSON object"};
    if (auto id = request.find("id"); id != request.end()) reply["id"] = *id;
    if (request.value("v", 0) != bus::kProtocolVersion)
      throw Refusal{"bad_request", fmt::format("unsupported or missing protocol version (this gateway speaks v{})",
                                               bus::kProtocolVersion)};
    const std::string cmd = request.value("cmd", "");
    const json& args = argsOf(request);
    auto& alarms = *context_.alarms;
    json result;

    if (cmd == "ping") {
      result = {{"site", context_.site},
                {"version", context_.version},
                {"boot", bus::bootIdHex(context_.publisher->bootId())},
                {"time_us", context_.clock->wallMicros()}};
    } else if (cmd == "status") {
      result = bus::statusToJson(context_.status());
    } else if (cmd == "alarm.raise") {
      alarm::RaiseRequest raise;
      raise.cameras = required<std::vector<std::string>>(args, "cameras", "a list of camera ids");
      raise.level = required<int>(args, "level", "1, 2 or 3");
      raise.type = required<std::string>(args, "type", "a string such as \"intrusion\"");
      raise.description = optional<std::string>(args, "description", "a string").value_or("");
      raise.source = optional<std::string>(args, "source", "a string")
                         .value_or(origin.channel == "commands" ? "platform" : "manual");
      raise.pre_roll_s = optional<double>(args, "pre_roll_s", "a number of seconds");
      raise.post_roll_s = optional<double>(args, "post_roll_s", "a number of seconds");
      result = unwrap(alarms.raise(raise));
    } else if (cmd == "alarm.update") {
      alarm::UpdateRequest update;
      update.level = optional<int>(args, "level", "1, 2 or 3");
      update.description = optional<std::string>(args, "description", "a string");
      result = unwrap(alarms.update(required<std::string>(args, "id", "an alarm id"), update));
    } else if (cmd == "alarm.clear") {
      result = unwrap(alarms.clear(required<std::string>(args, "id", "an alarm id")));
    } else if (cmd == "alarm.ack") {
      const std::string by = optional<std::string>(args, "by", "a string").value_or(origin.channel);
      result = unwrap(alarms.acknowledge(required<std::string>(args, "id", "an alarm id"), by));
    } else if (cmd == "alarm.list") {
      json active = json::array(), recent = json::array();
      for (const auto& a : alarms.active()) active.push_back(bus::alarmToJson(a));
      for (const auto& a : alarms.recent()) recent.push_back(bus::alarmToJson(a));
      result = {{"active", active}, {"recent", recent}};
    } else if (cmd == "live.start" || cmd == "live.stop") {
      const auto camera = required<std::string>(args, "camera", "a camera id");
      const auto status = context_.status();
      const bool known = std::any_of(status.cameras.begin(), status.cameras.end(),
                                     [&](const auto& c) { return c.id == camera; });
      if (!known) throw Refusal{"unknown_camera", fmt::format("no camera '{}' on site {}", camera, context_.site)};
      if (cmd == "live.stop") {
        context_.publisher->stopLiveView(camera);
        result = {{"camera", camera}};
      } else {
        const int lease = optional<int>(args, "lease_s", "whole seconds").value_or(kDefaultLeaseS);
        if (lease < 1 || lease > kMaxLeaseS)
          throw Refusal{"invalid_argument", fmt::format("lease_s must be 1 to {} seconds", kMaxLeaseS)};
        const int64_t until = context_.clock->wallMicros() + int64_t{lease} * 1'000'000;
        context_.publisher->startLiveView(camera, until);
        result = {{"camera", camera}, {"until_us", until}};
      }
    } else if (cmd == "reload") {
      if (origin.channel != "control") throw Refusal{"forbidden", "reload is only accepted on the local control socket"};
      const std::string error = context_.reload ? context_.reload() : "reload is not available";
      if (!error.empty()) throw Refusal{"invalid_argument", error};
      result = json::object();
    } else if (cmd.empty()) {
      throw Refusal{"bad_request", "the request has no 'cmd'"};
    } else {
      throw Refusal{"unknown_command",
                    fmt::format("unknown command '{}' (known: ping, status, alarm.raise, alarm.update, alarm.clear, "
                                "alarm.ack, alarm.list, live.start, live.stop, reload)",
                                cmd)};
    }
    reply["ok"] = true;
    reply["result"] = std::move(result);
  } catch (const Refusal& refusal) {
    reply["ok"] = false;
    reply["error"] = {{"code", refusal.code}, {"message", refusal.message}};
  } catch (const std::exception& e) {
    reply["ok"] = false;
    reply["error"] = {{"code", "internal"}, {"message", e.what()}};
  }
  // Replacement of invalid UTF-8 keeps a hostile request from making the reply itself fail.
  return reply.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace vcgate::control
