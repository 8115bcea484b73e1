// Who may do what on the request channels. A CURVE client's role comes from
// the allow-list (the ZAP User-Id); a request without one is judged by the
// channel it came in on:
//   - "control" (the local socket, guarded by its file mode: root and the
//     vcgate group) acts as admin;
//   - "commands" in clear text acts as operator, as it always has: a site
//     that needs less turns security.curve on (docs/security.md).
// Pure; any thread.
#pragma once

#include <optional>
#include <string>

#include "gateway/bus/command_server.h"

namespace vcgate::control {

// The role a command needs: "viewer", "operator" or "admin". Unknown commands
// need "viewer" so that the handler, not the gate, says they are unknown.
std::string requiredRole(const std::string& cmd);

// The role a request acts with.
std::string effectiveRole(const bus::RequestOrigin& origin);

// Empty when allowed; otherwise the refusal's message.
std::optional<std::string> refusalFor(const std::string& cmd, const bus::RequestOrigin& origin);

}  // namespace vcgate::control
