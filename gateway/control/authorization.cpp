#include "gateway/control/authorization.h"

#include <map>

#include <fmt/format.h>

namespace vcgate::control {
namespace {

int rank(const std::string& role) {
  if (role == "admin") return 3;
  if (role == "operator") return 2;
  if (role == "viewer") return 1;
  return 0;
}

}  // namespace

std::string requiredRole(const std::string& cmd) {
  // What changes the state of the site or of the box; everything else reads.
  static const std::map<std::string, std::string> kNeeds = {
      {"alarm.raise", "operator"}, {"alarm.update", "operator"}, {"alarm.clear", "operator"},
      {"alarm.ack", "operator"},   {"live.start", "operator"},   {"live.stop", "operator"},
      {"reload", "admin"},
  };
  const auto it = kNeeds.find(cmd);
  return it == kNeeds.end() ? "viewer" : it->second;
}

std::string effectiveRole(const bus::RequestOrigin& origin) {
  if (!origin.role.empty()) return origin.role;
  return origin.channel == "control" ? "admin" : "operator";
}

std::optional<std::string> refusalFor(const std::string& cmd, const bus::RequestOrigin& origin) {
  const std::string needs = requiredRole(cmd);
  const std::string has = effectiveRole(origin);
  if (rank(has) >= rank(needs)) return std::nullopt;
  const std::string who = origin.client.empty() ? "this client" : "client '" + origin.client + "'";
  const char* article = has == "operator" || has == "admin" ? "an" : "a";
  return fmt::format("{} is {} {}; {} needs the {} role (security.clients in the gateway's config)", who, article, has,
                     cmd, needs);
}

}  // namespace vcgate::control
