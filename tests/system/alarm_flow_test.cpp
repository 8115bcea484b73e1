// The whole alarm path with real processes, as a technician and the platform
// would see it: vcgated with synthetic cameras, vcgatectl raising and clearing
// an alarm over the control socket, vcgate-sub receiving the events and the
// tagged video and recording it to MP4 files that must decode.
#include <signal.h>

#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tests/support/child_process.h"
#include "tests/support/program_run.h"
#include "tests/support/temp_dir.h"

namespace vcgate {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::ChildProcess;
using testing::TempDir;

std::string gatewayConfig(const TempDir& dir) {
  return fmt::format(R"(site:
  id: flow
logging:
  stats_interval_s: 0
bus:
  publish: tcp://127.0.0.1:*
  control: ipc://{0}/control.sock
storage:
  state_dir: {0}/state
  evidence_dir: {0}/evidence
alarms:
  post_roll_s: 2
camera_defaults:
  buffering:
    pre_roll_s: 2
cameras:
  - id: hall-1
    uri: test://hall-1?width=320&height=240&fps=25&gop=10
  - id: hall-2
    uri: test://hall-2?codec=h265&width=320&height=240&fps=25&gop=10
  - id: quiet
    uri: test://quiet?width=160&height=120&fps=10&gop=10
)",
                     dir.path().string());
}

// Runs vcgatectl to completion and returns its JSON output.
json ctl(const TempDir& dir, std::vector<std::string> args, int expected_exit = 0) {
  std::vector<std::string> argv{VCGATE_CTL_BIN, "-e", "ipc://" + (dir.path() / "control.sock").string(), "--json"};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto run = testing::runToEnd(argv, /*merge_stderr=*/false, 10s);
  EXPECT_EQ(run.exit_code, expected_exit) << run.all();
  return run.firstJson();
}

TEST(AlarmFlow, RaisedByTheTechnicianReceivedAndRecordedByThePlatform) {
  TempDir dir;
  const auto config = dir.write("vcgate.yaml", gatewayConfig(dir));
  ChildProcess daemon;
  ASSERT_TRUE(daemon.start({VCGATE_DAEMON_BIN, "--config", config}, {}, /*merge_stderr=*/true));
  auto publishing = daemon.waitForLine("publishing on tcp://", 20s);
  ASSERT_TRUE(publishing);
  const std::string endpoint = publishing->substr(publishing->find("tcp://"));
  ASSERT_TRUE(daemon.waitForLine("camera hall-2: streaming", 20s));

  ChildProcess sub;
  const auto recordings = dir.path() / "received";
  ASSERT_TRUE(sub.start({VCGATE_SUB_BIN, "--connect", endpoint, "--json", "--record", recordings.string()}));
  ASSERT_TRUE(sub.waitForLine(R"("state":"up")", 10s)) << "the subscriber sees the gateway's heartbeat";
  std::this_thread::sleep_for(2500ms);  // let the pre-alarm buffers hold their 2 s

  const json raised = ctl(dir, {"alarm", "raise", "hall-1", "hall-2", "--level", "1", "--type", "intrusion",
                                "--description", "person on the tracks"});
  ASSERT_TRUE(raised.contains("alarm")) << raised.dump();
  const std::string id = raised["alarm"]["id"];
  auto event = sub.waitForLine(R"("event":"raised")", 10s);
  ASSERT_TRUE(event);
  const json raised_event = json::parse(event->substr(event->find('{')));
  EXPECT_EQ(raised_event["alarm"]["id"], id);
  EXPECT_EQ(raised_event["alarm"]["level"], 1);
  EXPECT_EQ(raised_event["alarm"]["cameras"], json({"hall-1", "hall-2"}));

  std::this_thread::sleep_for(1500ms);
  const json status = ctl(dir, {"status"});
  ASSERT_TRUE(status.contains("cameras")) << status.dump();
  EXPECT_EQ(status["active_alarms"], 1);

  const json cleared = ctl(dir, {"alarm", "clear", id});
  EXPECT_EQ(cleared["alarm"]["state"], "cleared");
  ASSERT_TRUE(sub.waitForLine(R"("event":"cleared")", 10s));
  // The recordings close when the post-roll has ended (the tag disappears, or
  // 5 s after the clear) and are verified by decoding.
  std::vector<json> closed;
  while (closed.size() < 2) {
    auto line = sub.waitForLine(R"("type":"recording")", 20s);
    ASSERT_TRUE(line) << "recordings were not reported";
    closed.push_back(json::parse(*line));
  }
  for (const auto& r : closed) {
    EXPECT_EQ(r["alarm"], id);
    EXPECT_TRUE(r["decodes"].get<bool>()) << r.dump();
    EXPECT_TRUE(r["starts_with_keyframe"].get<bool>()) << r.dump();
    EXPECT_EQ(r["gaps"], 0) << r.dump();
    EXPECT_EQ(r["decode_errors"], 0) << r.dump();
    // 2 s pre-roll + ~1.5 s alarm + 2 s post-roll, at 25 fps: well over 100 frames.
    EXPECT_GT(r["frames"].get<int>(), 100) << r.dump();
    EXPECT_EQ(r["frames_decoded"], r["frames"]) << r.dump();
  }
  EXPECT_NE(closed[0]["camera"], closed[1]["camera"]);

  // Refusals are clear and change nothing.
  const json refused = ctl(dir, {"alarm", "raise", "nowhere", "--level", "1"}, /*expected_exit=*/1);
  EXPECT_EQ(refused["code"], "unknown_camera");

  ASSERT_TRUE(sub.signal(SIGINT));
  auto summary_line = sub.waitForLine(R"("type":"summary")", 10s);
  ASSERT_TRUE(summary_line);
  const json summary = json::parse(*summary_line);
  for (const auto& camera : summary["cameras"]) {
    EXPECT_NE(camera["camera"], "quiet") << "no alarm covered it, so nothing of it was published";
    EXPECT_EQ(camera["gaps"], 0);
  }
  EXPECT_EQ(summary["alarm_events"]["unique"], 2);
  EXPECT_EQ(sub.wait(10s), 0);
  ASSERT_TRUE(daemon.signal(SIGTERM));
  EXPECT_EQ(daemon.wait(10s), 0);
}

// A rule's alarm across a power cut: the door contact rule raised it, the
// gateway was SIGKILLed, and after the restart the contact (still open, so
// the board reports it again) keeps that one alarm instead of raising a
// second; when the door closes the rule clears the restored alarm.
TEST(AlarmFlow, ARuleAlarmStaysOneAlarmAcrossAKillAndRestart) {
  TempDir dir;
  const auto config = dir.write("vcgate.yaml", fmt::format(R"(site:
  id: restart
logging:
  stats_interval_s: 0
bus:
  publish: tcp://127.0.0.1:*
  control: ipc://{0}/control.sock
storage:
  state_dir: {0}/state
  evidence_dir: {0}/evidence
cameras:
  - id: door-cam
    uri: test://door-cam?width=160&height=120&fps=10&gop=10
board:
  kind: simulated
  control_path: {0}/board.fifo
  inputs:
    - id: door-1
      debounce_ms: 10
rules:
  - name: door-open
    when: {{source: input, input: door-1}}
    raise: {{type: door, level: 2}}
    cameras: [door-cam]
    hold_s: 0
)",
                                                           dir.path().string()));
  const auto board = [&](const std::string& command) { std::ofstream(dir.path() / "board.fifo") << command << "\n"; };
  const auto active = [&] { return ctl(dir, {"alarm", "list"})["active"]; };

  ChildProcess daemon;
  ASSERT_TRUE(daemon.start({VCGATE_DAEMON_BIN, "--config", config}, {}, /*merge_stderr=*/true));
  ASSERT_TRUE(daemon.waitForLine("running; SIGHUP reloads", 20s));
  board("press door-1");
  ASSERT_TRUE(daemon.waitForLine("input door-1 active", 10s));
  const json before = active();
  ASSERT_EQ(before.size(), 1u) << before.dump();
  const std::string id = before[0]["id"];
  EXPECT_EQ(before[0]["rule"], "door-open");
  EXPECT_EQ(before[0]["trigger"], "door-1");

  daemon.kill();  // a power cut: no clean shutdown
  ChildProcess again;
  ASSERT_TRUE(again.start({VCGATE_DAEMON_BIN, "--config", config}, {}, /*merge_stderr=*/true));
  ASSERT_TRUE(again.waitForLine("running; SIGHUP reloads", 20s));
  board("press door-1");  // still open: the restarted board reads it again
  ASSERT_TRUE(again.waitForLine("input door-1 active", 10s));
  const json after = active();
  ASSERT_EQ(after.size(), 1u) << "the rule raised a second alarm: " << after.dump();
  EXPECT_EQ(after[0]["id"], id);

  board("release door-1");
  ASSERT_TRUE(again.waitForLine("input door-1 inactive", 10s));
  json list;
  for (int i = 0; i < 50; ++i) {  // the rule clears it at its next tick (every 250 ms)
    list = ctl(dir, {"alarm", "list"});
    if (list["active"].empty()) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(list["active"].empty()) << "the restored alarm was not cleared by its rule: " << list.dump();
  ASSERT_EQ(list["recent"].size(), 1u) << list.dump();
  EXPECT_EQ(list["recent"][0]["id"], id);
  EXPECT_EQ(list["recent"][0]["state"], "cleared");
  ASSERT_TRUE(again.signal(SIGTERM));
  EXPECT_EQ(again.wait(10s), 0);
}

// The demo's scripted incidents (test://...&incident=) in a running gateway:
// a camera whose picture goes black raises a tamper alarm through the
// analytics and a rule, a camera whose video stops raises a video-loss
// alarm, and both clear when the picture is back. Incidents are the last
// 4 s of every 10 s of wall-clock time, so both happen within about 10 s;
// the detection thresholds are short (blackout: 2 s of dark frames;
// video loss: 1 s), and a missed period is simply followed by the next one.
TEST(AlarmFlow, ScriptedIncidentsRaiseAndClearTamperAndVideoLoss) {
  TempDir dir;
  const auto config = dir.write("vcgate.yaml", fmt::format(R"(site:
  id: incidents
logging:
  stats_interval_s: 0
bus:
  publish: tcp://127.0.0.1:*
  control: ipc://{0}/control.sock
storage:
  state_dir: {0}/state
  evidence_dir: {0}/evidence
alarms:
  post_roll_s: 0
  video_loss: {{after_s: 1, level: 2}}
camera_defaults:
  connect_timeout_ms: 500
  stall_timeout_ms: 500
  reconnect: {{initial_ms: 100, max_ms: 300}}
  buffering: {{pre_roll_s: 1}}
cameras:
  - id: covered
    uri: test://covered?width=160&height=120&fps=10&gop=5&pattern=smpte&incident=blackout&incident_every_s=10&incident_s=4
    analytics:
      interval_s: 0.1
      tamper: {{blackout: true, scene_change: false, defocus: false, hold_s: 0}}
  - id: cut
    uri: test://cut?width=160&height=120&fps=10&gop=5&pattern=smpte&incident=outage&incident_every_s=10&incident_s=4
    analytics: {{enabled: false}}
rules:
  - name: lens-covered
    when: {{source: blackout}}
    raise: {{type: tamper, level: 2}}
    hold_s: 0
)",
                                                           dir.path().string()));
  ChildProcess daemon;
  ASSERT_TRUE(daemon.start({VCGATE_DAEMON_BIN, "--config", config}, {}, /*merge_stderr=*/true));
  ASSERT_TRUE(daemon.waitForLine("running; SIGHUP reloads", 20s));

  // Cleared alarms of `type` on `camera` (alarm.list: recent).
  const auto cleared = [](const json& list, const std::string& type, const std::string& camera) {
    json out = json::array();
    for (const auto& a : list.value("recent", json::array()))
      if (a.value("type", "") == type && a.value("cameras", json::array()) == json::array({camera})) out.push_back(a);
    return out;
  };
  json list;
  const auto deadline = std::chrono::steady_clock::now() + 45s;
  while (std::chrono::steady_clock::now() < deadline) {
    list = ctl(dir, {"alarm", "list"});
    if (!cleared(list, "tamper", "covered").empty() && !cleared(list, "video_loss", "cut").empty()) break;
    std::this_thread::sleep_for(250ms);
  }
  const json tamper = cleared(list, "tamper", "covered");
  ASSERT_FALSE(tamper.empty()) << "no tamper alarm was raised and cleared: " << list.dump();
  EXPECT_EQ(tamper[0]["source"], "analytics");
  EXPECT_EQ(tamper[0]["rule"], "lens-covered");
  EXPECT_GT(tamper[0]["cleared_us"].get<int64_t>(), tamper[0]["raised_us"].get<int64_t>());
  const json loss = cleared(list, "video_loss", "cut");
  ASSERT_FALSE(loss.empty()) << "no video-loss alarm was raised and cleared: " << list.dump();
  EXPECT_EQ(loss[0]["source"], "video_loss");
  // Each incident raised only its own kind of alarm.
  for (const auto& a : list["recent"]) {
    EXPECT_FALSE(a["type"] == "tamper" && a["cameras"] != json::array({"covered"})) << a.dump();
    EXPECT_FALSE(a["type"] == "video_loss" && a["cameras"] != json::array({"cut"})) << a.dump();
  }
  ASSERT_TRUE(daemon.signal(SIGTERM));
  EXPECT_EQ(daemon.wait(10s), 0);
}

}  // namespace
}  // namespace vcgate
