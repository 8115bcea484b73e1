// vcgated as a systemd service: the real daemon with a NOTIFY_SOCKET made by
// the test (as systemd would pass it) and WatchdogSec set; and its Prometheus
// text file for node_exporter.
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "tests/support/child_process.h"
#include "tests/support/temp_dir.h"

namespace vcgate {
namespace {

using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::TempDir;

// The systemd side of sd_notify: a Unix datagram socket.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    timeval timeout{0, 200'000};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  }
  ~NotifySocket() { close(fd_); }
  // Waits for a datagram containing `needle`; returns how many such arrived meanwhile.
  bool waitFor(const std::string& needle, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      char buffer[4096];
      const ssize_t n = recv(fd_, buffer, sizeof buffer, 0);
      if (n <= 0) continue;
      const std::string message(buffer, static_cast<size_t>(n));
      received_.push_back(message);
      if (message.find(needle) != std::string::npos) return true;
    }
    return false;
  }
  const std::vector<std::string>& received() const { return received_; }

 private:
  std::string path_;
  int fd_ = -1;
  std::vector<std::string> received_;
};

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(Service, NotifiesReadyPingsTheWatchdogAndWritesMetrics) {
  TempDir dir;
  const auto metrics = (dir.path() / "vcgate.prom").string();
  const auto config = dir.write("vcgate.yaml", fmt::format(R"(site:
  id: svc
logging:
  stats_interval_s: 0
bus:
  publish: ipc://{0}/pub.sock
  control: ipc://{0}/control.sock
storage:
  state_dir: {0}/state
  evidence_dir: {0}/evidence
metrics:
  textfile: {1}
  interval_s: 1
cameras:
  - id: hall-a
    uri: test://a?width=160&height=120&fps=10&gop=10
)",
                                                           dir.path().string(), metrics));
  const auto socket_path = (dir.path() / "notify.sock").string();
  NotifySocket systemd(socket_path);
  ChildProcess daemon;
  ASSERT_TRUE(daemon.start({VCGATE_DAEMON_BIN, "--config", config},
                           {"NOTIFY_SOCKET=" + socket_path, "WATCHDOG_USEC=400000"}, true));
  ASSERT_TRUE(systemd.waitFor("READY=1", 20s));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(systemd.waitFor("WATCHDOG=1", 2s)) << "ping " << i;

  // The metrics file appears and shows the camera streaming.
  const auto streaming = [&] {
    return readFile(metrics).find("vcgate_camera_streaming{site=\"svc\",camera=\"hall-a\"} 1") != std::string::npos;
  };
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (!streaming() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(100ms);
  ASSERT_TRUE(streaming()) << readFile(metrics);
  const auto text = readFile(metrics);
  EXPECT_NE(text.find("# TYPE vcgate_camera_frames_total counter"), std::string::npos);
  EXPECT_NE(text.find("vcgate_up{site=\"svc\",version=\""), std::string::npos);
  EXPECT_NE(text.find("vcgate_requests_answered_total{site=\"svc\"} "), std::string::npos) << text;

  ASSERT_TRUE(daemon.signal(SIGHUP));
  ASSERT_TRUE(systemd.waitFor("RELOADING=1", 10s));
  ASSERT_TRUE(systemd.waitFor("READY=1", 10s));
  ASSERT_TRUE(daemon.signal(SIGTERM));
  ASSERT_TRUE(systemd.waitFor("STOPPING=1", 10s));
  EXPECT_EQ(daemon.wait(10s), 0);
}

TEST(Service, OutsideSystemdNothingIsSentAndNothingBreaks) {
  TempDir dir;
  const auto config = dir.write("vcgate.yaml", fmt::format(R"(site: {{id: plain}}
logging: {{stats_interval_s: 0}}
bus: {{publish: "ipc://{0}/pub.sock", control: "ipc://{0}/control.sock"}}
storage: {{state_dir: {0}/state, evidence_dir: {0}/evidence}}
cameras: [{{id: a, uri: "test://a?width=160&height=120"}}]
)",
                                                           dir.path().string()));
  ChildProcess daemon;
  ASSERT_TRUE(daemon.start({VCGATE_DAEMON_BIN, "--config", config}, {}, true));
  ASSERT_TRUE(daemon.waitForLine("camera a: streaming", 20s));
  ASSERT_TRUE(daemon.signal(SIGTERM));
  EXPECT_EQ(daemon.wait(10s), 0);
}

}  // namespace
}  // namespace vcgate
