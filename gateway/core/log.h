// Logging: spdlog to stderr, which journald captures under systemd. Call
// setupLogging() once from main() before any other thread starts; after that
// spdlog's functions are safe from any thread.
#pragma once

#include <optional>
#include <string_view>

#include <spdlog/spdlog.h>

namespace vcgate::core {

// Known level names: trace, debug, info, warn, error, off.
std::optional<spdlog::level::level_enum> parseLogLevel(std::string_view name);

void setupLogging(spdlog::level::level_enum level);

}  // namespace vcgate::core
