// runToEnd: a program a test runs to its end (vcgatectl, vcgated
// --check-config, ...), bounded in time, with every line it printed.
// waitUntil: polls a condition until it holds or a deadline passes.
// One test thread; not thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace vcgate::testing {

struct ProgramRun {
  int exit_code = -1;              // as ChildProcess::wait says; -1 if it did not end in time
  std::vector<std::string> lines;  // its stdout (and stderr when merged)
  double ms = 0;                   // from start to exit
  // The first line that is a JSON object (what --json prints), parsed; null if none.
  nlohmann::json firstJson() const;
  // Every line, for failure messages.
  std::string all() const;
};

// Runs argv[0] (a path) with its arguments until it exits, at most `limit`
// for its output and again for its exit. A program that cannot start is a
// test failure.
ProgramRun runToEnd(const std::vector<std::string>& argv, bool merge_stderr = false,
                    std::chrono::milliseconds limit = std::chrono::seconds(30));

// Polls `done` every `every` until it holds (true) or `timeout` passes (false).
bool waitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout,
               std::chrono::milliseconds every = std::chrono::milliseconds(50));

}  // namespace vcgate::testing
