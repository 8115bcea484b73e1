// vcgate-sub, black box: the real binary as a child process, fed by an XPUB
// socket of this test on tcp://127.0.0.1:* with messages made by the real
// protocol encoders and real H.264 access units. XPUB (a PUB that also hands
// over subscriptions) lets the test wait until the subscriber has subscribed
// instead of sleeping. Assertions are on the --json lines and the summary.
#include <signal.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "gateway/bus/protocol.h"
#include "gateway/evidence/mp4_writer.h"
#include "tests/support/child_process.h"
#include "tests/support/encoded_units.h"
#include "tests/support/temp_dir.h"

namespace vcgate::sub {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::ChildProcess;
using testing::EncodedUnit;
using testing::TempDir;
using Clock = std::chrono::steady_clock;

constexpr auto kLineTimeout = 10s;
constexpr auto kExitTimeout = 20s;
constexpr uint64_t kBoot = 0x8f3a21c47be05d19;
constexpr int kGop = 10;

int64_t nowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

alarm::AlarmId makeId(uint8_t seed) {
  alarm::AlarmId id;
  for (size_t i = 0; i < id.bytes.size(); ++i) id.bytes[i] = static_cast<uint8_t>(seed * 17 + i);
  return id;
}

// The gateway side, as far as these tests need it.
class Publisher {
 public:
  Publisher() : socket_(context_, zmq::socket_type::xpub) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.set(zmq::sockopt::sndhwm, 100000);
    socket_.bind("tcp://127.0.0.1:*");
    endpoint_ = socket_.get(zmq::sockopt::last_endpoint);
  }
  const std::string& endpoint() const { return endpoint_; }

  // Waits until every topic prefix in `expected` has been subscribed; returns what was subscribed.
  std::set<std::string> waitForSubscriptions(const std::set<std::string>& expected, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      bool all = true;
      for (const auto& e : expected) all = all && subscriptions_.contains(e);
      if (all) break;
      zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, 100ms);
      zmq::message_t m;
      while (socket_.recv(m, zmq::recv_flags::dontwait)) {
        const std::string s = m.to_string();
        if (!s.empty() && s[0] == 1) subscriptions_.insert(s.substr(1));
      }
    }
    return subscriptions_;
  }

  void send(const std::vector<std::string>& frames) {
    for (size_t i = 0; i < frames.size(); ++i)
      (void)socket_.send(zmq::buffer(frames[i]), i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
  }

  void video(const std::string& site, const std::string& camera, uint64_t seq, const EncodedUnit& unit,
             const std::vector<bus::AlarmTag>& tags, uint64_t boot = kBoot) {
    bus::VideoHeader h;
    h.flags = unit.keyframe ? bus::kFlagKeyframe : 0;
    h.boot_id = boot;
    h.seq = seq;
    h.pts_ns = unit.pts_ns;
    h.dts_ns = unit.dts_ns;
    h.publish_us = nowMicros();
    h.capture_us = h.publish_us - 1000;  // captured 1 ms before publishing
    h.codec = core::VideoCodec::kH264;
    h.width = 320;
    h.height = 240;
    h.tags = tags;
    std::string header;
    bus::encodeVideoHeader(h, header);
    send({bus::videoTopic(site, camera), header, std::string(unit.data.begin(), unit.data.end())});
  }

  void alarmEvent(const std::string& site, uint64_t seq, alarm::AlarmEventKind kind, const alarm::AlarmId& id,
                  int level, std::vector<std::string> cameras, int64_t updated_us, const std::string& description) {
    bus::AlarmEventMessage m;
    m.boot_id = kBoot;
    m.seq = seq;
    m.time_us = nowMicros();
    m.site = site;
    m.event.kind = kind;
    auto& a = m.event.alarm;
    a.id = id;
    a.source = "manual";
    a.type = "intrusion";
    a.level = level;
    a.cameras = std::move(cameras);
    a.description = description;
    a.state = kind == alarm::AlarmEventKind::kCleared ? alarm::AlarmState::kCleared : alarm::AlarmState::kActive;
    a.raised_us = 1764425400123456;
    a.updated_us = updated_us;
    a.cleared_us = kind == alarm::AlarmEventKind::kCleared ? updated_us : 0;
    a.pre_roll_s = 10;
    a.post_roll_s = 10;
    send({bus::alarmTopic(site), bus::encodeAlarmEvent(m)});
  }

  void heartbeat(const std::string& site, uint64_t seq, double interval_s) {
    bus::StatusMessage s;
    s.boot_id = kBoot;
    s.seq = seq;
    s.time_us = nowMicros();
    s.site = site;
    s.version = "0.1.0";
    s.uptime_s = static_cast<double>(seq) * interval_s;
    s.interval_s = interval_s;
    s.cameras.push_back({.id = "cam1", .state = "streaming"});
    send({bus::statusTopic(site), bus::encodeStatus(s)});
  }

 private:
  zmq::context_t context_{1};
  zmq::socket_t socket_;
  std::string endpoint_;
  std::set<std::string> subscriptions_;
};

// A running vcgate-sub --json and the JSON lines it printed.
class Sub {
 public:
  bool start(const std::vector<std::string>& args) {
    std::vector<std::string> argv{VCGATE_SUB_BIN, "--json"};
    argv.insert(argv.end(), args.begin(), args.end());
    return process_.start(argv);
  }

  // Reads lines until one satisfies `match`; nullopt on timeout or exit.
  std::optional<json> waitFor(const std::function<bool(const json&)>& match,
                              std::chrono::milliseconds timeout = kLineTimeout) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      auto line = process_.readLine(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
      if (!line) return std::nullopt;
      json j = json::parse(*line, nullptr, false);
      EXPECT_FALSE(j.is_discarded()) << "not one JSON object per line: " << *line;
      if (j.is_discarded()) continue;
      lines_.push_back(j);
      if (match(j)) return j;
    }
    return std::nullopt;
  }
  std::optional<json> waitForType(const std::string& type, std::chrono::milliseconds timeout = kLineTimeout) {
    return waitFor([&](const json& j) { return j.value("type", "") == type; }, timeout);
  }

  // SIGTERM, then the summary line and exit code 0.
  json stop(int sig = SIGTERM) {
    EXPECT_TRUE(process_.signal(sig));
    auto summary = waitForType("summary", kExitTimeout);
    EXPECT_TRUE(summary.has_value()) << "no summary after the signal";
    EXPECT_EQ(process_.wait(kExitTimeout), 0);
    return summary.value_or(json::object());
  }

  std::vector<json> linesOfType(const std::string& type) const {
    std::vector<json> out;
    for (const auto& j : lines_)
      if (j.value("type", "") == type) out.push_back(j);
    return out;
  }
  std::string transcript() const {
    std::string out;
    for (const auto& l : process_.lines()) out += l + "\n";
    return out;
  }
  ChildProcess& process() { return process_; }

 private:
  ChildProcess process_;
  std::vector<json> lines_;
};

const std::set<std::string> kAllKinds{"alarm/", "status/", "video/"};

class SubTest : public ::testing::Test {
 protected:
  void startSub(const std::vector<std::string>& extra = {}, const std::set<std::string>& expected = kAllKinds) {
    std::vector<std::string> args{"--connect", pub_.endpoint()};
    args.insert(args.end(), extra.begin(), extra.end());
    ASSERT_TRUE(sub_.start(args));
    const auto got = pub_.waitForSubscriptions(expected, kLineTimeout);
    for (const auto& e : expected) ASSERT_TRUE(got.contains(e)) << "vcgate-sub did not subscribe to " << e;
  }
  // Everything published before this is known to have been handled once its line shows up:
  // one connection keeps order.
  void barrier(uint64_t seq) {
    pub_.heartbeat("barrier", seq, 60);
    ASSERT_TRUE(sub_.waitFor([](const json& j) { return j.value("site", "") == "barrier"; }))
        << sub_.transcript();
  }

  Publisher pub_;
  Sub sub_;
};

json cameraSummary(const json& summary, const std::string& camera) {
  for (const auto& c : summary["cameras"])
    if (c["camera"] == camera) return c;
  return json::object();
}

TEST_F(SubTest, AlarmEventsArePrintedOnceEvenWhenPublishedTwice) {
  startSub({"--no-video"}, {"alarm/", "status/"});
  const auto a = makeId(1);
  const auto b = makeId(2);
  pub_.alarmEvent("north", 1, alarm::AlarmEventKind::kRaised, a, 1, {"hall-a-1", "hall-a-2"}, 100,
                  "person on the tracks");
  pub_.alarmEvent("north", 1, alarm::AlarmEventKind::kRaised, a, 1, {"hall-a-1", "hall-a-2"}, 100,
                  "person on the tracks");  // resent: same (id, event, updated_us)
  pub_.alarmEvent("north", 2, alarm::AlarmEventKind::kRaised, b, 3, {"hall-b-1"}, 150, "");
  pub_.alarmEvent("north", 3, alarm::AlarmEventKind::kUpdated, a, 2, {"hall-a-1", "hall-a-2"}, 200, "lowered");
  pub_.alarmEvent("north", 4, alarm::AlarmEventKind::kCleared, a, 2, {"hall-a-1", "hall-a-2"}, 300, "");
  pub_.alarmEvent("north", 4, alarm::AlarmEventKind::kCleared, a, 2, {"hall-a-1", "hall-a-2"}, 300, "");
  barrier(1);
  const json summary = sub_.stop();

  const auto alarms = sub_.linesOfType("alarm");
  ASSERT_EQ(alarms.size(), 4u) << sub_.transcript();
  EXPECT_EQ(alarms[0]["event"], "raised");
  EXPECT_EQ(alarms[0]["site"], "north");
  EXPECT_EQ(alarms[0]["v"], 1);
  EXPECT_EQ(alarms[0]["alarm"]["id"], a.hex());
  EXPECT_EQ(alarms[0]["alarm"]["level"], 1);
  EXPECT_EQ(alarms[0]["alarm"]["cameras"], json::array({"hall-a-1", "hall-a-2"}));
  EXPECT_EQ(alarms[0]["alarm"]["description"], "person on the tracks");
  EXPECT_EQ(alarms[1]["alarm"]["id"], b.hex());
  EXPECT_EQ(alarms[2]["event"], "updated");
  EXPECT_EQ(alarms[2]["alarm"]["level"], 2);
  EXPECT_EQ(alarms[3]["event"], "cleared");
  EXPECT_EQ(summary["alarm_events"]["received"], 6);
  EXPECT_EQ(summary["alarm_events"]["unique"], 4);
  EXPECT_EQ(summary["alarm_events"]["duplicates"], 2);
  EXPECT_EQ(summary["alarm_events"]["gaps"], 0);
}

TEST_F(SubTest, HumanReadableAlarmLine) {
  ChildProcess child;
  ASSERT_TRUE(child.start({VCGATE_SUB_BIN, "--connect", pub_.endpoint(), "--no-video"}, {"TZ=UTC"}));
  pub_.waitForSubscriptions({"alarm/", "status/"}, kLineTimeout);
  pub_.alarmEvent("north", 1, alarm::AlarmEventKind::kRaised, makeId(1), 1, {"hall-a-1", "hall-a-2"}, 100,
                  "person on the tracks");
  const auto line = child.waitForLine("RAISED", kLineTimeout);
  ASSERT_TRUE(line.has_value());
  // 14:10:00.123 RAISED  L1 intrusion  alarm 11223344… site north cameras hall-a-1,hall-a-2 "person on the tracks"
  EXPECT_NE(line->find("RAISED  L1 intrusion  alarm " + makeId(1).hex().substr(0, 8) + "\u2026"), std::string::npos)
      << *line;
  EXPECT_NE(line->find("site north cameras hall-a-1,hall-a-2 \"person on the tracks\""), std::string::npos) << *line;
  EXPECT_EQ((*line)[2], ':');
  EXPECT_EQ((*line)[8], '.');
  ASSERT_TRUE(child.signal(SIGINT));
  EXPECT_TRUE(child.waitForLine("\"alarm_events\"", kExitTimeout).has_value());
  EXPECT_EQ(child.wait(kExitTimeout), 0);
}

TEST_F(SubTest, AlarmChannelGapIsReported) {
  startSub({"--no-video"}, {"alarm/", "status/"});
  pub_.alarmEvent("north", 7, alarm::AlarmEventKind::kRaised, makeId(1), 1, {"c1"}, 100, "");
  pub_.alarmEvent("north", 10, alarm::AlarmEventKind::kRaised, makeId(2), 1, {"c1"}, 100, "");
  const auto gap = sub_.waitForType("gap");
  ASSERT_TRUE(gap.has_value()) << sub_.transcript();
  EXPECT_EQ((*gap)["channel"], "alarm");
  EXPECT_EQ((*gap)["site"], "north");
  EXPECT_EQ((*gap)["expected"], 8);
  EXPECT_EQ((*gap)["got"], 10);
  const json summary = sub_.stop();
  EXPECT_EQ(summary["alarm_events"]["gaps"], 1);
}

TEST_F(SubTest, GatewayUpUnreachableAndBack) {
  startSub({"--no-video"}, {"alarm/", "status/"});
  const double interval_s = 0.2;
  uint64_t seq = 0;
  pub_.heartbeat("north", seq++, interval_s);
  auto up = sub_.waitFor([](const json& j) { return j.value("type", "") == "gateway"; });
  ASSERT_TRUE(up.has_value()) << sub_.transcript();
  EXPECT_EQ((*up)["state"], "up");
  EXPECT_EQ((*up)["site"], "north");
  EXPECT_EQ((*up)["boot"], bus::bootIdHex(kBoot));
  EXPECT_EQ((*up)["version"], "0.1.0");

  // Heartbeats stop: unreachable after 3 x 0.2 s, not before.
  const auto stopped = Clock::now();
  auto down = sub_.waitFor([](const json& j) { return j.value("state", "") == "unreachable"; });
  ASSERT_TRUE(down.has_value()) << sub_.transcript();
  EXPECT_GE(Clock::now() - stopped, 550ms);
  EXPECT_GE((*down)["silent_s"].get<double>(), 3 * interval_s);
  EXPECT_EQ((*down)["message"], "gateway north unreachable: no heartbeat for " +
                                    fmt::format("{:.1f}", (*down)["silent_s"].get<double>()) + " s");

  pub_.heartbeat("north", seq++, interval_s);
  auto back = sub_.waitFor([](const json& j) { return j.value("state", "") == "back"; });
  ASSERT_TRUE(back.has_value()) << sub_.transcript();
  const json summary = sub_.stop();
  ASSERT_EQ(summary["gateways"].size(), 1u);
  EXPECT_EQ(summary["gateways"][0]["heartbeats"], 2);
  EXPECT_EQ(summary["gateways"][0]["unreachable"], 1);
}

TEST_F(SubTest, VideoFromMidGopIsDiscardedUntilAKeyframeAndGapsAreReported) {
  const auto units = testing::encodeUnits(core::VideoCodec::kH264, 40, kGop);
  ASSERT_EQ(units.size(), 40u);
  startSub();
  // Join mid-GOP: units 3..9 cannot be decoded, 10 is a keyframe.
  uint64_t seq = 500;
  for (size_t i = 3; i < 25; ++i) pub_.video("north", "cam1", seq++, units[i], {});
  // Lose 3 messages (units 25..27, seq 522..524), then mid-GOP again until the keyframe at 30.
  seq += 3;
  for (size_t i = 28; i < 40; ++i) pub_.video("north", "cam1", seq++, units[i], {});
  const auto gap = sub_.waitForType("gap");
  ASSERT_TRUE(gap.has_value()) << sub_.transcript();
  EXPECT_EQ((*gap)["channel"], "video");
  EXPECT_EQ((*gap)["camera"], "cam1");
  EXPECT_EQ((*gap)["site"], "north");
  EXPECT_EQ((*gap)["expected"], 522);
  EXPECT_EQ((*gap)["got"], 525);
  barrier(1);
  const json summary = sub_.stop();
  const json cam = cameraSummary(summary, "cam1");
  ASSERT_FALSE(cam.empty()) << summary.dump();
  EXPECT_EQ(cam["received"], 22 + 12);
  EXPECT_EQ(cam["gaps"], 1);
  EXPECT_EQ(cam["lost"], 3);
  EXPECT_EQ(cam["discarded_until_keyframe"], 7 + 2);  // 3..9 on joining, 28..29 after the gap
  EXPECT_EQ(cam["keyframes"], 3);                     // 10, 20, 30
  EXPECT_EQ(cam["latency_capture_us"]["count"], 34);
  EXPECT_GE(cam["latency_capture_us"]["p50"].get<int64_t>(), 1000);  // captured 1 ms before publishing
  EXPECT_LE(cam["latency_capture_us"]["p50"].get<int64_t>(), cam["latency_capture_us"]["p99"].get<int64_t>());
  EXPECT_LE(cam["latency_capture_us"]["p99"].get<int64_t>(), cam["latency_capture_us"]["max"].get<int64_t>());
  EXPECT_GE(cam["latency_gateway_us"]["p50"].get<int64_t>(), 0);
  EXPECT_LT(cam["latency_gateway_us"]["p50"].get<int64_t>(), cam["latency_capture_us"]["p50"].get<int64_t>());
}

TEST_F(SubTest, GatewayRestartIsNotAGap) {
  const auto units = testing::encodeUnits(core::VideoCodec::kH264, 20, kGop);
  ASSERT_EQ(units.size(), 20u);
  startSub();
  for (size_t i = 0; i < 10; ++i) pub_.video("north", "cam1", 300 + i, units[i], {});
  for (size_t i = 10; i < 20; ++i) pub_.video("north", "cam1", i - 10, units[i], {}, kBoot + 1);  // new boot, seq 0
  barrier(1);
  const json summary = sub_.stop();
  EXPECT_TRUE(sub_.linesOfType("gap").empty()) << sub_.transcript();
  const json cam = cameraSummary(summary, "cam1");
  EXPECT_EQ(cam["gaps"], 0);
  EXPECT_EQ(cam["restarts"], 1);
  EXPECT_EQ(cam["discarded_until_keyframe"], 0);
}

TEST_F(SubTest, SiteAndCameraNarrowTheSubscription) {
  const auto units = testing::encodeUnits(core::VideoCodec::kH264, 10, kGop);
  ASSERT_EQ(units.size(), 10u);
  startSub({"--site", "north", "--camera", "cam1"}, {"alarm/north/", "status/north/", "video/north/cam1/"});
  for (size_t i = 0; i < 10; ++i) {
    pub_.video("north", "cam1", i, units[i], {});
    pub_.video("north", "cam10", i, units[i], {});  // a prefix of cam1's topic would match this
    pub_.video("south", "cam1", i, units[i], {});
  }
  pub_.alarmEvent("south", 1, alarm::AlarmEventKind::kRaised, makeId(9), 1, {"cam1"}, 1, "");
  pub_.alarmEvent("north", 1, alarm::AlarmEventKind::kRaised, makeId(8), 1, {"cam1"}, 1, "");
  ASSERT_TRUE(sub_.waitForType("alarm").has_value());
  const json summary = sub_.stop();
  const auto alarms = sub_.linesOfType("alarm");
  ASSERT_EQ(alarms.size(), 1u) << sub_.transcript();
  EXPECT_EQ(alarms[0]["site"], "north");
  ASSERT_EQ(summary["cameras"].size(), 1u) << summary.dump();
  EXPECT_EQ(summary["cameras"][0]["site"], "north");
  EXPECT_EQ(summary["cameras"][0]["camera"], "cam1");
  EXPECT_EQ(summary["cameras"][0]["received"], 10);
}

// Two alarms on cam1 (B joins mid-GOP and outlives A), alarm A also on cam2
// whose video ends with A's clear: three files, each from a keyframe, each decoding.
TEST_F(SubTest, RecordsOneFilePerAlarmAndCameraThatDecodesFromItsFirstFrame) {
  const auto units = testing::encodeUnits(core::VideoCodec::kH264, 50, kGop);
  ASSERT_EQ(units.size(), 50u);
  TempDir dir;
  const auto record_dir = dir.path() / "rec";
  const std::string summary_path = (dir.path() / "summary.json").string();
  startSub({"--record", record_dir.string(), "--summary", summary_path});
  const auto a = makeId(1);
  const auto b = makeId(2);
  const bus::AlarmTag tag_a{a, 1};
  const bus::AlarmTag tag_b{b, 2};
  pub_.alarmEvent("north", 1, alarm::AlarmEventKind::kRaised, a, 1, {"cam1", "cam2"}, 1, "");
  for (size_t i = 0; i < 50; ++i) {
    std::vector<bus::AlarmTag> tags1;
    if (i < 40) tags1.push_back(tag_a);
    if (i >= 13 && i < 45) tags1.push_back(tag_b);
    pub_.video("north", "cam1", 1000 + i, units[i], tags1);
    if (i < 30) pub_.video("north", "cam2", 2000 + i, units[i], {tag_a});
  }
  pub_.alarmEvent("north", 2, alarm::AlarmEventKind::kCleared, a, 1, {"cam1", "cam2"}, 2, "");

  // cam1's files close as soon as a unit without their tag arrives.
  std::vector<json> recordings;
  for (int i = 0; i < 2; ++i) {
    auto r = sub_.waitForType("recording");
    ASSERT_TRUE(r.has_value()) << sub_.transcript();
    recordings.push_back(*r);
  }
  // cam2's file closes 5 s after the clear, as no video of cam2 comes any more.
  const auto cleared_seen = Clock::now();
  auto r = sub_.waitForType("recording", 15s);
  ASSERT_TRUE(r.has_value()) << sub_.transcript();
  EXPECT_GE(Clock::now() - cleared_seen, 3s);
  recordings.push_back(*r);
  const json summary = sub_.stop();

  auto find = [&](const alarm::AlarmId& id, const std::string& camera) {
    for (const auto& rec : recordings)
      if (rec["alarm"] == id.hex() && rec["camera"] == camera) return rec;
    return json::object();
  };
  struct Expected {
    alarm::AlarmId id;
    std::string camera;
    int frames;
    uint64_t first_seq;
    uint64_t last_seq;
    std::string reason;
  };
  for (const auto& e : {Expected{a, "cam1", 40, 1000, 1039, "untagged"},
                        Expected{b, "cam1", 35, 1010, 1044, "untagged"},  // from the keyframe before its first tag
                        Expected{a, "cam2", 30, 2000, 2029, "cleared"}}) {
    SCOPED_TRACE(e.id.hex() + "/" + e.camera);
    const json rec = find(e.id, e.camera);
    ASSERT_FALSE(rec.empty()) << sub_.transcript();
    const std::string path = (record_dir / e.id.hex() / (e.camera + ".mp4")).string();
    EXPECT_EQ(rec["path"], path);
    EXPECT_EQ(rec["site"], "north");
    EXPECT_EQ(rec["frames"], e.frames);
    EXPECT_EQ(rec["first_seq"], e.first_seq);
    EXPECT_EQ(rec["last_seq"], e.last_seq);
    EXPECT_EQ(rec["reason"], e.reason);
    EXPECT_EQ(rec["decodes"], true) << rec.dump();
    EXPECT_EQ(rec["frames_decoded"], e.frames);
    EXPECT_EQ(rec["decode_errors"], 0);
    EXPECT_EQ(rec["starts_with_keyframe"], true);
    // Checked again here, independently of what vcgate-sub said.
    const auto check = evidence::verifyPlayable(path);
    EXPECT_TRUE(check.ok) << check.error;
    EXPECT_EQ(check.frames_decoded, e.frames);
    EXPECT_TRUE(check.starts_with_keyframe);
    EXPECT_EQ(check.width, 320);
  }
  EXPECT_EQ(summary["recordings"].size(), 3u);
  ASSERT_TRUE(std::filesystem::exists(summary_path));
  std::ifstream in(summary_path);
  const json written = json::parse(in, nullptr, false);
  ASSERT_FALSE(written.is_discarded());
  EXPECT_EQ(written["recordings"].size(), 3u);
}

TEST_F(SubTest, RecordingStillOpenAtExitIsClosedAndVerified) {
  const auto units = testing::encodeUnits(core::VideoCodec::kH264, 25, kGop);
  ASSERT_EQ(units.size(), 25u);
  TempDir dir;
  startSub({"--record", dir.path().string()});
  const auto a = makeId(3);
  for (size_t i = 5; i < 25; ++i) pub_.video("north", "cam1", i, units[i], {{a, 1}});  // joins mid-GOP
  barrier(1);
  const json summary = sub_.stop(SIGINT);
  const auto recs = sub_.linesOfType("recording");
  ASSERT_EQ(recs.size(), 1u) << sub_.transcript();
  EXPECT_EQ(recs[0]["reason"], "exit");
  EXPECT_EQ(recs[0]["frames"], 15);  // 10..24
  EXPECT_EQ(recs[0]["first_seq"], 10);
  EXPECT_EQ(recs[0]["decodes"], true);
  EXPECT_EQ(cameraSummary(summary, "cam1")["discarded_until_keyframe"], 5);
}

TEST_F(SubTest, MalformedMessagesAreCountedAndDoNotStopIt) {
  const auto units = testing::encodeUnits(core::VideoCodec::kH264, 10, kGop);
  ASSERT_EQ(units.size(), 10u);
  startSub();
  std::string header;
  bus::VideoHeader h;
  h.flags = bus::kFlagKeyframe;
  bus::encodeVideoHeader(h, header);
  const std::string au(units[0].data.begin(), units[0].data.end());
  pub_.send({"video/north/cam1/", header});                          // frame_count
  pub_.send({"video/north/cam1/", header, au, "extra"});             // frame_count
  pub_.send({"video/north/", header, au});                           // unknown_topic
  pub_.send({"video/north/bad camera/", header, au});                // unknown_topic
  pub_.send({"alarm/north/x/", "{}"});                               // unknown_topic
  pub_.send({"video/north/cam1/", header.substr(0, 30), au});        // video_header
  std::string v2 = header;
  v2[0] = 2;
  pub_.send({"video/north/cam1/", v2, au});                          // unsupported_version
  pub_.send({"video/north/cam1/", header, ""});                      // empty_access_unit
  pub_.send({"alarm/north/", "{not json"});                          // alarm_event
  pub_.send({"alarm/north/", R"({"v":1,"boot":"00","seq":1})"});     // alarm_event
  pub_.send({"status/north/", R"({"v":2,"boot":"00","seq":1})"});    // unsupported_version
  pub_.send({"status/north/", "[]"});                                // status
  pub_.send({"video/north/cam1/", std::string(4096, '\xff'), au});   // unsupported_version
  // Still alive and well:
  for (size_t i = 0; i < 10; ++i) pub_.video("north", "cam1", i, units[i], {});
  pub_.alarmEvent("north", 1, alarm::AlarmEventKind::kRaised, makeId(1), 1, {"cam1"}, 1, "after the garbage");
  const auto alarm_line = sub_.waitForType("alarm");
  ASSERT_TRUE(alarm_line.has_value()) << sub_.transcript();
  EXPECT_EQ((*alarm_line)["alarm"]["description"], "after the garbage");
  const json summary = sub_.stop();
  const json& m = summary["malformed"];
  EXPECT_EQ(m["frame_count"], 2) << m.dump();
  EXPECT_EQ(m["unknown_topic"], 3) << m.dump();
  EXPECT_EQ(m["video_header"], 1) << m.dump();
  EXPECT_EQ(m["unsupported_version"], 3) << m.dump();
  EXPECT_EQ(m["empty_access_unit"], 1) << m.dump();
  EXPECT_EQ(m["alarm_event"], 2) << m.dump();
  EXPECT_EQ(m["status"], 1) << m.dump();
  EXPECT_EQ(m["total"], 13) << m.dump();
  EXPECT_EQ(cameraSummary(summary, "cam1")["received"], 10);
  // Each reason is announced on its first occurrence.
  std::set<std::string> announced;
  for (const auto& l : sub_.linesOfType("malformed")) announced.insert(l["reason"].get<std::string>());
  EXPECT_EQ(announced.size(), 7u) << sub_.transcript();
}

TEST(SubCommandLineTest, ExitCodes) {
  const auto run = [](const std::vector<std::string>& args) {
    ChildProcess child;
    std::vector<std::string> argv{VCGATE_SUB_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    EXPECT_TRUE(child.start(argv));
    while (child.readLine(kExitTimeout)) {
    }
    return child.wait(kExitTimeout).value_or(-1);
  };
  EXPECT_EQ(run({"--help"}), 0);
  EXPECT_EQ(run({}), 2);                                                    // --connect is required
  EXPECT_EQ(run({"--connect", "tcp://127.0.0.1:1", "--bogus"}), 2);
  EXPECT_EQ(run({"--connect", "tcp://127.0.0.1:1", "--no-video", "--record", "/tmp/x"}), 2);
  EXPECT_EQ(run({"--connect", "nonsense://x", "--duration", "5"}), 3);
  TempDir dir;
  const std::string file = dir.write("file", "x");
  EXPECT_EQ(run({"--connect", "tcp://127.0.0.1:1", "--record", file + "/rec", "--duration", "5"}), 4);
  const std::string summary = (dir.path() / "s.json").string();
  EXPECT_EQ(run({"--connect", "tcp://127.0.0.1:1", "--duration", "0.3", "--summary", summary}), 0);
  EXPECT_TRUE(std::filesystem::exists(summary));
}

}  // namespace
}  // namespace vcgate::sub
