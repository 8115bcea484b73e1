// Turns the config's security section into what the bus needs, and drops
// root. Called once at start, on the main thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "gateway/bus/curve.h"
#include "gateway/config/config.h"
#include "gateway/core/result.h"

namespace vcgate::daemon {

// The CURVE server of security.curve (its secret key read from the file,
// which must be mode 0600), or nullopt when CURVE is off.
core::Result<std::optional<bus::CurveServer>> curveServerFrom(const config::SecurityConfig& security);

// Without CURVE, a TCP endpoint carries camera video in the clear and lets
// anyone in: one warning line per such endpoint (milder on loopback).
void warnAboutClearText(const config::Config& config);

// security.user: when running as root, switch to this user and its groups
// for good. What the daemon made as root under `owned` (the journal, the
// clips) is handed to the user first, so that it can go on writing there.
// Nothing to do when the user is empty or already in effect.
core::Result<void> dropPrivileges(const std::string& user, const std::vector<std::string>& owned = {});

}  // namespace vcgate::daemon
