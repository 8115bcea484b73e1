#include "tests/support/camsim_process.h"

#include <chrono>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace vcgate::testing {

using namespace std::chrono_literals;

CamsimProcess::CamsimProcess(const std::vector<std::string>& streams, Options options)
    : address_(options.address.empty() ? "127.0.0.1" : options.address) {
  std::vector<std::string> argv{VCGATE_CAMSIM_BIN, "--clip-seconds", std::to_string(options.clip_seconds)};
  if (!options.log_level.empty()) argv.insert(argv.end(), {"--log-level", options.log_level});
  if (!options.address.empty()) argv.insert(argv.end(), {"--address", options.address});
  argv.insert(argv.end(), streams.begin(), streams.end());
  EXPECT_TRUE(process_.start(argv));
  auto ready = process_.waitForLine("READY all", 60s);
  EXPECT_TRUE(ready) << "camsim did not start";
  if (ready) port_ = std::stoi(ready->substr(ready->rfind(' ') + 1));
}

std::string CamsimProcess::url(const std::string& name) const {
  return fmt::format("rtsp://{}:{}/{}", address_, port_, name);
}

bool CamsimProcess::command(const std::string& line) {
  return process_.writeLine(line) && process_.waitForLine("OK " + line, 10s).has_value();
}

}  // namespace vcgate::testing
