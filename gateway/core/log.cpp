#include "gateway/core/log.h"

#include <unistd.h>

#include <spdlog/sinks/stdout_color_sinks.h>

namespace vcgate::core {

std::optional<spdlog::level::level_enum> parseLogLevel(std::string_view name) {
  static constexpr std::pair<std::string_view, spdlog::level::level_enum> kLevels[] = {
      {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug},
      {"info", spdlog::level::info},   {"warn", spdlog::level::warn},
      {"error", spdlog::level::err},   {"off", spdlog::level::off},
  };
  for (const auto& [text, level] : kLevels)
    if (text == name) return level;
  return std::nullopt;
}

void setupLogging(spdlog::level::level_enum level) {
  auto logger = spdlog::stderr_color_mt("vcgate");
  // journald adds its own timestamp; on a terminal a timestamp helps.
  if (isatty(STDERR_FILENO))
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
  else
    logger->set_pattern("[%l] %v");
  logger->set_level(level);
  spdlog::set_default_logger(logger);
}

}  // namespace vcgate::core
