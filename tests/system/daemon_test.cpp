// The real vcgated as a child process with its own config files: command line,
// config checking, clean shutdown on SIGTERM, SIGHUP reload, no secrets in logs,
// real-time delivery threads.
#include <sched.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include <fmt/format.h>

#include "gateway/core/realtime.h"
#include "tests/support/child_process.h"
#include "tests/support/program_run.h"
#include "tests/support/temp_dir.h"

namespace vcgate {
namespace {

using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::TempDir;

std::string configWith(const TempDir& dir, const std::string& cameras) {
  return fmt::format(R"(site:
  id: test-site
logging:
  level: info
  stats_interval_s: 1
bus:
  publish: ipc://{0}/pub.sock
  control: ipc://{0}/control.sock
storage:
  state_dir: {0}/state
  evidence_dir: {0}/evidence
cameras:
{1})",
                     dir.path().string(), cameras);
}

const char* kTwoCameras = R"(  - id: cam-a
    uri: test://a?width=160&height=120&fps=10&gop=10
  - id: cam-b
    uri: test://b?width=160&height=120&fps=10&gop=10
)";

int runToExit(const std::vector<std::string>& args, std::vector<std::string>* output = nullptr) {
  std::vector<std::string> argv{VCGATE_DAEMON_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  auto run = testing::runToEnd(argv, /*merge_stderr=*/true, 10s);
  if (output) *output = std::move(run.lines);
  return run.exit_code;
}

TEST(Daemon, VersionAndHelp) {
  std::vector<std::string> out;
  EXPECT_EQ(runToExit({"--version"}, &out), 0);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out[0], std::string("vcgated ") + VCGATE_VERSION);
  EXPECT_EQ(runToExit({"--help"}, &out), 0);
  EXPECT_EQ(runToExit({"--no-such-flag"}), 2);
  EXPECT_EQ(runToExit({}), 2) << "--config is required";
}

TEST(Daemon, CheckConfigAcceptsTheShippedConfigs) {
  for (const char* name : {"demo.yaml", "station.yaml", "mall.yaml"}) {
    std::vector<std::string> out;
    EXPECT_EQ(runToExit({"--check-config", std::string(VCGATE_SOURCE_DIR) + "/configs/" + name}, &out), 0) << name;
  }
}

TEST(Daemon, CheckConfigReportsEveryMistakeWithItsLocation) {
  TempDir dir;
  const auto path = dir.write("bad.yaml", configWith(dir, R"(  - id: cam-a
    uri: test://a?fps=500
  - id: cam-a
    uri: rtsp://viewer:hunter2@192.0.2.1:99999/x
    latency_ms: fast
)"));
  std::vector<std::string> out;
  EXPECT_EQ(runToExit({"--check-config", path}, &out), 1);
  std::string all;
  for (const auto& line : out) all += line + "\n";
  EXPECT_NE(all.find(path + ":14:10:"), std::string::npos) << all;  // fps out of range
  EXPECT_NE(all.find(path + ":15:9:"), std::string::npos) << all;   // duplicate id
  EXPECT_NE(all.find(path + ":16:10:"), std::string::npos) << all;  // bad port
  EXPECT_NE(all.find(path + ":17:17:"), std::string::npos) << all;  // wrong type
  EXPECT_EQ(all.find("hunter2"), std::string::npos) << "a password leaked: " << all;
  EXPECT_NE(all.find("4 problem(s)"), std::string::npos) << all;
}

TEST(Daemon, StreamsThenStopsCleanlyOnSigterm) {
  TempDir dir;
  const auto path = dir.write("vcgate.yaml", configWith(dir, kTwoCameras));
  // Several rounds: shutdown must be clean every time, not just usually.
  for (int round = 0; round < 3; ++round) {
    ChildProcess daemon;
    ASSERT_TRUE(daemon.start({VCGATE_DAEMON_BIN, "--config", path}, {}, true));
    // The two cameras start together: either may say so first.
    ASSERT_TRUE(daemon.seenOrWaitForLine("camera cam-a: streaming h264 160x120", 20s));
    ASSERT_TRUE(daemon.seenOrWaitForLine("camera cam-b: streaming h264 160x120", 20s));
    const auto sent = std::chrono::steady_clock::now();
    ASSERT_TRUE(daemon.signal(SIGTERM));
    ASSERT_TRUE(daemon.waitForLine("stopped cleanly", 5s)) << "round " << round;
    EXPECT_EQ(daemon.wait(5s), 0);
    EXPECT_LT(std::chrono::steady_clock::now() - sent, 5s);
  }
}

// bus.realtime_priority reaches the running daemon: its frame dispatcher and
// ZeroMQ I/O threads run under SCHED_FIFO at that priority (when this process
// may grant it), and the cameras' streaming threads keep the normal policy.
TEST(Daemon, RealtimePriorityAppliesToTheDeliveryThreadsOnly) {
  constexpr int kPriority = 7;
  TempDir dir;
  std::string config = configWith(dir, kTwoCameras);
  config.replace(config.find("bus:\n"), 5, fmt::format("bus:\n  realtime_priority: {}\n", kPriority));
  const auto path = dir.write("vcgate.yaml", config);
  ChildProcess daemon;
  ASSERT_TRUE(daemon.start({VCGATE_DAEMON_BIN, "--config", path}, {}, true));
  ASSERT_TRUE(daemon.seenOrWaitForLine("camera cam-a: streaming h264 160x120", 20s));
  ASSERT_TRUE(daemon.seenOrWaitForLine("camera cam-b: streaming h264 160x120", 20s));
  const bool allowed = core::realtimeAllowed(kPriority).ok();
  const int wanted = allowed ? SCHED_FIFO : SCHED_OTHER;
  int dispatchers = 0;
  int realtime_io = 0;  // the publisher's context; the command sockets' contexts stay normal
  int streaming = 0;
  const std::string tasks = fmt::format("/proc/{}/task", daemon.pid());
  for (const auto& entry : std::filesystem::directory_iterator(tasks)) {
    std::string name;
    std::getline(std::ifstream(entry.path() / "comm"), name);
    const pid_t tid = std::stoi(entry.path().filename().string());
    sched_param param{};
    const int policy = sched_getscheduler(tid);
    sched_getparam(tid, &param);
    if (name == "vcg-dispatch") {
      ++dispatchers;
      EXPECT_EQ(policy, wanted) << name;
      EXPECT_EQ(param.sched_priority, allowed ? kPriority : 0) << name;
    } else if (name.starts_with("ZMQbg/IO") && policy == SCHED_FIFO) {
      ++realtime_io;
      EXPECT_EQ(param.sched_priority, kPriority) << name;
    } else if (name.starts_with("task") || name.starts_with("rtpjitterbuffer") || name.starts_with("vcg-evidence")) {
      ++streaming;
      EXPECT_EQ(policy, SCHED_OTHER) << name << " must keep the normal policy";
    }
  }
  EXPECT_EQ(dispatchers, 1);
  EXPECT_EQ(realtime_io, allowed ? 1 : 0) << "exactly the publisher's ZeroMQ I/O thread";
  EXPECT_GE(streaming, 1);
  ASSERT_TRUE(daemon.signal(SIGTERM));
  EXPECT_EQ(daemon.wait(10s), 0);
}

TEST(Daemon, SighupReloadRefusesAnInvalidConfigAndKeepsStreaming) {
  TempDir dir;
  const auto path = dir.write("vcgate.yaml", configWith(dir, kTwoCameras));
  ChildProcess daemon;
  ASSERT_TRUE(daemon.start({VCGATE_DAEMON_BIN, "--config", path}, {}, true));
  ASSERT_TRUE(daemon.waitForLine("camera cam-b: streaming", 20s));

  dir.write("vcgate.yaml", configWith(dir, "  - id: cam-a\n    uri: test://a?fps=0\n"));
  ASSERT_TRUE(daemon.signal(SIGHUP));
  ASSERT_TRUE(daemon.waitForLine("vcgate.yaml:14:10: error:", 10s));
  ASSERT_TRUE(daemon.waitForLine("reload refused", 10s));
  // Still streaming: the next stats table shows both cameras with frames.
  ASSERT_TRUE(daemon.waitForLine("camera stats", 5s));
  ASSERT_TRUE(daemon.waitForLine("cam-a            streaming", 5s));

  // A valid change: cam-b goes, cam-c comes, cam-a is untouched.
  dir.write("vcgate.yaml", configWith(dir, R"(  - id: cam-a
    uri: test://a?width=160&height=120&fps=10&gop=10
  - id: cam-c
    uri: test://c?width=320&height=240&fps=10&gop=10
)"));
  ASSERT_TRUE(daemon.signal(SIGHUP));
  ASSERT_TRUE(daemon.waitForLine("reload done: 2 camera(s)", 10s));
  ASSERT_TRUE(daemon.waitForLine("camera cam-c: streaming h264 320x240", 20s));
  ASSERT_TRUE(daemon.signal(SIGTERM));
  EXPECT_EQ(daemon.wait(5s), 0);
  int cam_a_starts = 0;
  for (const auto& line : daemon.lines()) cam_a_starts += line.find("camera cam-a: streaming") != std::string::npos;
  EXPECT_EQ(cam_a_starts, 1) << "cam-a's config never changed, so it must never restart";
}

TEST(Daemon, CameraPasswordsNeverReachTheLog) {
  TempDir dir;
  // Port 1 on loopback refuses at once: the camera fails and the error is logged.
  const auto path = dir.write("vcgate.yaml", configWith(dir, R"(  - id: secret-cam
    uri: rtsp://admin:hunter2@127.0.0.1:1/stream
    reconnect:
      initial_ms: 100
)"));
  ChildProcess daemon;
  ASSERT_TRUE(daemon.start({VCGATE_DAEMON_BIN, "--config", path, "--log-level", "debug"}, {}, true));
  ASSERT_TRUE(daemon.waitForLine("retrying", 20s));
  ASSERT_TRUE(daemon.waitForLine("secret-cam", 5s));  // the stats table names it with its last error
  ASSERT_TRUE(daemon.signal(SIGTERM));
  EXPECT_EQ(daemon.wait(5s), 0);
  bool saw_redacted = false;
  for (const auto& line : daemon.lines()) {
    EXPECT_EQ(line.find("hunter2"), std::string::npos) << line;
    saw_redacted |= line.find("admin:***@127.0.0.1:1") != std::string::npos;
  }
  EXPECT_TRUE(saw_redacted) << "the debug log names the camera URI, redacted";
}

}  // namespace
}  // namespace vcgate
