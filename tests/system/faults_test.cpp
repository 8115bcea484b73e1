// "Nothing lost" (issue 5) under faults, with real processes: the real
// vcgated with its own config, vcgate-camsim where an RTSP camera is needed,
// the real vcgate-sub or the bus::Subscriber class on the platform side.
// Every test says what it proves, and prints one FAULT-MATRIX line (alarms
// raised vs delivered) that docs/benchmarks.md quotes.
//
// The disk-full test mounts a tmpfs in a private mount namespace (unshare -m)
// and the slow-link test builds a network namespace with a veth pair shaped
// by tc tbf: both need root, and fail (not skip) with a clear message without it.
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "gateway/bus/command_server.h"
#include "gateway/bus/subscriber.h"
#include "gateway/evidence/mp4_writer.h"
#include "gateway/journal/journal.h"
#include "tests/support/bus_receiver.h"
#include "tests/support/camsim_process.h"
#include "tests/support/child_process.h"
#include "tests/support/program_run.h"
#include "tests/support/temp_dir.h"
#include "tests/support/video_check.h"

namespace vcgate {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using testing::ChildProcess;
using testing::TempDir;
using testing::waitUntil;

// ---- helpers ----

std::string readFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// One line per fault for docs/benchmarks.md.
void matrix(const std::string& fault, size_t raised, size_t delivered, const std::string& notes) {
  std::printf("FAULT-MATRIX | %s | %zu | %zu | %s |\n", fault.c_str(), raised, delivered, notes.c_str());
  std::fflush(stdout);
}

// vcgate-camsim serving synthetic RTSP cameras (4 s loops); commands on its stdin.
class Camsim : public testing::CamsimProcess {
 public:
  Camsim(const std::vector<std::string>& streams, const std::string& address = "127.0.0.1")
      : CamsimProcess(streams, {.clip_seconds = 4, .address = address, .log_level = "warn"}) {}
};

// The gateway: vcgated started through /bin/sh so that its log goes to a file
// (a pipe nobody reads would stall it) and so that a test can put it in a
// namespace (`wrapper` is a shell prefix such as "unshare -m ... sh -c").
class Gateway {
 public:
  Gateway(const TempDir& dir, std::string config_text, std::string name = "gw")
      : dir_(dir), config_(dir.write(name + ".yaml", std::move(config_text))), log_(dir.path() / (name + ".log")),
        control_("ipc://" + (dir.path() / "control.sock").string()) {}

  // `setup` runs in the shell before vcgated replaces it (exec): same pid.
  bool start(const std::string& setup = "", const std::string& wrapper = "") {
    const std::string script = fmt::format("exec 2>>{}; {}exec {} --config {}", log_.string(),
                                           setup.empty() ? "" : setup + " && ", VCGATE_DAEMON_BIN, config_);
    std::vector<std::string> argv;
    if (wrapper.empty()) {
      argv = {"/bin/sh", "-c", script};
    } else {
      std::istringstream words(wrapper);
      for (std::string w; words >> w;) argv.push_back(w);
      argv.insert(argv.end(), {"/bin/sh", "-c", script});
    }
    if (!process_.start(argv)) return false;
    // Up when the control socket answers a ping with the bound publish endpoint.
    return waitUntil(
        [&] {
          auto reply = command("ping", json::object(), 500);
          if (!reply.contains("publish") || reply["publish"].empty()) return false;
          endpoint_ = reply["publish"][0].get<std::string>();
          return true;
        },
        30s);
  }
  // The result of a command, or {"error": ...}.
  json command(const std::string& cmd, json args = json::object(), int timeout_ms = 5000) {
    bus::CommandClient client(control_);
    const json request = {{"v", 1}, {"id", "t"}, {"cmd", cmd}, {"args", std::move(args)}};
    auto reply = client.request(request.dump(), timeout_ms);
    if (!reply) return json{{"error", reply.error().message}};
    auto parsed = json::parse(*reply, nullptr, false);
    if (!parsed.is_object()) return json{{"error", "unparsable reply"}};
    if (!parsed.value("ok", false)) return json{{"error", parsed.value("error", json())}};
    return parsed["result"];
  }
  std::string raise(const std::vector<std::string>& cameras, int level) {
    const json r = command("alarm.raise", {{"cameras", cameras}, {"level", level}, {"type", "intrusion"}});
    EXPECT_TRUE(r.contains("alarm")) << r.dump();
    return r.contains("alarm") ? r["alarm"]["id"].get<std::string>() : std::string();
  }
  void clear(const std::string& id) {
    const json r = command("alarm.clear", {{"id", id}});
    EXPECT_TRUE(r.contains("alarm")) << r.dump();
  }
  bool camerasStreaming(std::chrono::milliseconds timeout) {
    return waitUntil(
        [&] {
          const json s = command("status");
          if (!s.contains("cameras")) return false;
          for (const auto& c : s["cameras"])
            if (c["state"] != "streaming") return false;
          return true;
        },
        timeout);
  }
  // Alarms the gateway raised since it started: active plus recent.
  std::set<std::string> alarmIds() {
    const json list = command("alarm.list");
    std::set<std::string> ids;
    for (const char* key : {"active", "recent"})
      if (list.contains(key))
        for (const auto& a : list[key]) ids.insert(a["id"].get<std::string>());
    return ids;
  }
  std::string log() const { return readFile(log_); }
  bool logHas(const std::string& needle) const { return log().find(needle) != std::string::npos; }
  bool waitForLog(const std::string& needle, std::chrono::milliseconds timeout) const {
    return waitUntil([&] { return logHas(needle); }, timeout);
  }
  const std::string& endpoint() const { return endpoint_; }
  const std::string& control() const { return control_; }
  ChildProcess& process() { return process_; }
  bool stop() { return process_.signal(SIGTERM) && process_.wait(15s) == 0; }

 private:
  const TempDir& dir_;
  std::string config_;
  fs::path log_;
  std::string control_;
  std::string endpoint_;
  ChildProcess process_;
};

std::string baseConfig(const TempDir& dir, const std::string& publish, const std::string& extra,
                       const std::string& cameras) {
  return fmt::format(R"(site:
  id: faults
logging:
  stats_interval_s: 0
bus:
  publish: {1}
  control: ipc://{0}/control.sock
  heartbeat_s: 0.5
storage:
  state_dir: {0}/state
  evidence_dir: {0}/evidence
alarms:
  post_roll_s: 1
  video_loss:
    enabled: false
camera_defaults:
  buffering:
    pre_roll_s: 1
  reconnect:
    initial_ms: 200
    max_ms: 1000
{2}
cameras:
{3})",
                     dir.path().string(), publish, extra, cameras);
}

// The platform side in this process: every alarm event, heartbeat and
// (optionally) video message the gateway publishes.
class Platform : public testing::BusReceiver {
 public:
  explicit Platform(const std::string& endpoint, bool video = true)
      : BusReceiver(endpoint, {.prefixes = video ? std::vector<std::string>{""}
                                                 : std::vector<std::string>{"alarm/", "status/"}}) {}
  bool waitConnected() const { return BusReceiver::waitConnected(10s); }
};

// Each stretch of a stream between discontinuities starts at a keyframe and
// decodes without an error.
void expectSegmentsDecode(const std::vector<bus::VideoMessage>& video, const std::string& what) {
  ASSERT_FALSE(video.empty()) << what;
  std::unique_ptr<testing::Decoder> decoder;
  for (size_t i = 0; i < video.size(); ++i) {
    const auto& h = video[i].header;
    if (!decoder || (h.flags & bus::kFlagDiscontinuity)) {
      EXPECT_TRUE(h.keyframe()) << what << ": a segment starts at unit " << i << " without a keyframe";
      if (decoder) {
        EXPECT_EQ(decoder->errors(), 0) << what;
      }
      decoder = std::make_unique<testing::Decoder>(h.codec);
    }
    EXPECT_TRUE(decoder->decode(video[i].payload)) << what << ": unit " << i;
  }
  EXPECT_EQ(decoder->errors(), 0) << what;
}

// The clips of one alarm: evidence/<day>/<alarm>/*.mp4 under `root`.
std::vector<fs::path> clipsOf(const fs::path& evidence, const std::string& alarm) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& day : fs::directory_iterator(evidence, ec)) {
    const fs::path dir = day.path() / alarm;
    if (!fs::is_directory(dir, ec)) continue;
    for (const auto& f : fs::directory_iterator(dir, ec))
      if (f.path().extension() == ".mp4") out.push_back(f.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// ---- the tests ----

// Proves: a gateway killed with SIGKILL in the middle of an alarm loses
// neither the alarm nor its evidence. After the restart the unacknowledged
// event is published again with its journal id, the alarm covers its camera
// again, the clip cut by the kill plays (repaired, marked interrupted) and the
// recording that resumes goes to a second part (<camera>.2.mp4) instead of
// overwriting the first.
TEST(Faults, SigkillDuringAnAlarmResendsUnacknowledgedEventsAndTheClipPlays) {
  TempDir dir;
  Gateway gw(dir, baseConfig(dir, "tcp://127.0.0.1:*", "",
                             "  - id: hall\n    uri: test://hall?width=320&height=240&fps=25&gop=10\n"));
  ASSERT_TRUE(gw.start()) << gw.log();
  ASSERT_TRUE(gw.camerasStreaming(20s)) << gw.log();
  std::string alarm;
  {
    Platform platform(gw.endpoint());
    ASSERT_TRUE(platform.waitConnected());
    std::this_thread::sleep_for(1200ms);  // the 1 s pre-roll
    alarm = gw.raise({"hall"}, 1);
    ASSERT_TRUE(waitUntil([&] { return platform.hasEvent(alarm, alarm::AlarmEventKind::kRaised); }, 10s));
    // Let the clip get a few fragments (one per 0.4 s GOP), then pull the plug.
    ASSERT_TRUE(waitUntil(
        [&] {
          const auto clips = clipsOf(dir.path() / "evidence", alarm);
          std::error_code ec;
          return clips.size() == 1 && fs::file_size(clips[0], ec) > 30'000;
        },
        15s))
        << gw.log();
    gw.process().kill();
  }
  const auto first = clipsOf(dir.path() / "evidence", alarm);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].filename(), "hall.mp4");
  const auto size_at_kill = fs::file_size(first[0]);

  // The restart: what was not acknowledged goes out again at once.
  ASSERT_TRUE(gw.start()) << gw.log();
  Platform platform(gw.endpoint());
  ASSERT_TRUE(waitUntil([&] { return platform.hasEvent(alarm, alarm::AlarmEventKind::kRaised); }, 15s))
      << "the raised event was not re-sent after the restart\n"
      << gw.log();
  const auto resent = platform.events().front();
  EXPECT_EQ(resent.event_id, 1u) << "the same journal id as before the kill";
  EXPECT_GE(resent.redelivery, 1u);
  EXPECT_TRUE(gw.logHas("was left open by a crash")) << gw.log();
  EXPECT_EQ(gw.command("status")["active_alarms"], 1) << "the alarm is active again";

  // The alarm covers the camera again and its recording goes on in part 2.
  ASSERT_TRUE(waitUntil([&] { return clipsOf(dir.path() / "evidence", alarm).size() == 2; }, 15s)) << gw.log();
  const auto parts = clipsOf(dir.path() / "evidence", alarm);
  EXPECT_EQ(parts[0].filename(), "hall.2.mp4");
  EXPECT_EQ(parts[1].filename(), "hall.mp4");
  EXPECT_GE(fs::file_size(parts[1]), size_at_kill * 9 / 10) << "part 1 was kept (at most a torn fragment cut off)";
  const auto cut = evidence::verifyPlayable(parts[1].string());
  EXPECT_TRUE(cut.ok) << cut.error;
  EXPECT_TRUE(cut.starts_with_keyframe);
  EXPECT_GT(cut.frames_decoded, 20) << "about 2 s of video were recorded before the kill";
  const json sidecar = json::parse(readFile(fs::path(parts[1]).replace_extension(".json")), nullptr, false);
  EXPECT_EQ(sidecar.value("state", ""), "interrupted") << sidecar.dump();

  std::this_thread::sleep_for(1000ms);
  gw.clear(alarm);
  ASSERT_TRUE(waitUntil([&] { return platform.hasEvent(alarm, alarm::AlarmEventKind::kCleared); }, 10s));
  const auto ids = platform.eventIds();
  EXPECT_EQ(ids, (std::set<uint64_t>{1, 2}));
  EXPECT_EQ(gw.command("event.ack", {{"event_ids", {1, 2}}})["acknowledged"], 2);
  std::this_thread::sleep_for(1500ms);  // the post-roll, so that part 2 closes as complete
  ASSERT_TRUE(gw.stop()) << gw.log();
  const auto second = evidence::verifyPlayable(parts[0].string());
  EXPECT_TRUE(second.ok) << second.error;
  EXPECT_GT(second.frames_decoded, 25);
  matrix("vcgated SIGKILLed during an alarm, restarted", 1, platform.raisedAlarms().size(),
         fmt::format("events 2/2 (raised re-sent after restart, redelivery {}); clip part 1 plays ({} frames, "
                     "interrupted), part 2 hall.2.mp4 plays ({} frames)",
                     resent.redelivery, cut.frames_decoded, second.frames_decoded));
}

// Runs vcgate-sub with `args` and returns its JSON lines once it exits after SIGINT.
struct SubRun {
  std::vector<json> alarms;
  json summary;
};
SubRun stopSub(ChildProcess& sub) {
  SubRun run;
  EXPECT_TRUE(sub.signal(SIGINT));
  auto line = sub.waitForLine(R"("type":"summary")", 30s);
  EXPECT_TRUE(line) << "vcgate-sub printed no summary";
  EXPECT_EQ(sub.wait(10s), 0);
  for (const auto& l : sub.lines()) {
    auto j = json::parse(l, nullptr, false);
    if (!j.is_object()) continue;
    if (j.value("type", "") == "alarm") run.alarms.push_back(j);
    if (j.value("type", "") == "summary") run.summary = j;
  }
  return run;
}

// Proves: alarms raised while the platform's subscriber is down all reach it
// once it is back, and each is handled once at the application layer although
// the gateway publishes them several times (at-least-once on the wire,
// de-duplicated by vcgate-sub). Acknowledging them (vcgate-sub --ack) drains
// the journal backlog, so the re-sending stops.
TEST(Faults, SubscriberDownWhileAlarmsHappenGetsEveryEventOnceAfterReconnecting) {
  TempDir dir;
  Gateway gw(dir, baseConfig(dir, "tcp://127.0.0.1:*", "",
                             "  - id: a\n    uri: test://a?width=160&height=120&fps=10&gop=10\n"
                             "  - id: b\n    uri: test://b?width=160&height=120&fps=10&gop=10\n"));
  ASSERT_TRUE(gw.start()) << gw.log();
  {
    ChildProcess first;
    ASSERT_TRUE(first.start({VCGATE_SUB_BIN, "--connect", gw.endpoint(), "--json", "--no-video"}));
    ASSERT_TRUE(first.waitForLine(R"("state":"up")", 10s));
    first.kill();  // the platform goes down
  }
  const std::string a1 = gw.raise({"a"}, 1);
  const std::string a2 = gw.raise({"b"}, 2);
  const std::string a3 = gw.raise({"a", "b"}, 3);
  gw.clear(a1);
  gw.clear(a3);
  const size_t kEvents = 5;
  EXPECT_EQ(gw.command("status")["journal_backlog"], kEvents);

  // Back, without acknowledging: it sees re-sends (the gateway does not know
  // it got them) and still prints every event once.
  ChildProcess again;
  ASSERT_TRUE(again.start({VCGATE_SUB_BIN, "--connect", gw.endpoint(), "--json", "--no-video"}));
  ASSERT_TRUE(waitUntil(
      [&] {
        while (again.readLine(10ms)) {
        }
        size_t alarms = 0;
        for (const auto& l : again.lines()) alarms += l.find(R"("type":"alarm")") != std::string::npos;
        return alarms >= kEvents;
      },
      20s));
  // The re-sends that follow are duplicates. A second listener, started
  // now, sees the next re-send of every event; vcgate-sub, connected before
  // it, got those too.
  {
    Platform witness(gw.endpoint(), /*video=*/false);
    ASSERT_TRUE(waitUntil([&] { return witness.eventIds().size() == kEvents; }, 20s))
        << "the gateway did not re-send the unacknowledged events";
  }
  const SubRun run = stopSub(again);
  std::set<std::pair<std::string, std::string>> seen;
  for (const auto& e : run.alarms) {
    EXPECT_TRUE(seen.emplace(e["alarm"]["id"].get<std::string>(), e["event"].get<std::string>()).second)
        << "printed twice: " << e.dump();
  }
  EXPECT_EQ(run.alarms.size(), kEvents);
  EXPECT_EQ(run.summary["alarm_events"]["unique"], kEvents);
  const int duplicates = run.summary["alarm_events"]["duplicates"].get<int>();
  EXPECT_GT(duplicates, 0) << "the gateway re-sent unacknowledged events: " << run.summary.dump();
  for (const auto& id : {a1, a2, a3}) EXPECT_TRUE(seen.contains({id, "raised"})) << id;
  EXPECT_TRUE(seen.contains({a1, "cleared"}));
  EXPECT_TRUE(seen.contains({a3, "cleared"}));

  // With --ack the backlog drains and the re-sending stops.
  ChildProcess acking;
  ASSERT_TRUE(acking.start({VCGATE_SUB_BIN, "--connect", gw.endpoint(), "--json", "--no-video", "--ack", gw.control()}));
  ASSERT_TRUE(waitUntil([&] { return gw.command("status").value("journal_backlog", 99) == 0; }, 20s))
      << "the acknowledgements did not drain the backlog";
  const SubRun acked = stopSub(acking);
  EXPECT_EQ(acked.summary["alarm_events"]["unique"], kEvents);
  ASSERT_TRUE(gw.stop()) << gw.log();
  matrix("subscriber down while 3 alarms were raised and 2 cleared", 3, seen.size() == kEvents ? 3 : 0,
         fmt::format("events {}/{} after reconnecting, each printed once ({} duplicate re-sends dropped by "
                     "vcgate-sub); with --ack the backlog drained to 0",
                     seen.size(), kEvents, duplicates));
}

// Proves: a full evidence disk (a 2 MiB tmpfs in a private mount namespace,
// the journal on it too) produces clear errors in the log, the oldest clip is
// deleted to make room, the journal keeps every event intact (its segment was
// reserved when it was created), and alarm events and streaming carry on.
TEST(Faults, FullDiskPrunesOldestClipsKeepsTheJournalAndStreamingGoesOn) {
  ASSERT_EQ(::geteuid(), 0u) << "this test mounts a tmpfs in a private mount namespace (unshare -m): run it as root";
  TempDir dir;
  Camsim camsim({"test://door?width=320&height=240&fps=25&gop=25&bitrate_kbps=2000"});
  const fs::path disk = dir.path() / "disk";
  fs::create_directories(disk);
  std::string config = baseConfig(dir, "tcp://127.0.0.1:*", R"(journal:
  segment_bytes: 64KiB
evidence:
  prune_on_error_bytes: 512KiB
  sync_fragments: false
)",
                                  fmt::format("  - id: door\n    uri: {}\n", camsim.url("door")));
  // State and evidence both on the small disk.
  const std::string root = dir.path().string();
  config.replace(config.find(root + "/state"), root.size() + 6, disk.string() + "/state");
  config.replace(config.find(root + "/evidence"), root.size() + 9, disk.string() + "/evidence");
  Gateway gw(dir, config);
  const std::string mount = fmt::format("mount -t tmpfs -o size=2m vcgate-faults {}", disk.string());
  ASSERT_TRUE(gw.start(mount, "/usr/bin/unshare -m --propagation private")) << "unshare -m and mount -t tmpfs are needed:\n"
                                                                    << gw.log();
  // The daemon's view of its private mount.
  const fs::path seen = fs::path(fmt::format("/proc/{}/root", gw.process().pid())) / disk.relative_path();
  ASSERT_TRUE(fs::exists(seen / "state" / "journal")) << gw.log();
  ASSERT_TRUE(gw.camerasStreaming(30s)) << gw.log();
  Platform platform(gw.endpoint());
  ASSERT_TRUE(platform.waitConnected());
  std::this_thread::sleep_for(1200ms);

  // Alarm A: about 1 MB of clip (1 s pre-roll, 2 s, 1 s post-roll at 2 Mbit/s).
  const std::string a = gw.raise({"door"}, 2);
  std::this_thread::sleep_for(2000ms);
  gw.clear(a);
  ASSERT_TRUE(gw.waitForLog("evidence: clip", 10s)) << gw.log();
  ASSERT_EQ(clipsOf(seen / "evidence", a).size(), 1u);
  // Alarm B fills the disk.
  const std::string b = gw.raise({"door"}, 1);
  ASSERT_TRUE(gw.waitForLog("no space left on device", 30s)) << "no clear disk-full error\n" << gw.log();
  const auto full_at_us = std::chrono::duration_cast<std::chrono::microseconds>(
                              std::chrono::system_clock::now().time_since_epoch()).count();
  ASSERT_TRUE(gw.waitForLog("to make room", 10s)) << gw.log();
  EXPECT_TRUE(clipsOf(seen / "evidence", a).empty()) << "the oldest clip (alarm A) was deleted";

  // Events go on, journaled: alarm C is raised on the full disk.
  const std::string c = gw.raise({"door"}, 3);
  ASSERT_TRUE(waitUntil([&] { return platform.hasEvent(c, alarm::AlarmEventKind::kRaised); }, 10s));
  for (const auto& e : platform.events())
    if (e.event.alarm.id.hex() == c) {
      EXPECT_GT(e.event_id, 0u) << "journaled on the full disk";
    }
  // Streaming goes on: B's video keeps arriving after the disk filled.
  ASSERT_TRUE(waitUntil(
      [&] {
        size_t after = 0;
        for (const auto& v : platform.video("door")) after += v.header.capture_us > full_at_us;
        return after >= 50;
      },
      15s));
  gw.clear(b);
  gw.clear(c);
  ASSERT_TRUE(waitUntil([&] { return platform.hasEvent(c, alarm::AlarmEventKind::kCleared); }, 10s));
  const size_t kEvents = 6;  // A raised, cleared; B raised; C raised; B, C cleared
  EXPECT_EQ(platform.eventIds().size(), kEvents);

  // What B recorded still plays, though its writing failed (part 1, closed as
  // failed with its half-written fragment cut off), once its post-roll is over.
  std::this_thread::sleep_for(2500ms);
  const auto b_clips = clipsOf(seen / "evidence", b);
  ASSERT_FALSE(b_clips.empty()) << gw.log();
  EXPECT_EQ(b_clips.back().filename(), "door.mp4");
  const auto b_played = evidence::verifyPlayable(b_clips.back().string());
  EXPECT_TRUE(b_played.ok) << b_clips.back() << ": " << b_played.error;
  EXPECT_GT(b_played.frames_decoded, 0);

  // The journal, copied out of the mount while the daemon runs (every record
  // is fdatasync'ed when appended), recovers every event without damage.
  const fs::path copy = dir.path() / "journal-copy";
  fs::copy(seen / "state" / "journal", copy);
  fs::remove(copy / "journal.lock");
  auto journal = journal::Journal::open(copy.string());
  ASSERT_TRUE(journal.ok()) << journal.error().message;
  const auto& report = (*journal)->recovery();
  EXPECT_TRUE(report.corrupt.empty()) << report.summary();
  EXPECT_EQ((*journal)->backlogSize(), kEvents) << report.summary();
  const std::string log = gw.log();
  ASSERT_TRUE(gw.stop()) << log;
  matrix("evidence disk full (2 MiB tmpfs, journal on it)", 3, platform.raisedAlarms().size(),
         fmt::format("events {}/{}; oldest clip pruned; journal recovered {} events, 0 damaged; video went on",
                     platform.eventIds().size(), kEvents, (*journal)->backlogSize()));
}

// Proves: one camera that disappears and comes back every 2 s disturbs
// neither the other camera's stream (complete: no gap, no lost frame) nor the
// delivery of alarms, including the video-loss alarms the flapping raises
// itself; the flapping camera's video resumes decodable at a keyframe each time.
TEST(Faults, FlappingCameraDisturbsNeitherTheOtherCameraNorAlarmDelivery) {
  TempDir dir;
  Camsim camsim({"test://flappy?width=320&height=240&fps=25&gop=10&bitrate_kbps=400",
                 "test://steady?width=320&height=240&fps=25&gop=10&bitrate_kbps=400"});
  std::string config = baseConfig(dir, "tcp://127.0.0.1:*", "",
                                  fmt::format("  - id: flappy\n    uri: {}\n  - id: steady\n    uri: {}\n",
                                              camsim.url("flappy"), camsim.url("steady")));
  config.replace(config.find("    enabled: false"), 18, "    enabled: true\n    after_s: 1\n    level: 2");
  Gateway gw(dir, config);
  ASSERT_TRUE(gw.start()) << gw.log();
  ASSERT_TRUE(gw.camerasStreaming(30s)) << gw.log();
  Platform platform(gw.endpoint());
  ASSERT_TRUE(platform.waitConnected());
  std::this_thread::sleep_for(1200ms);
  const std::string alarm = gw.raise({"flappy", "steady"}, 1);
  for (int i = 0; i < 3; ++i) {
    std::this_thread::sleep_for(2000ms);
    ASSERT_TRUE(camsim.command("stop flappy"));
    std::this_thread::sleep_for(2000ms);
    ASSERT_TRUE(camsim.command("resume flappy"));
  }
  ASSERT_TRUE(gw.camerasStreaming(15s)) << gw.log();
  std::this_thread::sleep_for(1500ms);
  gw.clear(alarm);
  std::this_thread::sleep_for(1500ms);  // post-roll

  // The steady camera: one segment, every frame (25 fps: 40 ms apart), decodable.
  const auto steady = platform.video("steady");
  ASSERT_GT(steady.size(), 300u) << "1 s pre-roll + about 14 s at 25 fps";
  size_t missing = 0;
  for (size_t i = 1; i < steady.size(); ++i) {
    EXPECT_EQ(steady[i].header.seq, steady[i - 1].header.seq + 1);
    EXPECT_FALSE(steady[i].header.flags & bus::kFlagDiscontinuity) << i;
    const int64_t step = steady[i].header.dts_ns - steady[i - 1].header.dts_ns;
    if (step > 60'000'000) missing += static_cast<size_t>(step / 40'000'000) - 1;
  }
  EXPECT_EQ(missing, 0u) << "frames of the steady camera went missing";
  expectSegmentsDecode(steady, "steady");
  // The flapping camera: several segments, each decodable from its keyframe.
  const auto flappy = platform.video("flappy");
  size_t segments = 0;
  for (const auto& v : flappy) segments += (v.header.flags & bus::kFlagDiscontinuity) != 0;
  EXPECT_GE(segments, 3u) << "it came back after each stop";
  expectSegmentsDecode(flappy, "flappy");

  // Alarms: the manual one and every video-loss alarm of the flapping, all delivered.
  const auto raised = gw.alarmIds();
  EXPECT_GE(raised.size(), 2u) << "the flapping raised video-loss alarms";
  ASSERT_TRUE(waitUntil([&] { return platform.raisedAlarms() == raised; }, 10s));
  size_t backlog = 0;
  EXPECT_TRUE(waitUntil(
      [&] {
        backlog = gw.command("status")["journal_backlog"].get<size_t>();
        return platform.eventIds().size() == backlog;
      },
      10s))
      << "every journaled (unacknowledged) event arrived: " << platform.eventIds().size() << " of " << backlog;
  ASSERT_TRUE(gw.stop()) << gw.log();
  matrix("a camera flapping (3 x stop 2 s / resume) next to a steady one", raised.size(),
         platform.raisedAlarms().size(),
         fmt::format("events {}/{} (video-loss alarms included); steady camera {} units, 0 gaps, 0 frames missing; "
                     "flapping camera {} segments, all decodable",
                     platform.eventIds().size(), backlog, steady.size(), segments));
}

// Proves: a subscriber that stops reading (SIGSTOP) never slows the gateway
// or another subscriber: the one that keeps up gets every video message and
// every event; the stopped one, resumed, gets its video back decodable (from
// the next keyframe after what ZeroMQ dropped for it) and, because nobody
// acknowledged them, every alarm event through the gateway's re-sends.
TEST(Faults, ASubscriberThatStopsReadingDisturbsNobody) {
  TempDir dir;
  Camsim camsim({"test://c1?width=320&height=240&fps=25&gop=10&bitrate_kbps=6000",
                 "test://c2?width=320&height=240&fps=25&gop=10&bitrate_kbps=6000"});
  std::string config = baseConfig(dir, "tcp://127.0.0.1:*", "",
                                  fmt::format("  - id: c1\n    uri: {}\n  - id: c2\n    uri: {}\n", camsim.url("c1"),
                                              camsim.url("c2")));
  config.replace(config.find("  heartbeat_s: 0.5"), 18, "  heartbeat_s: 0.5\n  send_hwm: 100");
  Gateway gw(dir, config);
  ASSERT_TRUE(gw.start()) << gw.log();
  ASSERT_TRUE(gw.camerasStreaming(30s)) << gw.log();
  ChildProcess healthy, stalled;
  ASSERT_TRUE(healthy.start({VCGATE_SUB_BIN, "--connect", gw.endpoint(), "--json", "--record",
                             (dir.path() / "rec-healthy").string()}));
  ASSERT_TRUE(stalled.start({VCGATE_SUB_BIN, "--connect", gw.endpoint(), "--json", "--rcvhwm", "20", "--record",
                             (dir.path() / "rec-stalled").string()}));
  ASSERT_TRUE(healthy.waitForLine(R"("state":"up")", 10s));
  ASSERT_TRUE(stalled.waitForLine(R"("state":"up")", 10s));
  std::this_thread::sleep_for(1200ms);
  const std::string first = gw.raise({"c1", "c2"}, 1);
  std::this_thread::sleep_for(1000ms);
  ASSERT_TRUE(stalled.signal(SIGSTOP));
  std::this_thread::sleep_for(3000ms);
  const std::string second = gw.raise({"c1"}, 2);  // while it is stopped
  std::this_thread::sleep_for(3000ms);
  ASSERT_TRUE(stalled.signal(SIGCONT));
  gw.clear(second);
  std::this_thread::sleep_for(2000ms);
  gw.clear(first);
  const size_t kEvents = 4;
  // Nobody acknowledged: the stalled one gets what ZeroMQ dropped for it from the re-sends.
  auto alarmLines = [](ChildProcess& p) {
    while (p.readLine(10ms)) {
    }
    size_t n = 0;
    for (const auto& l : p.lines()) n += l.find(R"("type":"alarm")") != std::string::npos;
    return n;
  };
  ASSERT_TRUE(waitUntil([&] { return alarmLines(stalled) >= kEvents && alarmLines(healthy) >= kEvents; }, 20s));
  std::this_thread::sleep_for(1500ms);  // post-roll
  const SubRun h = stopSub(healthy);
  const SubRun s = stopSub(stalled);
  ASSERT_TRUE(gw.stop()) << gw.log();

  uint64_t healthy_received = 0, stalled_lost = 0;
  for (const auto& cam : h.summary["cameras"]) {
    EXPECT_EQ(cam["gaps"], 0) << "the subscriber that kept up lost nothing: " << cam.dump();
    healthy_received += cam["received"].get<uint64_t>();
  }
  for (const auto& cam : s.summary["cameras"]) stalled_lost += cam["lost"].get<uint64_t>();
  EXPECT_EQ(h.summary["alarm_events"]["unique"], kEvents);
  EXPECT_EQ(s.summary["alarm_events"]["unique"], kEvents);
  for (const auto* run : {&h, &s})
    for (const auto& r : run->summary["recordings"]) {
      EXPECT_TRUE(r["decodes"].get<bool>()) << r.dump();
      EXPECT_TRUE(r["starts_with_keyframe"].get<bool>()) << r.dump();
    }
  EXPECT_GE(h.summary["recordings"].size(), 3u) << "first on c1 and c2, second on c1";
  matrix("one subscriber SIGSTOPped 6 s (rcvhwm 20, send_hwm 100, 2 x 6 Mbit/s) while another keeps up", 2,
         h.alarms.size() == kEvents ? 2 : 0,
         fmt::format("healthy: events {}/{}, {} video messages, 0 gaps; stopped one: events {}/{} (re-sends), "
                     "{} video messages lost to its queues, recordings decode",
                     h.summary["alarm_events"]["unique"].get<int>(), kEvents, healthy_received,
                     s.summary["alarm_events"]["unique"].get<int>(), kEvents, stalled_lost));
}

// A network namespace joined to this one by a veth pair whose gateway side
// sends through tc tbf at `rate`: a real slow uplink. Removed on destruction.
class SlowLink {
 public:
  explicit SlowLink(const std::string& rate) {
    const int id = static_cast<int>(::getpid() % 200) + 20;
    ns_ = fmt::format("vcgf{}", ::getpid());
    host_if_ = fmt::format("vgh{}", ::getpid() % 100000);
    ns_if_ = fmt::format("vgn{}", ::getpid() % 100000);
    host_ip_ = fmt::format("10.213.{}.1", id);
    ns_ip_ = fmt::format("10.213.{}.2", id);
    const std::vector<std::string> steps = {
        fmt::format("ip netns add {}", ns_),
        fmt::format("ip link add {} type veth peer name {}", host_if_, ns_if_),
        fmt::format("ip link set {} netns {}", ns_if_, ns_),
        fmt::format("ip addr add {}/30 dev {}", host_ip_, host_if_),
        fmt::format("ip link set {} up", host_if_),
        fmt::format("ip netns exec {} ip addr add {}/30 dev {}", ns_, ns_ip_, ns_if_),
        fmt::format("ip netns exec {} ip link set {} up", ns_, ns_if_),
        fmt::format("ip netns exec {} ip link set lo up", ns_),
        fmt::format("ip netns exec {} tc qdisc add dev {} root tbf rate {} burst 16kb latency 500ms", ns_, ns_if_, rate),
    };
    for (const auto& step : steps) {
      if (std::system((step + " 2>&1").c_str()) != 0) {
        error_ = "cannot build the slow link: '" + step +
                 "' failed (this test needs root, iproute2 with 'ip netns' and tc with tbf)";
        return;
      }
    }
  }
  ~SlowLink() {
    if (!ns_.empty()) bestEffort(fmt::format("ip netns del {} 2>/dev/null", ns_));
    bestEffort(fmt::format("ip link del {} 2>/dev/null", host_if_));
  }
  const std::string& error() const { return error_; }
  std::string wrapper() const { return "/usr/sbin/ip netns exec " + ns_; }
  // Cleanup: a namespace or link already gone is fine. (A (void) cast does
  // not silence warn_unused_result, which _FORTIFY_SOURCE puts on system().)
  static void bestEffort(const std::string& command) {
    const int status = std::system(command.c_str());
    static_cast<void>(status);
  }
  const std::string& hostIp() const { return host_ip_; }
  const std::string& gatewayIp() const { return ns_ip_; }

 private:
  std::string ns_, host_if_, ns_if_, host_ip_, ns_ip_, error_;
};

// Over a real slow link (tc tbf at 1.2 Mbit/s between the gateway's network
// namespace and the platform), two 0.7 Mbit/s cameras, a level-1 alarm on one
// and a level-3 alarm on the other, seen by vcgate-sub (recording).
struct SlowLinkRun {
  json status;  // the gateway's status while both alarms were active
  SubRun sub;
  std::map<std::string, json> received;  // vcgate-sub's summary per camera
  int64_t clear_delay_ms = 0;            // from clearing both alarms to vcgate-sub printing both events
};
void alarmsOverSlowLink(int budget_kbps, SlowLinkRun& out) {
  SlowLink link("1200kbit");
  ASSERT_TRUE(link.error().empty()) << link.error();
  TempDir dir;
  Camsim camsim({"test://urgent?width=320&height=240&fps=25&gop=25&bitrate_kbps=700",
                 "test://minor?width=320&height=240&fps=25&gop=25&bitrate_kbps=700"},
                link.hostIp());
  std::string config = baseConfig(dir, fmt::format("tcp://{}:*", link.gatewayIp()), "",
                                  fmt::format("  - id: urgent\n    uri: {}\n  - id: minor\n    uri: {}\n",
                                              camsim.url("urgent"), camsim.url("minor")));
  config.replace(config.find("  heartbeat_s: 0.5"), 18,
                 fmt::format("  heartbeat_s: 0.5\n  uplink:\n    budget_kbps: {}", budget_kbps));
  Gateway gw(dir, config);
  ASSERT_TRUE(gw.start("", link.wrapper())) << gw.log();
  ASSERT_TRUE(gw.camerasStreaming(30s)) << gw.log();
  ChildProcess sub;
  ASSERT_TRUE(sub.start({VCGATE_SUB_BIN, "--connect", gw.endpoint(), "--json", "--record",
                         (dir.path() / "rec").string()}));
  ASSERT_TRUE(sub.waitForLine(R"("state":"up")", 10s));
  std::this_thread::sleep_for(1200ms);
  const std::string level1 = gw.raise({"urgent"}, 1);
  std::this_thread::sleep_for(300ms);
  const std::string level3 = gw.raise({"minor"}, 3);
  std::this_thread::sleep_for(5000ms);
  out.status = gw.command("status");
  gw.clear(level1);
  gw.clear(level3);
  // How long the cleared events take to reach the platform.
  const auto cleared_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(waitUntil(
      [&] {
        while (sub.readLine(10ms)) {
        }
        size_t cleared = 0;
        for (const auto& l : sub.lines()) cleared += l.find(R"("event":"cleared")") != std::string::npos;
        return cleared >= 2;
      },
      30s))
      << "the cleared events did not arrive";
  out.clear_delay_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                             cleared_at).count();
  std::this_thread::sleep_for(1500ms);  // post-roll
  out.sub = stopSub(sub);
  ASSERT_TRUE(gw.stop()) << gw.log();
  for (const auto& c : out.sub.summary["cameras"]) out.received[c["camera"]] = c;
  ASSERT_TRUE(out.received.contains("urgent") && out.received.contains("minor")) << out.sub.summary.dump();
}

// Proves: with the uplink budget squeezed below what a level-1 and a level-3
// alarm's cameras need together (1 Mbit/s for 1.4, on a 1.2 Mbit/s link), the
// level-1 camera arrives complete and decodable, the level-3 camera as
// keyframes only (decodable, flagged), neither with a sequence gap, and every
// event arrives.
TEST(Faults, SqueezedUplinkBudgetOverASlowLinkKeepsLevelOneComplete) {
  SlowLinkRun r;
  alarmsOverSlowLink(1000, r);
  if (HasFatalFailure()) return;
  const json& status = r.status;
  auto& received = r.received;
  ASSERT_TRUE(status.contains("cameras")) << status.dump();
  EXPECT_EQ(status["uplink"]["budget_kbps"], 1000.0);
  std::map<std::string, json> cams;
  for (const auto& c : status["cameras"]) cams[c["id"]] = c;
  EXPECT_EQ(cams["urgent"]["uplink"], "full") << status.dump();
  EXPECT_EQ(cams["minor"]["uplink"], "keyframes") << status.dump();
  EXPECT_GT(cams["minor"]["budget_skipped"].get<int>(), 50);

  for (const char* camera : {"urgent", "minor"}) {
    EXPECT_EQ(received[camera]["gaps"], 0) << camera << ": " << received[camera].dump();
    EXPECT_EQ(received[camera]["discarded_until_keyframe"], 0) << received[camera].dump();
  }
  // About 1 s pre-roll + 5.3 s + 1 s post-roll at 25 fps, against one keyframe a second.
  EXPECT_GT(received["urgent"]["received"].get<int>(), 150) << received["urgent"].dump();
  EXPECT_EQ(received["minor"]["keyframes"], received["minor"]["received"]) << received["minor"].dump();
  EXPECT_LE(received["minor"]["received"].get<int>(), 10) << received["minor"].dump();
  for (const auto& rec : r.sub.summary["recordings"]) {
    EXPECT_TRUE(rec["decodes"].get<bool>()) << rec.dump();
    EXPECT_EQ(rec["decode_errors"], 0) << rec.dump();
    if (rec["camera"] == "urgent") {
      EXPECT_EQ(rec["frames"], rec["frames_decoded"]) << rec.dump();
    }
  }
  EXPECT_EQ(r.sub.summary["recordings"].size(), 2u);
  EXPECT_EQ(r.sub.summary["alarm_events"]["unique"], 4);
  matrix("uplink budget 1000 kbit/s over a 1.2 Mbit/s tbf link, level-1 + level-3 alarm (0.7 Mbit/s cameras)", 2,
         r.sub.alarms.size() == 4 ? 2 : 0,
         fmt::format("events {}/4 (the clears within {} ms); level 1: {} units, 0 gaps, all decoded, "
                     "capture-to-receipt p50 {} ms, p99 {} ms; level 3: {} keyframes only, decodable",
                     r.sub.summary["alarm_events"]["unique"].get<int>(), r.clear_delay_ms,
                     received["urgent"]["received"].get<int>(),
                     received["urgent"]["latency_capture_us"]["p50"].get<int64_t>() / 1000,
                     received["urgent"]["latency_capture_us"]["p99"].get<int64_t>() / 1000,
                     received["minor"]["received"].get<int>()));
}

// Proves why the budget exists: the same link and alarms without a budget.
// 1.4 Mbit/s of video does not fit in 1.2: the level-1 camera's video queues
// behind the level-3 camera's, so it arrives late — more than half a second
// after capture at the 99th percentile (the physics of the link, not timing
// luck: the 1 s pre-roll of both cameras alone takes over a second to cross).
// Nothing is lost (the queue is the gateway's); it is late, alarm events too.
TEST(Faults, WithoutABudgetTheSlowLinkDelaysLevelOne) {
  SlowLinkRun r;
  alarmsOverSlowLink(0, r);
  if (HasFatalFailure()) return;
  auto& received = r.received;
  EXPECT_EQ(r.status["uplink"]["budget_kbps"], 0.0);
  EXPECT_GT(received["minor"]["received"].get<int>(), 100) << "level 3 in full: " << received["minor"].dump();
  const int64_t p99_ms = received["urgent"]["latency_capture_us"]["p99"].get<int64_t>() / 1000;
  EXPECT_GT(p99_ms, 500) << received["urgent"].dump();
  EXPECT_EQ(r.sub.summary["alarm_events"]["unique"], 4);
  matrix("the same slow link and alarms without a budget (contrast)", 2, r.sub.alarms.size() == 4 ? 2 : 0,
         fmt::format("events {}/4, but the clears only {} ms later (queued behind video); level 1: {} units, "
                     "capture-to-receipt p50 {} ms, p99 {} ms (behind level 3's {} units in full)",
                     r.sub.summary["alarm_events"]["unique"].get<int>(), r.clear_delay_ms,
                     received["urgent"]["received"].get<int>(),
                     received["urgent"]["latency_capture_us"]["p50"].get<int64_t>() / 1000, p99_ms,
                     received["minor"]["received"].get<int>()));
}

}  // namespace
}  // namespace vcgate
