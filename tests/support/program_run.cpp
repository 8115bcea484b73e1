#include "tests/support/program_run.h"

#include <thread>

#include <gtest/gtest.h>

#include "tests/support/child_process.h"

namespace vcgate::testing {

nlohmann::json ProgramRun::firstJson() const {
  for (const auto& line : lines)
    if (line.starts_with("{")) return nlohmann::json::parse(line, nullptr, false);
  return nlohmann::json();
}

std::string ProgramRun::all() const {
  std::string out;
  for (const auto& line : lines) out += line + "\n";
  return out;
}

ProgramRun runToEnd(const std::vector<std::string>& argv, bool merge_stderr, std::chrono::milliseconds limit) {
  ChildProcess child;
  ProgramRun run;
  const auto start = std::chrono::steady_clock::now();
  if (!child.start(argv, {}, merge_stderr)) {
    ADD_FAILURE() << "cannot start " << (argv.empty() ? std::string("(nothing)") : argv[0]);
    return run;
  }
  while (child.readLine(limit)) {
  }
  run.exit_code = child.wait(limit).value_or(-1);
  run.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  run.lines = child.lines();
  return run;
}

bool waitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout, std::chrono::milliseconds every) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(every);
  }
  return true;
}

}  // namespace vcgate::testing
