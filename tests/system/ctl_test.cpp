// vcgatectl as a technician runs it: each command a child process against the
// real vcgated (its own config in a temporary directory, ipc control socket,
// publish port picked by the system), its --json parsed and checked, its exit
// code checked. `probe` runs against vcgate-camsim and against each failure a
// camera can show: a fake RTSP server that answers 401, a port that accepts
// and never answers, a refused port, an audio-only file. Also the config
// redaction that bundles rely on, called directly.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tests/support/camsim_process.h"
#include "tests/support/child_process.h"
#include "tests/support/program_run.h"
#include "tests/support/temp_dir.h"
#include "tools/ctl/redact.h"

namespace vcgate {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using testing::ChildProcess;
using testing::TempDir;

using CtlRun = testing::ProgramRun;

// Runs vcgatectl to its end.
CtlRun ctl(std::vector<std::string> args, bool merge_stderr = false, std::chrono::seconds limit = 30s) {
  args.insert(args.begin(), VCGATE_CTL_BIN);
  return testing::runToEnd(args, merge_stderr, limit);
}

// A TCP port on loopback that refuses connections: bound, never listening.
// Held for the test's life so that nothing else takes it.
class RefusingPort {
 public:
  RefusingPort() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    socklen_t len = sizeof address;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &len);
    port_ = ntohs(address.sin_port);
  }
  ~RefusingPort() { close(fd_); }
  int port() const { return port_; }

 protected:
  int fd_ = -1;
  int port_ = 0;
};

// A port that completes the TCP handshake (the kernel does, from the backlog)
// and then never says anything: a hung camera.
class SilentPort : public RefusingPort {
 public:
  SilentPort() { EXPECT_EQ(listen(fd_, 16), 0); }
};

// Just enough RTSP to ask for a password: every DESCRIBE gets 401 with a
// Basic challenge, anything else 200.
class UnauthorizedRtspServer : public RefusingPort {
 public:
  UnauthorizedRtspServer() {
    EXPECT_EQ(listen(fd_, 16), 0);
    thread_ = std::thread([this] { serve(); });
  }
  ~UnauthorizedRtspServer() {
    stop_ = true;
    thread_.join();
  }
  int describes() const { return describes_.load(); }

 private:
  void serve() {
    std::vector<int> clients;
    std::map<int, std::string> buffers;
    while (!stop_) {
      std::vector<pollfd> fds{{fd_, POLLIN, 0}};
      for (int c : clients) fds.push_back({c, POLLIN, 0});
      if (poll(fds.data(), fds.size(), 50) <= 0) continue;
      if (fds[0].revents & POLLIN) clients.push_back(accept(fd_, nullptr, nullptr));
      for (size_t i = 1; i < fds.size(); ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP))) continue;
        const int c = fds[i].fd;
        char buffer[4096];
        const ssize_t n = read(c, buffer, sizeof buffer);
        if (n <= 0) {
          close(c);
          clients.erase(std::find(clients.begin(), clients.end(), c));
          continue;
        }
        std::string& pending = buffers[c];
        pending.append(buffer, static_cast<size_t>(n));
        for (size_t end; (end = pending.find("\r\n\r\n")) != std::string::npos;) {
          const std::string request = pending.substr(0, end);
          pending.erase(0, end + 4);
          std::string cseq = "0";
          if (auto at = request.find("CSeq:"); at != std::string::npos)
            cseq = request.substr(at + 5, request.find("\r\n", at) - at - 5);
          std::string reply;
          if (request.starts_with("DESCRIBE")) {
            ++describes_;
            reply = fmt::format(
                "RTSP/1.0 401 Unauthorized\r\nCSeq:{}\r\nWWW-Authenticate: Basic realm=\"camera\"\r\n\r\n", cseq);
          } else {
            reply = fmt::format(
                "RTSP/1.0 200 OK\r\nCSeq:{}\r\nPublic: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n\r\n", cseq);
          }
          (void)!write(c, reply.data(), reply.size());
        }
      }
    }
    for (int c : clients) close(c);
  }

  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> describes_{0};
};

std::string gatewayConfig(const TempDir& dir, int dead_port) {
  return fmt::format(R"(site:
  id: ctl-test
  name: "vcgatectl test"
logging:
  level: info
  stats_interval_s: 0
bus:
  publish: tcp://127.0.0.1:*
  control: ipc://{0}/control.sock
storage:
  state_dir: {0}/state
  evidence_dir: {0}/evidence
cameras:
  - id: cam-a
    uri: test://a?width=160&height=120&fps=10&gop=10
  - id: cam-b
    uri: test://b?codec=h265&width=160&height=120&fps=10&gop=10
  - id: cam-dead
    # the NVR account: admin / hunter2 (a comment that quotes the password)
    uri: rtsp://admin:hunter2@127.0.0.1:{1}/stream
    reconnect:
      initial_ms: 100
board:
  kind: simulated
  control_path: {0}/board.fifo
  inputs:
    - id: door-1
      debounce_ms: 10
  outputs:
    - id: status-led
      initial_on: true
)",
                     dir.path().string(), dead_port);
}

// A running gateway with two synthetic cameras and one that cannot connect.
class CtlWithGateway : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = dir_.write("vcgate.yaml", gatewayConfig(dir_, dead_.port()));
    ASSERT_TRUE(daemon_.start({VCGATE_DAEMON_BIN, "--config", config_}, {}, /*merge_stderr=*/true));
    ASSERT_TRUE(daemon_.seenOrWaitForLine("camera cam-a: streaming", 20s));  // either may start first
    ASSERT_TRUE(daemon_.seenOrWaitForLine("camera cam-b: streaming", 20s));
  }
  void TearDown() override {
    if (daemon_.running()) {
      daemon_.signal(SIGTERM);
      EXPECT_EQ(daemon_.wait(10s), 0);
    }
  }
  // vcgatectl -c CONFIG --json ARGS...
  CtlRun runJson(std::vector<std::string> args, bool merge_stderr = false) {
    args.insert(args.begin(), {"-c", config_, "--json"});
    return ctl(args, merge_stderr);
  }
  CtlRun runText(std::vector<std::string> args) {
    args.insert(args.begin(), {"-c", config_});
    return ctl(args);
  }
  // Waits until `cameras` reports a GOP for both synthetic cameras (two keyframes seen).
  nlohmann::json waitForCameraStats() {
    nlohmann::json cameras;
    for (int i = 0; i < 100; ++i) {
      cameras = runJson({"cameras"}).firstJson();
      bool ready = cameras.contains("cameras");
      for (const auto& c : cameras.value("cameras", nlohmann::json::array()))
        // Three seconds of video: the rates are measured over a window, and
        // one GOP on a loaded machine is too short to read 10 fps off.
        if (c["id"] != "cam-dead" && (c.value("gop_frames", 0) == 0 || c.value("frames", 0) < 30)) ready = false;
      if (ready) break;
      std::this_thread::sleep_for(200ms);
    }
    return cameras;
  }

  TempDir dir_;
  RefusingPort dead_;
  std::string config_;
  ChildProcess daemon_;
};

TEST(Ctl, HelpVersionAndUsage) {
  EXPECT_EQ(ctl({"--help"}).exit_code, 0);
  const CtlRun version = ctl({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  ASSERT_FALSE(version.lines.empty());
  EXPECT_EQ(version.lines[0], std::string("vcgatectl ") + VCGATE_VERSION);
  for (std::vector<std::string> command : {std::vector<std::string>{"status"},
                                           {"ping"},
                                           {"cameras"},
                                           {"top"},
                                           {"alarms"},
                                           {"tail"},
                                           {"alarm", "raise"},
                                           {"alarm", "list"},
                                           {"live"},
                                           {"reload"},
                                           {"snapshot"},
                                           {"probe"},
                                           {"check-config"},
                                           {"bus", "ping"},
                                           {"inputs"},
                                           {"bundle"}}) {
    command.push_back("--help");
    const CtlRun run = ctl(command);
    EXPECT_EQ(run.exit_code, 0) << command[0];
    EXPECT_NE(run.all().find("Exit codes"), std::string::npos) << command[0] << " documents its exit codes";
  }
  EXPECT_EQ(ctl({}).exit_code, 2) << "a command is required";
  EXPECT_EQ(ctl({"status", "--no-such-flag"}).exit_code, 2);
  EXPECT_EQ(ctl({"probe"}).exit_code, 2) << "probe needs a URI";
  EXPECT_EQ(ctl({"top", "--interval", "0"}).exit_code, 2);
}

TEST(Ctl, UnreachableGatewayIsExit3WithASentence) {
  TempDir dir;
  const std::string endpoint = "ipc://" + (dir.path() / "nobody.sock").string();
  for (const char* command : {"status", "ping", "cameras", "alarms"}) {
    const CtlRun run = ctl({"-e", endpoint, "--json", "--timeout-ms", "300", command});
    EXPECT_EQ(run.exit_code, 3) << command;
    const json error = run.firstJson();
    EXPECT_EQ(error["code"], "unreachable") << run.all();
    EXPECT_NE(error.value("message", "").find("vcgated is not running"), std::string::npos) << run.all();
  }
}

TEST(Ctl, InputsWithoutABoardSaySo) {
  TempDir dir;
  const auto config = dir.write("vcgate.yaml", fmt::format(R"(site:
  id: no-board
bus:
  publish: tcp://127.0.0.1:*
  control: ipc://{0}/control.sock
storage:
  state_dir: {0}/state
  evidence_dir: {0}/evidence
cameras:
  - id: cam-a
    uri: test://a?width=160&height=120&fps=10&gop=10
)",
                                                           dir.path().string()));
  ChildProcess daemon;
  ASSERT_TRUE(daemon.start({VCGATE_DAEMON_BIN, "--config", config}, {}, /*merge_stderr=*/true));
  ASSERT_TRUE(daemon.waitForLine("accepting commands on", 20s));
  const CtlRun run = ctl({"-c", config, "--json", "inputs"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.firstJson()["code"], "not_available") << run.all();
  EXPECT_NE(run.firstJson().value("message", "").find("watches no board"), std::string::npos) << run.all();
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait(10s), 0);
}

TEST_F(CtlWithGateway, PingNamesTheSiteAndThePublishEndpoints) {
  const CtlRun run = runJson({"ping"});
  ASSERT_EQ(run.exit_code, 0) << run.all();
  const auto ping = run.firstJson();
  EXPECT_EQ(ping["site"], "ctl-test");
  EXPECT_EQ(ping["version"], VCGATE_VERSION);
  EXPECT_EQ(ping["boot"].get<std::string>().size(), 16u);
  ASSERT_EQ(ping["publish"].size(), 1u);
  EXPECT_TRUE(ping["publish"][0].get<std::string>().starts_with("tcp://127.0.0.1:")) << ping.dump();
  EXPECT_GE(ping["round_trip_ms"].get<double>(), 0);
}

TEST_F(CtlWithGateway, InputsShowTheBoardAsItChanges) {
  const CtlRun run = runJson({"inputs"});
  ASSERT_EQ(run.exit_code, 0) << run.all();
  auto inputs = run.firstJson();
  EXPECT_EQ(inputs["board"], "simulated");
  ASSERT_EQ(inputs["inputs"].size(), 1u);
  EXPECT_EQ(inputs["inputs"][0]["id"], "door-1");
  EXPECT_FALSE(inputs["inputs"][0]["active"].get<bool>());
  ASSERT_EQ(inputs["outputs"].size(), 1u);
  EXPECT_TRUE(inputs["outputs"][0]["on"].get<bool>()) << "initial_on";

  std::ofstream(dir_.path() / "board.fifo") << "press door-1\n";
  for (int i = 0; i < 50 && !inputs["inputs"][0]["active"].get<bool>(); ++i) {
    std::this_thread::sleep_for(100ms);
    inputs = runJson({"inputs"}).firstJson();
  }
  EXPECT_TRUE(inputs["inputs"][0]["active"].get<bool>()) << inputs.dump();
  EXPECT_EQ(inputs["inputs"][0]["changes"], 1);
  EXPECT_GT(inputs["inputs"][0]["since_us"].get<int64_t>(), 0);
  const CtlRun human = runText({"inputs"});
  EXPECT_NE(human.all().find("door-1               ACTIVE"), std::string::npos) << human.all();
}

TEST_F(CtlWithGateway, StatusGivesAVerdictAndTheBoxFacts) {
  waitForCameraStats();
  const CtlRun run = runJson({"status"});
  ASSERT_EQ(run.exit_code, 0) << "answered: 0 whatever the verdict\n" << run.all();
  const auto status = run.firstJson();
  EXPECT_EQ(status["site"], "ctl-test");
  EXPECT_EQ(status["cameras"].size(), 3u);
  EXPECT_GT(status["uptime_s"].get<double>(), 0);
  // One camera cannot connect: degraded, and the verdict names it with its error.
  const auto& health = status["health"];
  EXPECT_EQ(health["verdict"], "degraded") << health.dump();
  EXPECT_EQ(health["cameras_streaming"], 2);
  EXPECT_EQ(health["cameras_enabled"], 3);
  EXPECT_TRUE(health["summary"].get<std::string>().starts_with("DEGRADED: camera cam-dead ")) << health.dump();
  EXPECT_NE(health["summary"].get<std::string>().find("2/3 cameras streaming, 0 active alarms"), std::string::npos);
  // The box: both storage directories (on a real file system), clock, temperature, bus.
  const auto& system = status["system"];
  ASSERT_EQ(system["storage"].size(), 2u) << system.dump();
  EXPECT_EQ(system["storage"][0]["role"], "state_dir");
  EXPECT_EQ(system["storage"][0]["path"], (dir_.path() / "state").string());
  EXPECT_GT(system["storage"][0]["total_bytes"].get<uint64_t>(), 0u);
  EXPECT_EQ(system["storage"][1]["role"], "evidence_dir");
  EXPECT_TRUE(system["clock"].contains("synchronized"));
  EXPECT_EQ(system["clock"]["source"], "adjtimex");
  EXPECT_TRUE(system["temperature"].contains("celsius"));
  EXPECT_EQ(status["bus"]["publish"], runJson({"ping"}).firstJson()["publish"]);
  EXPECT_TRUE(status["bus"]["subscribers"].is_number()) << "counted by the publish socket's monitor";
  EXPECT_EQ(run.all().find("hunter2"), std::string::npos) << "a password leaked";

  EXPECT_EQ(runJson({"status", "--check"}).exit_code, 1) << "--check: not OK is exit 1";
  const CtlRun human = runText({"status"});
  ASSERT_FALSE(human.lines.empty());
  EXPECT_TRUE(human.lines[0].starts_with("DEGRADED: camera cam-dead")) << human.all();
  EXPECT_NE(human.all().find("storage"), std::string::npos);
  EXPECT_NE(human.all().find("clock"), std::string::npos);
}

TEST_F(CtlWithGateway, CamerasReportsEveryFieldOfEveryCamera) {
  const auto result = waitForCameraStats();
  ASSERT_EQ(result["cameras"].size(), 3u) << result.dump();
  std::map<std::string, nlohmann::json> by_id;
  for (const auto& c : result["cameras"]) by_id[c["id"]] = c;
  for (const char* id : {"cam-a", "cam-b"}) {
    const auto& c = by_id[id];
    EXPECT_EQ(c["state"], "streaming") << c.dump();
    EXPECT_EQ(c["width"], 160);
    EXPECT_EQ(c["height"], 120);
    EXPECT_EQ(c["gop_frames"], 10) << c.dump();
    EXPECT_NEAR(c["fps"].get<double>(), 10, 3) << c.dump();
    EXPECT_GT(c["bitrate_bps"].get<double>(), 0);
    EXPECT_GT(c["frames"].get<uint64_t>(), 10u);
    EXPECT_GE(c["last_frame_age_ms"].get<int64_t>(), 0);
    EXPECT_LT(c["last_frame_age_ms"].get<int64_t>(), 2000);
    EXPECT_GT(c["buffered_bytes"].get<uint64_t>(), 0u);
    EXPECT_EQ(c["pre_roll_s"], 10.0);
    for (const char* field : {"published", "dropped", "reconnects", "last_error", "keyframes", "gop_s", "buffered_s",
                              "max_buffer_bytes", "alarms", "live_view", "name", "uri"})
      EXPECT_TRUE(c.contains(field)) << field << " missing in " << c.dump();
  }
  EXPECT_EQ(by_id["cam-a"]["codec"], "h264");
  EXPECT_EQ(by_id["cam-b"]["codec"], "h265");
  const auto& dead = by_id["cam-dead"];
  EXPECT_NE(dead["state"], "streaming");
  EXPECT_FALSE(dead["last_error"].get<std::string>().empty()) << dead.dump();
  EXPECT_EQ(dead["uri"], fmt::format("rtsp://admin:***@127.0.0.1:{}/stream", dead_.port()));

  const CtlRun run = runJson({"cameras"});
  EXPECT_EQ(run.exit_code, 1) << "a camera is not streaming";
  EXPECT_EQ(run.all().find("hunter2"), std::string::npos) << "a password leaked: " << run.all();
  const CtlRun human = runText({"cameras"});
  EXPECT_NE(human.all().find("cam-b          streaming  h265"), std::string::npos) << human.all();
  EXPECT_NE(human.all().find("last errors:"), std::string::npos) << human.all();
}

TEST_F(CtlWithGateway, TopPrintsOneTablePerIntervalWhenNotATerminal) {
  const CtlRun tables = runText({"top", "--count", "3", "--interval", "0.3"});
  EXPECT_EQ(tables.exit_code, 0);
  int headers = 0;
  for (const auto& line : tables.lines) headers += line.starts_with("CAMERA ");
  EXPECT_EQ(headers, 3) << tables.all();
  EXPECT_EQ(tables.all().find("\x1b["), std::string::npos) << "no screen control codes into a pipe";

  const CtlRun lines = runJson({"top", "--count", "2", "--interval", "0.3"});
  EXPECT_EQ(lines.exit_code, 0);
  int objects = 0;
  for (const auto& line : lines.lines) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << line;
    EXPECT_EQ(j["cameras"].size(), 3u);
    EXPECT_EQ(j["health"]["verdict"], "degraded");
    ++objects;
  }
  EXPECT_EQ(objects, 2);
}

TEST_F(CtlWithGateway, AlarmsAndTailFollowARaiseAndAClear) {
  ChildProcess tail;
  ASSERT_TRUE(tail.start({VCGATE_CTL_BIN, "-c", config_, "--json", "tail", "--count", "2"}, {}, /*merge_stderr=*/true));
  // The heartbeat proves the subscription is in place before anything is raised.
  ASSERT_TRUE(tail.waitForLine("following alarm events of site ctl-test", 10s));

  const CtlRun raised = runJson({"alarm", "raise", "cam-a", "--level", "2", "--type", "intrusion"});
  ASSERT_EQ(raised.exit_code, 0) << raised.all();
  const std::string id = raised.firstJson()["alarm"]["id"];
  const auto event = tail.waitForLine(R"("event":"raised")", 10s);
  ASSERT_TRUE(event);
  const auto raised_event = nlohmann::json::parse(*event);
  EXPECT_EQ(raised_event["alarm"]["id"], id);
  EXPECT_EQ(raised_event["site"], "ctl-test");

  const CtlRun active = runJson({"alarms"});
  ASSERT_EQ(active.exit_code, 0);
  ASSERT_EQ(active.firstJson()["active"].size(), 1u);
  EXPECT_EQ(active.firstJson()["active"][0]["id"], id);
  EXPECT_TRUE(runJson({"status"}).firstJson()["health"]["summary"].get<std::string>().ends_with("1 active alarm"));

  ASSERT_EQ(runJson({"alarm", "clear", id}).exit_code, 0);
  ASSERT_TRUE(tail.waitForLine(R"("event":"cleared")", 10s));
  EXPECT_EQ(tail.wait(10s), 0) << "tail stops after --count events";

  const auto after = runJson({"alarms", "--recent", "5"}).firstJson();
  EXPECT_TRUE(after["active"].empty());
  ASSERT_EQ(after["recent"].size(), 1u);
  EXPECT_EQ(after["recent"][0]["id"], id);
  const CtlRun unknown = runJson({"alarm", "clear", std::string(32, '0')});
  EXPECT_EQ(unknown.exit_code, 1) << unknown.all();
  EXPECT_EQ(unknown.firstJson()["code"], "unknown_alarm");
}

TEST_F(CtlWithGateway, SnapshotWritesAJpegOfTheLatestKeyframe) {
  for (const char* camera : {"cam-a", "cam-b"}) {
    const std::string file = (dir_.path() / (std::string(camera) + ".jpg")).string();
    const CtlRun run = runJson({"snapshot", camera, file});
    ASSERT_EQ(run.exit_code, 0) << run.all();
    const auto result = run.firstJson();
    EXPECT_EQ(result["width"], 160);
    EXPECT_EQ(result["height"], 120);
    EXPECT_EQ(result["codec"], std::string(camera) == "cam-a" ? "h264" : "h265");
    EXPECT_LT(result["took_ms"].get<double>(), 5000) << "the live view starts at the buffered keyframe";
    std::ifstream in(file, std::ios::binary);
    std::string jpeg((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_GT(jpeg.size(), 100u);
    EXPECT_EQ(jpeg.substr(0, 2), "\xff\xd8") << "JPEG start of image";
    EXPECT_EQ(jpeg.substr(jpeg.size() - 2), "\xff\xd9") << "JPEG end of image";
    EXPECT_EQ(result["bytes"].get<size_t>(), jpeg.size());
  }
  const CtlRun unknown = runJson({"snapshot", "nope", (dir_.path() / "x.jpg").string()});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_EQ(unknown.firstJson()["code"], "unknown_camera");
  const CtlRun dead = runJson({"snapshot", "cam-dead", (dir_.path() / "x.jpg").string()});
  EXPECT_EQ(dead.exit_code, 1);
  EXPECT_EQ(dead.firstJson()["code"], "not_streaming");
  EXPECT_FALSE(fs::exists(dir_.path() / "x.jpg"));
}

TEST_F(CtlWithGateway, LiveAndReload) {
  const CtlRun live = runJson({"live", "cam-a", "--lease", "5"});
  ASSERT_EQ(live.exit_code, 0) << live.all();
  EXPECT_EQ(live.firstJson()["camera"], "cam-a");
  EXPECT_GT(live.firstJson()["until_us"].get<int64_t>(), 0);
  EXPECT_EQ(runJson({"live", "cam-a", "--stop"}).exit_code, 0);
  EXPECT_EQ(runJson({"live", "nope"}).exit_code, 1);

  EXPECT_EQ(runJson({"reload"}).exit_code, 0);
  std::ofstream(config_, std::ios::app) << "  - id: broken\n    uri: test://x?fps=0\n";
  // The broken file still names the control socket: vcgatectl finds the gateway.
  const CtlRun refused = runJson({"reload"});
  EXPECT_EQ(refused.exit_code, 1) << refused.all();
  EXPECT_NE(refused.firstJson().value("message", "").find("vcgate.yaml:"), std::string::npos) << refused.all();
}

TEST_F(CtlWithGateway, BusPingTimesTheRoundTrip) {
  const std::string control = "ipc://" + (dir_.path() / "control.sock").string();
  const CtlRun run = ctl({"--json", "bus", "ping", control, "--count", "3", "--interval-ms", "10"});
  ASSERT_EQ(run.exit_code, 0) << run.all();
  const auto result = run.firstJson();
  EXPECT_EQ(result["sent"], 3);
  EXPECT_EQ(result["answered"], 3);
  EXPECT_LE(result["min_ms"].get<double>(), result["avg_ms"].get<double>());
  EXPECT_LE(result["avg_ms"].get<double>(), result["max_ms"].get<double>());
  EXPECT_EQ(result["replies"][0]["site"], "ctl-test");
}

TEST(Ctl, BusPingTellsRefusedFromSilent) {
  RefusingPort refusing;
  const CtlRun refused = ctl({"--json", "bus", "ping", fmt::format("tcp://127.0.0.1:{}", refusing.port())});
  EXPECT_EQ(refused.exit_code, 3);
  EXPECT_NE(refused.firstJson().value("message", "").find("connection refused"), std::string::npos) << refused.all();

  SilentPort silent;
  const CtlRun mute =
      ctl({"--json", "--timeout-ms", "300", "bus", "ping", fmt::format("tcp://127.0.0.1:{}", silent.port())});
  EXPECT_EQ(mute.exit_code, 3) << mute.all();
  EXPECT_EQ(mute.firstJson()["answered"], 0);
  EXPECT_LT(mute.ms, 8000) << "one unanswered ping is enough to know";

  TempDir dir;
  const CtlRun missing = ctl({"bus", "ping", "ipc://" + (dir.path() / "none.sock").string()}, true);
  EXPECT_EQ(missing.exit_code, 3);
  EXPECT_NE(missing.all().find("does not exist"), std::string::npos) << missing.all();
  EXPECT_EQ(ctl({"bus", "ping", "tcp://127.0.0.1"}).exit_code, 2) << "no port";
}

TEST(Ctl, CheckConfigGivesTheDaemonsDiagnostics) {
  TempDir dir;
  const CtlRun shipped = ctl({"--json", "check-config", std::string(VCGATE_SOURCE_DIR) + "/configs/demo.yaml"});
  EXPECT_EQ(shipped.exit_code, 0);
  EXPECT_TRUE(shipped.firstJson()["valid"].get<bool>());
  EXPECT_EQ(shipped.firstJson()["site"], "demo");
  EXPECT_EQ(shipped.firstJson()["cameras"].size(), 3u);

  const auto bad = dir.write("bad.yaml",
                             "site:\n  id: x\ncameras:\n  - id: a\n    uri: rtsp://u:hunter2@192.0.2.1:99999/\n"
                             "    latency_ms: fast\n");
  const CtlRun run = ctl({"--json", "check-config", bad});
  EXPECT_EQ(run.exit_code, 1);
  const auto result = run.firstJson();
  EXPECT_FALSE(result["valid"].get<bool>());
  ASSERT_EQ(result["problems"].size(), 2u) << result.dump();
  EXPECT_EQ(result["problems"][0]["line"], 5);
  EXPECT_TRUE(result["problems"][0]["text"].get<std::string>().starts_with(bad + ":5:")) << result.dump();
  EXPECT_EQ(run.all().find("hunter2"), std::string::npos);
  const CtlRun human = ctl({"check-config", bad});
  EXPECT_EQ(human.exit_code, 1);
  EXPECT_NE(human.all().find("2 problem(s) found"), std::string::npos) << human.all();
  EXPECT_EQ(ctl({"check-config", (dir.path() / "missing.yaml").string()}).exit_code, 1);
}

// Every file in the bundle, read back after tar extracted it.
std::map<std::string, std::string> extract(const std::string& archive, const TempDir& into) {
  ChildProcess tar;
  EXPECT_TRUE(tar.start({"/usr/bin/env", "tar", "-xzf", archive, "-C", into.path().string()}));
  EXPECT_EQ(tar.wait(30s), 0);
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(into.path())) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    files[entry.path().filename().string()] = text.str();
  }
  return files;
}

TEST_F(CtlWithGateway, BundleHasWhatSupportNeedsAndNoSecret) {
  waitForCameraStats();
  const std::string archive = (dir_.path() / "support.tar.gz").string();
  const CtlRun run = runJson({"bundle", archive});
  ASSERT_EQ(run.exit_code, 0) << run.all();
  const auto result = run.firstJson();
  EXPECT_TRUE(result["gateway_reachable"].get<bool>());
  EXPECT_GE(result["secrets_hidden"].get<int>(), 1);
  TempDir out;
  const auto files = extract(archive, out);
  for (const char* name : {"config.yaml", "versions.txt", "status.json", "cameras.json", "alarms.json", "uname.txt",
                           "disk.txt", "README.txt"})
    EXPECT_TRUE(files.contains(name)) << name << " missing from the bundle";
  for (const auto& [name, text] : files) EXPECT_EQ(text.find("hunter2"), std::string::npos) << "secret in " << name;
  EXPECT_NE(files.at("config.yaml").find("rtsp://admin:***@127.0.0.1"), std::string::npos) << files.at("config.yaml");
  EXPECT_NE(files.at("config.yaml").find("id: cam-a"), std::string::npos) << "the rest of the config is kept";
  EXPECT_NE(files.at("versions.txt").find("vcgated " VCGATE_VERSION), std::string::npos) << files.at("versions.txt");
  EXPECT_NE(files.at("versions.txt").find("GStreamer"), std::string::npos);
  EXPECT_NE(files.at("versions.txt").find("FFmpeg"), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(files.at("status.json"))["site"], "ctl-test");

  // With the gateway down the bundle is still written, and says what is missing.
  daemon_.signal(SIGTERM);
  ASSERT_EQ(daemon_.wait(10s), 0);
  const CtlRun down = runJson({"--timeout-ms", "300", "bundle", archive});
  ASSERT_EQ(down.exit_code, 0) << down.all();
  EXPECT_FALSE(down.firstJson()["gateway_reachable"].get<bool>());
  TempDir out2;
  const auto files2 = extract(archive, out2);
  EXPECT_TRUE(files2.contains("config.yaml"));
  EXPECT_FALSE(files2.contains("status.json"));
  EXPECT_NE(files2.at("README.txt").find("gateway not reachable"), std::string::npos);
  for (const auto& [name, text] : files2) EXPECT_EQ(text.find("hunter2"), std::string::npos) << "secret in " << name;
}

// ---- probe: no gateway ----

using Camsim = testing::CamsimProcess;

TEST(CtlProbe, MeasuresCamsimCamerasOverTcpAndUdp) {
  Camsim camsim({"test://door?width=320&height=240&fps=25&gop=10&bitrate_kbps=500",
                 "test://hall?codec=h265&width=320&height=240&fps=25&gop=25&bitrate_kbps=400"});
  const CtlRun door = ctl({"--json", "probe", camsim.url("door")});
  ASSERT_EQ(door.exit_code, 0) << door.all();
  const auto d = door.firstJson();
  EXPECT_EQ(d["codec"], "h264");
  EXPECT_TRUE(d["supported"].get<bool>());
  EXPECT_EQ(d["transport"], "tcp");
  EXPECT_EQ(d["width"], 320);
  EXPECT_EQ(d["height"], 240);
  EXPECT_EQ(d["gop_frames"], 10) << d.dump();
  EXPECT_NEAR(d["gop_s"].get<double>(), 0.4, 0.05);
  EXPECT_NEAR(d["fps"].get<double>(), 25, 1.5);
  EXPECT_NEAR(d["bitrate_bps"].get<double>(), 500'000, 150'000) << "camsim pads to the requested bitrate";
  EXPECT_TRUE(d["keyframe_decodes"].get<bool>());
  EXPECT_FALSE(d["profile"].get<std::string>().empty());
  EXPECT_GT(d["first_keyframe_ms"].get<double>(), 0);
  EXPECT_LT(d["first_keyframe_ms"].get<double>(), 5000) << "camsim's first client waits for a keyframe";

  const CtlRun hall = ctl({"--json", "probe", "--udp", camsim.url("hall")});
  ASSERT_EQ(hall.exit_code, 0) << hall.all();
  const auto h = hall.firstJson();
  EXPECT_EQ(h["codec"], "hevc");
  EXPECT_EQ(h["transport"], "udp");
  EXPECT_EQ(h["gop_frames"], 25) << h.dump();
  EXPECT_EQ(h["profile"], "Main");

  const CtlRun human = ctl({"probe", camsim.url("door")});
  EXPECT_EQ(human.exit_code, 0);
  EXPECT_NE(human.all().find("OK: the gateway can ingest this stream"), std::string::npos) << human.all();

  const CtlRun missing = ctl({"--json", "probe", camsim.url("nosuch")});
  EXPECT_EQ(missing.exit_code, 1) << missing.all();
  EXPECT_EQ(missing.firstJson()["code"], "not_found");
}

TEST(CtlProbe, WrongOrMissingPasswordIsExit4) {
  UnauthorizedRtspServer server;
  const CtlRun anonymous = ctl({"--json", "probe", fmt::format("rtsp://127.0.0.1:{}/live", server.port())});
  EXPECT_EQ(anonymous.exit_code, 4) << anonymous.all();
  EXPECT_EQ(anonymous.firstJson()["code"], "auth_failed");
  EXPECT_NE(anonymous.firstJson().value("message", "").find("needs a user name and password"), std::string::npos);

  const CtlRun wrong = ctl({"--json", "probe", fmt::format("rtsp://admin:hunter2@127.0.0.1:{}/live", server.port())});
  EXPECT_EQ(wrong.exit_code, 4) << wrong.all();
  EXPECT_NE(wrong.firstJson().value("message", "").find("refused the user name or password"), std::string::npos);
  EXPECT_EQ(wrong.all().find("hunter2"), std::string::npos);
  EXPECT_GE(server.describes(), 2);
}

TEST(CtlProbe, ACameraThatNeverAnswersTimesOutWithExit5) {
  SilentPort silent;
  const CtlRun run =
      ctl({"--json", "probe", "--timeout-ms", "1000", fmt::format("rtsp://127.0.0.1:{}/x", silent.port())});
  EXPECT_EQ(run.exit_code, 5) << run.all();
  EXPECT_EQ(run.firstJson()["code"], "timeout");
  EXPECT_NE(run.firstJson().value("message", "").find("did not answer the RTSP request"), std::string::npos);
  // FFmpeg alone would wait forever (ctl() gives up after 30 s). The bound is
  // loose because starting the process takes seconds under ASan on a loaded
  // machine; the exit code and "timeout" above already say which path ran.
  EXPECT_LT(run.ms, 20000) << "the timeout holds";
}

TEST(CtlProbe, ARefusedPortIsUnreachableWithExit5) {
  RefusingPort refusing;
  const CtlRun run = ctl({"--json", "probe", fmt::format("rtsp://127.0.0.1:{}/x", refusing.port())});
  EXPECT_EQ(run.exit_code, 5) << run.all();
  EXPECT_EQ(run.firstJson()["code"], "unreachable");
  EXPECT_NE(run.firstJson().value("message", "").find("connection refused"), std::string::npos);
  const CtlRun unknown_host = ctl({"--json", "probe", "rtsp://no-such-host.invalid/x"});
  EXPECT_EQ(unknown_host.exit_code, 5) << unknown_host.all();
  EXPECT_NE(unknown_host.firstJson().value("message", "").find("cannot resolve"), std::string::npos);
}

bool makeFile(const std::string& pipeline) {
  ChildProcess gst;
  std::vector<std::string> argv{"/usr/bin/env", "gst-launch-1.0", "-q"};
  std::istringstream words(pipeline);
  for (std::string word; words >> word;) argv.push_back(word);
  if (!gst.start(argv)) return false;
  while (gst.readLine(30s)) {
  }
  return gst.wait(30s) == 0;
}

TEST(CtlProbe, FilesWithAndWithoutVideo) {
  TempDir dir;
  const std::string audio = (dir.path() / "audio.ogg").string();
  ASSERT_TRUE(makeFile("audiotestsrc num-buffers=50 ! opusenc ! oggmux ! filesink location=" + audio));
  const CtlRun no_video = ctl({"--json", "probe", "file://" + audio});
  EXPECT_EQ(no_video.exit_code, 6) << no_video.all();
  EXPECT_EQ(no_video.firstJson()["code"], "no_video");
  EXPECT_NE(no_video.firstJson().value("message", "").find("only audio opus"), std::string::npos) << no_video.all();

  const std::string clip = (dir.path() / "clip.mp4").string();
  ASSERT_TRUE(
      makeFile("videotestsrc num-buffers=60 ! video/x-raw,format=I420,width=320,height=240,framerate=25/1 ! "
               "x264enc key-int-max=15 bframes=0 ! mp4mux ! filesink location=" +
               clip));
  const CtlRun run = ctl({"--json", "probe", "file://" + clip});
  ASSERT_EQ(run.exit_code, 0) << run.all();
  const auto r = run.firstJson();
  EXPECT_EQ(r["transport"], "file");
  EXPECT_EQ(r["codec"], "h264");
  EXPECT_EQ(r["gop_frames"], 15);
  EXPECT_NEAR(r["fps"].get<double>(), 25, 0.5);
  EXPECT_NEAR(r["declared_fps"].get<double>(), 25, 0.5);
  EXPECT_EQ(ctl({"--json", "probe", clip}).exit_code, 0) << "a plain path works too";

  const CtlRun missing = ctl({"--json", "probe", (dir.path() / "none.mp4").string()});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.firstJson()["code"], "not_found");
  EXPECT_EQ(ctl({"probe", "test://lobby"}).exit_code, 2) << "a synthetic camera is not probed";
}

// ---- the redaction bundles rely on ----

TEST(CtlRedaction, HidesEverySecretKeepsEverythingElse) {
  const std::string yaml = R"(site:
  id: north   # old password: oldpass1
cameras:
  - id: a
    uri: rtsp://admin:pa55word@10.0.0.2/live?token=abc123&channel=1
    keyframe_interval: 50
  - {id: b, uri: "rtsp://u:s3cret@h/x", password: flowpass}
security:
  server_secret_key: "Z1x9secretkeydata"
  server_public_key: "PUBLICKEYDATA"
  api_token: tok-777
  clients:
    - public_key: CLIENTPUB
      role: operator
  passwords:
    - first-one
    - second-one
  certificate_key: |
    -----BEGIN PRIVATE KEY-----
    MIIEvQIBADANBg
after: kept
)";
  const auto r = ctl::redactConfig(yaml);
  for (const char* secret : {"pa55word", "abc123", "s3cret", "flowpass", "Z1x9secretkeydata", "tok-777", "first-one",
                             "second-one", "MIIEvQIBADANBg", "oldpass1"})
    EXPECT_EQ(r.text.find(secret), std::string::npos) << secret << " leaked:\n" << r.text;
  for (const char* kept : {"id: north", "keyframe_interval: 50", "PUBLICKEYDATA", "CLIENTPUB", "role: operator",
                           "after: kept", "channel=1", "rtsp://admin:***@10.0.0.2/live"})
    EXPECT_NE(r.text.find(kept), std::string::npos) << kept << " lost:\n" << r.text;
  EXPECT_EQ(std::count(yaml.begin(), yaml.end(), '\n'), std::count(r.text.begin(), r.text.end(), '\n'))
      << "line numbers stay valid";
  // The values found scrub other texts too, whatever quotes them.
  const std::string log = "camera a: 401 for admin/pa55word; token tok-777";
  const std::string scrubbed = ctl::scrubSecrets(log, r.secrets);
  EXPECT_EQ(scrubbed.find("pa55word"), std::string::npos) << scrubbed;
  EXPECT_EQ(scrubbed.find("tok-777"), std::string::npos) << scrubbed;
}

TEST(CtlRedaction, SecretKeyNames) {
  for (const char* key : {"password", "db_passwd", "client_secret", "api_token", "private_key", "secretkey", "key"})
    EXPECT_TRUE(ctl::isSecretKey(key)) << key;
  for (const char* key : {"public_key", "server_public_key", "keyframe_interval", "uri", "id", "name"})
    EXPECT_FALSE(ctl::isSecretKey(key)) << key;
}

}  // namespace
}  // namespace vcgate
