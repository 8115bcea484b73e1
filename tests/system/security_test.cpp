// Security as a platform meets it, with the real vcgated, vcgatectl and
// vcgate-sub processes over loopback TCP and keys made by `vcgatectl keygen`:
//   - an allow-listed key receives alarms; an unknown key and a client without
//     CURVE receive nothing, and the gateway counts and logs the denial;
//   - a viewer cannot raise an alarm, an operator can, only an admin reloads;
//   - a secret key file that others may read stops the daemon with the fix;
//   - a viewer cannot clear an alarm (forbidden), an operator can;
//   - oversized and malformed requests are refused or dropped while
//     streaming goes on, and `status` counts the refusals by code.
#include <pwd.h>
#include <sys/stat.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "gateway/bus/command_server.h"
#include "gateway/bus/curve.h"
#include "tests/support/child_process.h"
#include "tests/support/program_run.h"
#include "tests/support/temp_dir.h"

namespace vcgate {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using testing::ChildProcess;
using testing::TempDir;

using testing::ProgramRun;

// Runs a program to its end (bounded), its stderr read with its stdout.
ProgramRun runToEnd(const std::vector<std::string>& argv) { return testing::runToEnd(argv, /*merge_stderr=*/true); }

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// The endpoint in a daemon log line such as "accepting commands on tcp://127.0.0.1:41234".
std::string endpointIn(const std::string& line) {
  const auto at = line.find("tcp://");
  if (at == std::string::npos) return {};
  const auto end = line.find_first_of(" (", at);
  return line.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

class SecureGateway : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : {"gateway", "viewer", "operator", "admin", "stranger"}) {
      const auto made = runToEnd({VCGATE_CTL_BIN, "--json", "keygen", key(name)});
      ASSERT_EQ(made.exit_code, 0) << made.all();
      ASSERT_EQ(made.firstJson().value("public_key", ""), readFile(key(name) + ".key"));
    }
    struct stat st {};
    ASSERT_EQ(::stat((key("gateway") + ".key_secret").c_str(), &st), 0);
    ASSERT_EQ(st.st_mode & 0777, 0600u) << "keygen writes the secret for its owner only";
    control_ = fmt::format("ipc://{}/control.sock", dir_.path().string());
    config_ = dir_.write("vcgate.yaml", fmt::format(R"(site:
  id: secure
bus:
  publish: tcp://127.0.0.1:*
  commands: tcp://127.0.0.1:*
  control: {0}
  heartbeat_s: 0.5
storage:
  state_dir: {1}/state
  evidence_dir: {1}/evidence
metrics:
  textfile: {1}/vcgate.prom
  interval_s: 1
cameras:
  - id: cam-a
    uri: test://a?width=160&height=120&fps=10&gop=10
security:
  curve: true
  secret_key_file: {2}.key_secret
  clients:
    - name: wall
      public_key: "{3}"
      role: viewer
    - name: command-room
      public_key: "{4}"
      role: operator
    - name: maintenance
      public_key: "{5}"
      role: admin
)",
                                                    control_, dir_.path().string(), key("gateway"),
                                                    readFile(key("viewer") + ".key"),
                                                    readFile(key("operator") + ".key"),
                                                    readFile(key("admin") + ".key")));
  }

  std::string key(const std::string& name) const { return (dir_.path() / name).string(); }

  // Starts the daemon and reads its bound TCP endpoints off its log.
  void startDaemon() {
    ASSERT_TRUE(daemon_.start({VCGATE_DAEMON_BIN, "--config", config_}, {}, /*merge_stderr=*/true));
    const auto published = daemon_.waitForLine("publishing on tcp://", 30s);
    ASSERT_TRUE(published) << "the daemon did not start";
    EXPECT_NE(published->find("CURVE, 3 allowed key(s)"), std::string::npos) << *published;
    publish_ = endpointIn(*published);
    const auto commands = daemon_.waitForLine("accepting commands on tcp://", 30s);
    ASSERT_TRUE(commands);
    commands_ = endpointIn(*commands);
  }

  // vcgatectl over the platform's TCP commands endpoint with a client key.
  ProgramRun platformCtl(const std::string& who, std::vector<std::string> args) {
    std::vector<std::string> argv{VCGATE_CTL_BIN,  "--json", "-e", commands_, "--key", key(who) + ".key_secret",
                                  "--server-key", key("gateway") + ".key"};
    argv.insert(argv.end(), args.begin(), args.end());
    return runToEnd(argv);
  }

  // vcgatectl over the local control socket (no key: its file mode guards it).
  ProgramRun localCtl(std::vector<std::string> args) {
    std::vector<std::string> argv{VCGATE_CTL_BIN, "--json", "-e", control_};
    argv.insert(argv.end(), args.begin(), args.end());
    return runToEnd(argv);
  }

  bool startSubscriber(ChildProcess& sub, const std::string& who) {
    std::vector<std::string> argv{VCGATE_SUB_BIN, "--json", "--no-video", "-c", publish_, "--duration", "60"};
    if (!who.empty()) {
      argv.insert(argv.end(), {"--key", key(who) + ".key_secret", "--server-key", key("gateway") + ".key"});
    }
    return sub.start(argv);
  }

  void TearDown() override {
    if (HasFailure())
      for (const auto& line : daemon_.lines()) std::fprintf(stderr, "vcgated| %s\n", line.c_str());
    if (daemon_.running()) {
      daemon_.signal(SIGTERM);
      EXPECT_EQ(daemon_.wait(15s), 0);
    }
  }

  TempDir dir_;
  std::string config_, control_, publish_, commands_;
  ChildProcess daemon_;
};

TEST_F(SecureGateway, OnlyAllowedKeysSeeAlarmsAndOnlyOperatorsRaiseThem) {
  startDaemon();
  ChildProcess allowed, stranger, cleartext;
  ASSERT_TRUE(startSubscriber(allowed, "viewer"));
  ASSERT_TRUE(startSubscriber(stranger, "stranger"));
  ASSERT_TRUE(startSubscriber(cleartext, ""));
  ASSERT_TRUE(allowed.waitForLine("\"type\":\"gateway\"", 30s)) << "the allowed viewer should hear heartbeats";

  // Roles: a viewer may look, not act; an operator acts; only an admin reloads.
  const ProgramRun viewer_raise = platformCtl("viewer", {"alarm", "raise", "cam-a", "--level", "1", "--type", "intrusion"});
  EXPECT_EQ(viewer_raise.exit_code, 1) << viewer_raise.all();
  EXPECT_EQ(viewer_raise.firstJson().value("code", ""), "forbidden") << viewer_raise.all();
  EXPECT_NE(viewer_raise.firstJson().value("message", "").find("client 'wall' is a viewer"), std::string::npos)
      << viewer_raise.all();
  const ProgramRun viewer_status = platformCtl("viewer", {"status"});
  EXPECT_EQ(viewer_status.exit_code, 0) << viewer_status.all();

  const ProgramRun raised = platformCtl("operator", {"alarm", "raise", "cam-a", "--level", "1", "--type", "intrusion"});
  ASSERT_EQ(raised.exit_code, 0) << raised.all();
  const ProgramRun operator_reload = platformCtl("operator", {"reload"});
  EXPECT_EQ(operator_reload.exit_code, 1) << operator_reload.all();
  EXPECT_EQ(operator_reload.firstJson().value("code", ""), "forbidden");
  const ProgramRun admin_reload = platformCtl("admin", {"reload"});
  EXPECT_EQ(admin_reload.exit_code, 0) << admin_reload.all();

  const auto alarm = allowed.waitForLine("\"type\":\"alarm\"", 30s);
  ASSERT_TRUE(alarm) << "the allowed viewer receives the alarm";
  EXPECT_NE(alarm->find("intrusion"), std::string::npos) << *alarm;

  // The others got nothing at all, not even a heartbeat.
  for (ChildProcess* sub : {&stranger, &cleartext}) {
    sub->signal(SIGINT);
    while (sub->readLine(10s)) {
    }
    EXPECT_EQ(sub->wait(10s), 0);
    for (const auto& line : sub->lines()) {
      EXPECT_EQ(line.find("\"type\":\"alarm\""), std::string::npos) << line;
      EXPECT_EQ(line.find("\"type\":\"gateway\""), std::string::npos) << line;
    }
  }

  // The gateway says so: counted in status, logged with the key's first characters.
  const ProgramRun status = localCtl({"status"});
  ASSERT_EQ(status.exit_code, 0) << status.all();
  EXPECT_GE(status.firstJson()["bus"].value("subscribers", -1), 1) << "the allowed viewer is still connected";
  const json security = status.firstJson()["bus"]["security"];
  EXPECT_TRUE(security.value("curve", false));
  EXPECT_GE(security.value("connections_denied", 0), 2) << "the unknown key and the client without CURVE"
                                                       << security.dump();
  EXPECT_GE(security.value("connections_allowed", 0), 3) << security.dump();
  const std::string stranger_key = readFile(key("stranger") + ".key");
  // The last denial is the stranger's key or the clear-text client's failed handshake, whichever retried last.
  EXPECT_FALSE(security.value("last_denied", "").empty()) << security.dump();
  EXPECT_TRUE(daemon_.waitForLine("denied key " + stranger_key.substr(0, 8), 10s));

  // And so do the metrics, for an alert on refused connections and requests.
  const auto metric = [&](const std::string& sample) {  // its value in the textfile, -1 if absent
    std::ifstream in(dir_.path() / "vcgate.prom");
    const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    const auto at = text.find(sample + " ");
    return at == std::string::npos ? -1.0 : std::stod(text.substr(at + sample.size() + 1));
  };
  const std::string denied = "vcgate_bus_connections_denied_total{site=\"secure\"}";
  const std::string forbidden = "vcgate_requests_refused_total{site=\"secure\",code=\"forbidden\"}";
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while ((metric(denied) < 2 || metric(forbidden) < 2) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(100ms);
  EXPECT_GE(metric(denied), 2) << "the unknown key and the client without CURVE";
  EXPECT_GE(metric(forbidden), 2) << "the viewer's raise and the operator's reload";
  EXPECT_GE(metric("vcgate_bus_connections_allowed_total{site=\"secure\"}"), 3);

  // No secret ever reaches the log or a reply.
  for (const char* name : {"gateway", "viewer", "operator", "admin", "stranger"}) {
    const std::string secret = readFile(key(name) + ".key_secret");
    for (const auto& line : daemon_.lines()) EXPECT_EQ(line.find(secret), std::string::npos) << name;
    EXPECT_EQ(status.all().find(secret), std::string::npos) << name;
  }
  allowed.signal(SIGINT);
  EXPECT_EQ(allowed.wait(10s), 0);
}

TEST_F(SecureGateway, AViewerCannotClearAnAlarmAnOperatorCan) {
  startDaemon();
  const ProgramRun raised = platformCtl("operator", {"alarm", "raise", "cam-a", "--level", "2", "--type", "intrusion"});
  ASSERT_EQ(raised.exit_code, 0) << raised.all();
  const std::string id = raised.firstJson()["alarm"].value("id", "");
  ASSERT_EQ(id.size(), 32u) << raised.all();

  const ProgramRun viewer_clear = platformCtl("viewer", {"alarm", "clear", id});
  EXPECT_EQ(viewer_clear.exit_code, 1) << viewer_clear.all();
  EXPECT_EQ(viewer_clear.firstJson().value("code", ""), "forbidden") << viewer_clear.all();
  EXPECT_NE(viewer_clear.firstJson().value("message", "").find("client 'wall' is a viewer; alarm.clear needs the "
                                                                "operator role"),
            std::string::npos)
      << viewer_clear.all();
  const ProgramRun still = localCtl({"alarm", "list"});
  ASSERT_EQ(still.firstJson()["active"].size(), 1u) << "the viewer's clear changed nothing: " << still.all();

  const ProgramRun operator_clear = platformCtl("operator", {"alarm", "clear", id});
  ASSERT_EQ(operator_clear.exit_code, 0) << operator_clear.all();
  EXPECT_EQ(operator_clear.firstJson()["alarm"].value("state", ""), "cleared") << operator_clear.all();
  EXPECT_TRUE(localCtl({"alarm", "list"}).firstJson()["active"].empty());

  // Counted, with who it was.
  const json requests = localCtl({"status"}).firstJson()["bus"]["requests"];
  EXPECT_EQ(requests.value("refused", 0), 1) << requests.dump();
  EXPECT_EQ(requests["refused_by_code"].value("forbidden", 0), 1) << requests.dump();
  EXPECT_EQ(requests.value("last_refused", ""), "forbidden: alarm.clear from client 'wall' (viewer) on commands")
      << requests.dump();
}

TEST_F(SecureGateway, HostileRequestsAreRefusedOrDroppedWhileStreamingGoesOn) {
  startDaemon();
  auto curve = bus::loadCurveClient(key("operator") + ".key_secret", key("gateway") + ".key");
  ASSERT_TRUE(curve.ok()) << curve.error().message;

  // Huge: ZeroMQ drops the peer before the request is buffered; no reply.
  bus::CommandClient huge(commands_, *curve);
  EXPECT_FALSE(huge.request(std::string(2 * 1024 * 1024, '{'), 2000).ok());

  // Over the 64 KiB a request may have: refused unread, with a reason.
  bus::CommandClient client(commands_, *curve);
  auto too_large = client.request(std::string(200 * 1024, '{'), 5000);
  ASSERT_TRUE(too_large.ok()) << too_large.error().message;
  EXPECT_EQ(json::parse(*too_large)["error"].value("code", ""), "too_large") << too_large->substr(0, 200);

  // Malformed and truncated: a coded refusal each.
  for (const std::string bad : {"not json", "{\"v\":1,\"cmd\":", "[1,2,3]", "{\"v\":1}", "{\"v\":1,\"cmd\":7}"}) {
    auto reply = client.request(bad, 5000);
    ASSERT_TRUE(reply.ok()) << bad << ": " << reply.error().message;
    const json parsed = json::parse(*reply, nullptr, false);
    EXPECT_FALSE(parsed.value("ok", true)) << bad;
    EXPECT_EQ(parsed["error"].value("code", ""), "bad_request") << bad;
  }
  EXPECT_EQ(json::parse(*client.request(R"({"v":1,"cmd":"alarm.explode"})", 5000))["error"].value("code", ""),
            "unknown_command");

  // The technician sees them, counted by code, in status and in its text.
  const ProgramRun status = localCtl({"status"});
  ASSERT_EQ(status.exit_code, 0) << status.all();
  const json requests = status.firstJson()["bus"]["requests"];
  EXPECT_EQ(requests.value("refused", 0), 7) << requests.dump();
  EXPECT_EQ(requests["refused_by_code"],
            json({{"bad_request", 5}, {"too_large", 1}, {"unknown_command", 1}}))
      << requests.dump();
  EXPECT_GE(requests.value("answered", 0), 7) << requests.dump();
  EXPECT_EQ(requests.value("last_refused", ""),
            "unknown_command: alarm.explode from client 'command-room' (operator) on commands")
      << requests.dump();
  const ProgramRun text = runToEnd({VCGATE_CTL_BIN, "-e", control_, "status"});
  EXPECT_NE(text.all().find("requests  "), std::string::npos) << text.all();
  EXPECT_NE(text.all().find("7 refused (bad_request 5, too_large 1, unknown_command 1); last: unknown_command: "
                            "alarm.explode from client 'command-room' (operator) on commands"),
            std::string::npos)
      << text.all();

  // The camera never noticed.
  const ProgramRun cameras = localCtl({"cameras"});
  ASSERT_EQ(cameras.exit_code, 0) << cameras.all();
  EXPECT_NE(cameras.all().find("streaming"), std::string::npos) << cameras.all();
  auto ping = client.request(R"({"v":1,"cmd":"ping"})", 5000);
  ASSERT_TRUE(ping.ok());
  EXPECT_TRUE(json::parse(*ping).value("ok", false));
}

TEST_F(SecureGateway, ASecretKeyFileOthersCanReadStopsTheDaemonWithTheFix) {
  const std::string secret = key("gateway") + ".key_secret";
  ASSERT_EQ(::chmod(secret.c_str(), 0644), 0);
  ASSERT_TRUE(daemon_.start({VCGATE_DAEMON_BIN, "--config", config_}, {}, /*merge_stderr=*/true));
  EXPECT_TRUE(daemon_.waitForLine("chmod 600 " + secret, 30s));
  EXPECT_EQ(daemon_.wait(30s), 3);
  for (const auto& line : daemon_.lines()) EXPECT_EQ(line.find(readFile(secret)), std::string::npos);
}

// security.user: started as root, the daemon runs as that user once its
// sockets are open, and can still write its journal and clips (handed over).
// Started as anyone else, it says it cannot switch instead of running as root
// by surprise.
TEST_F(SecureGateway, StartedAsRootItRunsAsTheConfiguredUser) {
  std::ofstream(config_, std::ios::app) << "  user: nobody\n";
  const passwd* nobody = ::getpwnam("nobody");
  ASSERT_NE(nobody, nullptr);
  // The daemon's files are in this test's directory, which only root may enter.
  ASSERT_EQ(::chmod(dir_.path().c_str(), 0755), 0);
  ASSERT_TRUE(daemon_.start({VCGATE_DAEMON_BIN, "--config", config_}, {}, /*merge_stderr=*/true));
  if (::geteuid() != 0) {
    EXPECT_TRUE(daemon_.waitForLine("cannot switch", 30s));
    EXPECT_EQ(daemon_.wait(30s), 3);
    return;
  }
  ASSERT_TRUE(daemon_.waitForLine("running as user nobody", 30s));
  std::ifstream status(fmt::format("/proc/{}/status", daemon_.pid()));
  std::string line, uid_line;
  while (std::getline(status, line))
    if (line.starts_with("Uid:")) uid_line = line;
  EXPECT_EQ(uid_line, fmt::format("Uid:\t{0}\t{0}\t{0}\t{0}", nobody->pw_uid)) << "real, effective, saved, fs";
  struct stat st {};
  ASSERT_EQ(::stat((dir_.path() / "state" / "journal").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, nobody->pw_uid) << "the journal was handed over";
  // And it still works as that user: an alarm is journaled and recorded.
  const ProgramRun raised = localCtl({"alarm", "raise", "cam-a", "--level", "2"});
  EXPECT_EQ(raised.exit_code, 0) << raised.all();
  EXPECT_TRUE(daemon_.waitForLine("evidence: recording alarm", 30s));
}

}  // namespace
}  // namespace vcgate
