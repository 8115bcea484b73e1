// ChildProcess: a real program started by a test, with its stdin writable and
// its stdout readable line by line (stderr is passed through to the test's
// stderr, so failures show the child's log). The destructor kills what is
// still running. One test thread uses an instance; not thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace vcgate::testing {

class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ~ChildProcess();

  // Starts argv[0] (a path) with the given arguments. False if it could not start.
  // With merge_stderr the child's stderr (where daemons log) is read as lines too.
  bool start(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env = {},
             bool merge_stderr = false);

  // The next line from the child's stdout, without the newline; nullopt on EOF or timeout.
  std::optional<std::string> readLine(std::chrono::milliseconds timeout);
  // Reads lines until one contains `needle`; returns it, or nullopt on EOF or timeout.
  std::optional<std::string> waitForLine(const std::string& needle, std::chrono::milliseconds timeout);
  // A line already read that contains `needle`, else waitForLine: for lines
  // whose order is not fixed (two cameras that start at the same time).
  std::optional<std::string> seenOrWaitForLine(const std::string& needle, std::chrono::milliseconds timeout);
  // Every line read so far, for failure messages.
  const std::vector<std::string>& lines() const { return lines_; }

  bool writeLine(const std::string& line);
  bool signal(int sig);
  // Waits for the child to exit; its exit status as from waitpid's WEXITSTATUS,
  // 128+signal if it was killed, nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  // SIGKILL and reap.
  void kill();
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0 && !exit_status_; }

 private:
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  std::string buffer_;
  std::vector<std::string> lines_;
  std::optional<int> exit_status_;
};

}  // namespace vcgate::testing
