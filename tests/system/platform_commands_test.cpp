// The platform's side of the request channel, end to end with real parts: the
// real vcgated as a child process with its commands endpoint on TCP (port
// picked by the kernel at bind time, read back from the daemon's log), a real
// ZeroMQ REQ client speaking the raw protocol of docs/protocol.md section 7,
// and a real SUB subscriber on the publish endpoint. It proves that
//  - raise, escalate, live view, clear and acknowledge over TCP each reach
//    the subscriber as events and as tagged (or live-view) video;
//  - every bad request gets its coded refusal and changes nothing;
//  - the alarm's clip can be listed and fetched in chunks, across a gateway
//    restart in the middle, byte-identical to the file on disk, and plays;
//  - the alarm's snapshot is a JPEG of the camera's picture size;
//  - vcgatectl, pointed at the same TCP endpoint, lists the clip and finishes
//    a partial copy of it (and fetches the snapshot), verified by checksum.
#include <signal.h>

#include <gtest/gtest.h>

extern "C" {
#include <libavcodec/avcodec.h>
}

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "gateway/bus/command_server.h"
#include "gateway/bus/subscriber.h"
#include "gateway/core/sha256.h"
#include "gateway/evidence/mp4_writer.h"
#include "tests/support/child_process.h"
#include "tests/support/program_run.h"
#include "tests/support/temp_dir.h"

namespace vcgate {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::ChildProcess;
using testing::TempDir;
using Clock = std::chrono::steady_clock;

std::string gatewayConfig(const TempDir& dir) {
  return fmt::format(R"(site:
  id: plat
logging:
  stats_interval_s: 0
bus:
  publish: tcp://127.0.0.1:*
  control: ipc://{0}/control.sock
  commands: tcp://127.0.0.1:*
storage:
  state_dir: {0}/state
  evidence_dir: {0}/evidence
alarms:
  post_roll_s: 1
camera_defaults:
  buffering:
    pre_roll_s: 2
cameras:
  - id: cam-a
    uri: test://cam-a?width=320&height=240&fps=25&gop=10
  - id: cam-b
    uri: test://cam-b?width=160&height=120&fps=25&gop=10
)",
                     dir.path().string());
}

// The daemon, started and ready: both endpoints read back from its log.
struct Gateway {
  ChildProcess process;
  std::string publish;
  std::string commands;
};

void startGateway(Gateway& gw, const std::string& config) {
  ASSERT_TRUE(gw.process.start({VCGATE_DAEMON_BIN, "--config", config}, {}, /*merge_stderr=*/true));
  auto publishing = gw.process.waitForLine("publishing on tcp://", 30s);
  ASSERT_TRUE(publishing) << "the daemon did not start publishing";
  gw.publish = publishing->substr(publishing->find("tcp://"));
  auto accepting = gw.process.waitForLine("accepting commands on tcp://", 30s);
  ASSERT_TRUE(accepting) << "the daemon did not bind its commands endpoint";
  gw.commands = accepting->substr(accepting->find("tcp://"));
}

// A log line already read, or the next one with `needle`.
bool seenOrWait(ChildProcess& process, const std::string& needle) {
  return process.seenOrWaitForLine(needle, 30s).has_value();
}

// One raw request over the commands endpoint. `text` is sent as is.
struct Answer {
  json reply;
  std::optional<std::vector<uint8_t>> data;
  bool ok() const { return reply.value("ok", false); }
  std::string code() const { return reply.contains("error") ? reply["error"].value("code", "") : ""; }
  const json& result() const { return reply["result"]; }
};

Answer sendRaw(bus::CommandClient& client, const std::string& text) {
  auto reply = client.requestWithData(text, 10'000);
  EXPECT_TRUE(reply) << (reply ? "" : reply.error().message);
  if (!reply) return {};
  Answer answer{json::parse(reply->body, nullptr, false), std::move(reply->data)};
  EXPECT_FALSE(answer.reply.is_discarded()) << reply->body;
  return answer;
}

Answer send(bus::CommandClient& client, const std::string& cmd, const json& args = json::object()) {
  return sendRaw(client, json{{"v", 1}, {"id", "t-" + cmd}, {"cmd", cmd}, {"args", args}}.dump());
}

// Reads the subscriber until `match` accepts a message or the deadline passes.
template <class F>
bool receiveUntil(bus::Subscriber& sub, std::chrono::seconds within, F&& match) {
  const auto deadline = Clock::now() + within;
  while (Clock::now() < deadline) {
    auto received = sub.receive(200ms);
    if (match(received)) return true;
  }
  return false;
}

bool isEvent(const bus::Received& r, const std::string& alarm, alarm::AlarmEventKind kind, int level = 0) {
  const auto* e = std::get_if<bus::AlarmEventMessage>(&r);
  return e && e->event.alarm.id.hex() == alarm && e->event.kind == kind && (!level || e->event.alarm.level == level);
}

bool isTaggedVideo(const bus::Received& r, const std::string& camera, const std::string& alarm, int level) {
  const auto* v = std::get_if<bus::VideoMessage>(&r);
  if (!v || v->topic.camera != camera) return false;
  for (const auto& tag : v->header.tags)
    if (tag.id.hex() == alarm && tag.level == level) return true;
  return false;
}

// Decodes a JPEG with libavcodec's MJPEG decoder (what a platform's viewer
// would do); its picture size, or nullopt when it does not decode.
std::optional<std::pair<int, int>> decodeJpeg(const std::vector<uint8_t>& jpeg) {
  const AVCodec* codec = avcodec_find_decoder(AV_CODEC_ID_MJPEG);
  if (!codec) return std::nullopt;
  AVCodecContext* context = avcodec_alloc_context3(codec);
  AVPacket* packet = av_packet_alloc();
  AVFrame* frame = av_frame_alloc();
  std::optional<std::pair<int, int>> size;
  std::vector<uint8_t> padded(jpeg);
  padded.resize(jpeg.size() + AV_INPUT_BUFFER_PADDING_SIZE, 0);
  packet->data = padded.data();
  packet->size = static_cast<int>(jpeg.size());
  if (avcodec_open2(context, codec, nullptr) == 0 && avcodec_send_packet(context, packet) == 0 &&
      (avcodec_send_packet(context, nullptr), avcodec_receive_frame(context, frame) == 0))
    size = std::pair{frame->width, frame->height};
  av_frame_free(&frame);
  av_packet_free(&packet);
  avcodec_free_context(&context);
  return size;
}

std::vector<uint8_t> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Runs vcgatectl --json against `endpoint` to completion: its exit code and its JSON line.
std::pair<int, json> ctl(const std::string& endpoint, std::vector<std::string> args) {
  std::vector<std::string> argv{VCGATE_CTL_BIN, "-e", endpoint, "--json"};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto run = testing::runToEnd(argv);
  return {run.exit_code, run.firstJson()};
}

// Polls `cmd` until its answer is not "not_ready" (a snapshot being taken).
Answer untilReady(bus::CommandClient& client, const std::string& cmd, const json& args) {
  const auto deadline = Clock::now() + 30s;
  Answer answer = send(client, cmd, args);
  while (!answer.ok() && answer.code() == "not_ready" && Clock::now() < deadline) {
    std::this_thread::sleep_for(200ms);
    answer = send(client, cmd, args);
  }
  return answer;
}

TEST(PlatformCommands, AlarmLifecycleRefusalsClipsAndSnapshotsOverTcp) {
  TempDir dir;
  const auto config = dir.write("vcgate.yaml", gatewayConfig(dir));
  Gateway gw;
  ASSERT_NO_FATAL_FAILURE(startGateway(gw, config));
  ASSERT_TRUE(seenOrWait(gw.process, "camera cam-a: streaming"));
  ASSERT_TRUE(seenOrWait(gw.process, "camera cam-b: streaming"));

  auto made = bus::Subscriber::create({.endpoints = {gw.publish}, .prefixes = {""}});
  ASSERT_TRUE(made) << made.error().message;
  bus::Subscriber sub = std::move(*made);
  ASSERT_TRUE(receiveUntil(sub, 15s, [](const bus::Received& r) { return std::holds_alternative<bus::StatusMessage>(r); }))
      << "no heartbeat: the subscriber is not connected";

  auto client = std::make_unique<bus::CommandClient>(gw.commands);
  const Answer pong = send(*client, "ping");
  ASSERT_TRUE(pong.ok()) << pong.reply.dump();
  EXPECT_EQ(pong.result()["site"], "plat");

  // Let cam-a's pre-alarm buffer hold a second or more, so the raise has a
  // keyframe before it (the snapshot's frame): the gateway says when.
  {
    const auto deadline = Clock::now() + 20s;
    double buffered = 0;
    while (buffered < 1.0 && Clock::now() < deadline) {
      const Answer cameras = send(*client, "cameras");
      for (const auto& c : cameras.result()["cameras"])
        if (c["id"] == "cam-a") buffered = c.value("buffered_s", 0.0);
      if (buffered < 1.0) std::this_thread::sleep_for(200ms);
    }
    ASSERT_GE(buffered, 1.0) << "cam-a's pre-alarm buffer did not fill";
  }

  // ---- raise, escalate, live view, clear, acknowledge ----
  const Answer raised =
      send(*client, "alarm.raise", {{"cameras", {"cam-a"}}, {"level", 3}, {"type", "intrusion"}, {"description", "test"}});
  ASSERT_TRUE(raised.ok()) << raised.reply.dump();
  const std::string id = raised.result()["alarm"]["id"];
  EXPECT_EQ(raised.result()["alarm"]["source"], "platform") << "the commands channel raises as the platform";
  ASSERT_EQ(raised.result()["alarm"]["snapshots"].size(), 1u) << raised.reply.dump();
  const std::string snapshot_id = raised.result()["alarm"]["snapshots"][0]["id"];
  EXPECT_EQ(snapshot_id, id + "/cam-a.jpg");
  EXPECT_TRUE(receiveUntil(sub, 10s, [&](const auto& r) { return isEvent(r, id, alarm::AlarmEventKind::kRaised, 3); }))
      << "the subscriber did not see the raise";
  EXPECT_TRUE(receiveUntil(sub, 10s, [&](const auto& r) { return isTaggedVideo(r, "cam-a", id, 3); }))
      << "no cam-a video tagged with the alarm at level 3";

  const Answer escalated = send(*client, "alarm.update", {{"id", id}, {"level", 1}});
  ASSERT_TRUE(escalated.ok()) << escalated.reply.dump();
  EXPECT_EQ(escalated.result()["alarm"]["level"], 1);
  EXPECT_TRUE(receiveUntil(sub, 10s, [&](const auto& r) { return isEvent(r, id, alarm::AlarmEventKind::kUpdated, 1); }))
      << "the subscriber did not see the escalation";
  EXPECT_TRUE(receiveUntil(sub, 10s, [&](const auto& r) { return isTaggedVideo(r, "cam-a", id, 1); }))
      << "cam-a's video does not carry the new level";

  const Answer live = send(*client, "live.start", {{"camera", "cam-b"}, {"lease_s", 5}});
  ASSERT_TRUE(live.ok()) << live.reply.dump();
  EXPECT_TRUE(receiveUntil(sub, 10s, [&](const auto& r) {
    const auto* v = std::get_if<bus::VideoMessage>(&r);
    return v && v->topic.camera == "cam-b" && (v->header.flags & bus::kFlagLiveView);
  })) << "no live-view video of cam-b";

  // The snapshot, taken at the raise off the main thread: "not_ready" until written.
  const Answer snap = untilReady(*client, "snapshot.fetch", {{"alarm", id}, {"camera", "cam-a"}});
  ASSERT_TRUE(snap.ok()) << snap.reply.dump();
  ASSERT_TRUE(snap.data.has_value()) << "the JPEG travels as the second frame";
  EXPECT_EQ(snap.result()["id"], snapshot_id);
  EXPECT_EQ(snap.result()["size"], snap.data->size());
  EXPECT_EQ(snap.result()["sha256"], core::sha256Hex(*snap.data));
  const auto jpeg_size = decodeJpeg(*snap.data);
  ASSERT_TRUE(jpeg_size) << "the snapshot does not decode as a JPEG";
  EXPECT_EQ(*jpeg_size, (std::pair{320, 240}));
  EXPECT_EQ(snap.result()["width"], 320);
  EXPECT_EQ(snap.result()["height"], 240);

  // ---- refusals: each coded, none changes anything ----
  EXPECT_EQ(send(*client, "alarm.raise", {{"cameras", {"nowhere"}}, {"level", 1}, {"type", "x"}}).code(),
            "unknown_camera");
  EXPECT_EQ(send(*client, "alarm.raise", {{"cameras", {"cam-a"}}, {"level", 7}, {"type", "x"}}).code(),
            "invalid_argument");
  EXPECT_EQ(send(*client, "alarm.update", {{"id", id}, {"level", 0}}).code(), "invalid_argument");
  EXPECT_EQ(send(*client, "alarm.clear", {{"id", "00000000000000000000000000000000"}}).code(), "unknown_alarm");
  EXPECT_EQ(sendRaw(*client, "{\"v\":1,\"cmd\":\"alarm.raise\",").code(), "bad_request");
  EXPECT_EQ(sendRaw(*client, "[1,2,3]").code(), "bad_request");
  {
    const Answer missing = send(*client, "alarm.raise", {{"cameras", {"cam-a"}}, {"level", 1}});
    EXPECT_EQ(missing.code(), "invalid_argument");
    EXPECT_NE(missing.reply["error"].value("message", "").find("'type'"), std::string::npos) << missing.reply.dump();
  }
  EXPECT_EQ(send(*client, "alarm.clear").code(), "invalid_argument");
  EXPECT_EQ(send(*client, "live.start", {{"camera", "nowhere"}}).code(), "unknown_camera");
  EXPECT_EQ(send(*client, "reload").code(), "forbidden");
  EXPECT_EQ(send(*client, "clip.fetch", {{"id", "../../../etc/passwd"}}).code(), "invalid_argument");
  EXPECT_EQ(send(*client, "clip.fetch", {{"id", "2025-01-01/" + id + "/../../x.mp4"}}).code(), "invalid_argument");
  EXPECT_EQ(send(*client, "clip.fetch", {{"id", "2025-01-01/" + id + "/cam-a.mp4"}, {"max_bytes", 1'000'000'000}}).code(),
            "invalid_argument");
  EXPECT_EQ(send(*client, "clip.fetch", {{"id", "2025-01-01/" + id + "/cam-a.mp4"}}).code(), "unknown_clip");
  EXPECT_EQ(send(*client, "clip.list", {{"alarm", "not-an-id"}}).code(), "invalid_argument");
  EXPECT_EQ(send(*client, "snapshot.fetch", {{"id", "../../etc/passwd.jpg"}}).code(), "invalid_argument");
  EXPECT_EQ(send(*client, "snapshot.fetch", {{"alarm", id}, {"camera", "cam-b"}}).code(), "unknown_snapshot");
  {
    const Answer alarms = send(*client, "alarm.list");
    ASSERT_TRUE(alarms.ok());
    ASSERT_EQ(alarms.result()["active"].size(), 1u) << "a refusal raised or cleared something";
    EXPECT_EQ(alarms.result()["active"][0]["level"], 1);
  }

  const Answer cleared = send(*client, "alarm.clear", {{"id", id}});
  ASSERT_TRUE(cleared.ok()) << cleared.reply.dump();
  EXPECT_TRUE(receiveUntil(sub, 10s, [&](const auto& r) { return isEvent(r, id, alarm::AlarmEventKind::kCleared); }));
  const Answer acked = send(*client, "alarm.ack", {{"id", id}, {"by", "operator-7"}});
  ASSERT_TRUE(acked.ok()) << acked.reply.dump();
  EXPECT_EQ(acked.result()["alarm"]["acknowledged_by"], "operator-7");
  EXPECT_TRUE(receiveUntil(sub, 10s, [&](const auto& r) { return isEvent(r, id, alarm::AlarmEventKind::kAcknowledged); }));

  // ---- the alarm's clip: listed, complete once the post-roll has ended ----
  json clip;
  {
    const auto deadline = Clock::now() + 30s;
    while (Clock::now() < deadline) {
      const Answer list = send(*client, "clip.list", {{"alarm", id}});
      ASSERT_TRUE(list.ok()) << list.reply.dump();
      if (!list.result()["clips"].empty() && list.result()["clips"][0]["state"] == "complete") {
        ASSERT_EQ(list.result()["clips"].size(), 1u) << list.reply.dump();
        clip = list.result()["clips"][0];
        break;
      }
      std::this_thread::sleep_for(250ms);
    }
  }
  ASSERT_FALSE(clip.is_null()) << "the clip of the alarm did not complete";
  EXPECT_EQ(clip["camera"], "cam-a");
  EXPECT_EQ(clip["alarm"], id);
  EXPECT_GT(clip["frames"].get<int>(), 25) << clip.dump();
  EXPECT_TRUE(clip["sha256"].is_string()) << clip.dump();
  const std::string clip_id = clip["id"];
  const uint64_t size = clip["size"];
  const std::string on_disk = (dir.path() / "evidence" / clip_id).string();
  ASSERT_TRUE(std::filesystem::exists(on_disk)) << on_disk;
  ASSERT_GT(size, 3u * 4096) << "the clip is too small to fetch in several chunks";
  EXPECT_EQ(send(*client, "clip.fetch", {{"id", clip_id}, {"offset", size + 1}}).code(), "bad_offset");

  // Chunks of a quarter of the clip; the gateway restarts after the second.
  const int64_t chunk = static_cast<int64_t>(size / 4 + 1);
  std::vector<uint8_t> fetched;
  int requests = 0;
  const auto fetchSome = [&](bus::CommandClient& c, int at_most) -> json {
    json last;
    for (int i = 0; i < at_most; ++i) {
      const Answer piece = send(c, "clip.fetch", {{"id", clip_id}, {"offset", fetched.size()}, {"max_bytes", chunk}});
      EXPECT_TRUE(piece.ok()) << piece.reply.dump();
      if (!piece.ok() || !piece.data) return last;
      ++requests;
      last = piece.result();
      EXPECT_EQ(last["offset"], fetched.size());
      EXPECT_EQ(last["bytes"], piece.data->size());
      EXPECT_EQ(last["size"], size);
      EXPECT_FALSE(last["growing"].get<bool>());
      fetched.insert(fetched.end(), piece.data->begin(), piece.data->end());
      if (last["eof"].get<bool>()) break;
    }
    return last;
  };
  json last = fetchSome(*client, 2);
  ASSERT_EQ(fetched.size(), static_cast<size_t>(2 * chunk));
  ASSERT_FALSE(last["eof"].get<bool>());

  // ---- restart in the middle of the fetch ----
  client.reset();
  ASSERT_TRUE(gw.process.signal(SIGTERM));
  ASSERT_EQ(gw.process.wait(15s), 0) << "the daemon did not stop cleanly";
  Gateway again;
  ASSERT_NO_FATAL_FAILURE(startGateway(again, config));
  client = std::make_unique<bus::CommandClient>(again.commands);
  last = fetchSome(*client, 10);
  ASSERT_TRUE(last.value("eof", false)) << last.dump();
  EXPECT_GT(requests, 3) << "fetched in several chunks";
  EXPECT_EQ(fetched.size(), size);
  EXPECT_EQ(fetched, readFile(on_disk)) << "the fetched clip differs from the file";
  EXPECT_EQ(last["sha256"], core::sha256Hex(fetched));
  EXPECT_EQ(last["sha256"], clip["sha256"]);

  const std::string copy = (dir.path() / "fetched.mp4").string();
  {
    std::ofstream out(copy, std::ios::binary);
    out.write(reinterpret_cast<const char*>(fetched.data()), static_cast<std::streamsize>(fetched.size()));
  }
  const auto report = evidence::verifyPlayable(copy);
  EXPECT_TRUE(report.ok) << report.error;
  EXPECT_TRUE(report.starts_with_keyframe);
  EXPECT_EQ(report.width, 320);
  EXPECT_EQ(report.height, 240);
  EXPECT_EQ(report.decode_errors, 0);

  // The snapshot survives the restart (found again by the scan), the same bytes.
  const Answer snap_again = send(*client, "snapshot.fetch", {{"id", snapshot_id}});
  ASSERT_TRUE(snap_again.ok()) << snap_again.reply.dump();
  EXPECT_EQ(snap_again.data, snap.data);
  EXPECT_EQ(snap_again.result()["width"], 320);

  // The technician's tool over the same endpoint: lists the clip, finishes a
  // partial copy (the first 1000 bytes) and fetches the snapshot.
  const auto [list_exit, listed] = ctl(again.commands, {"clips", "--alarm", id});
  EXPECT_EQ(list_exit, 0);
  ASSERT_EQ(listed.value("clips", json::array()).size(), 1u) << listed.dump();
  EXPECT_EQ(listed["clips"][0]["id"], clip_id);
  const std::string partial = (dir.path() / "partial.mp4").string();
  {
    std::ofstream out(partial, std::ios::binary);
    out.write(reinterpret_cast<const char*>(fetched.data()), 1000);
  }
  const auto [fetch_exit, fetch_json] = ctl(again.commands, {"fetch", clip_id, partial, "--chunk-bytes", "65536"});
  EXPECT_EQ(fetch_exit, 0) << fetch_json.dump();
  EXPECT_EQ(fetch_json.value("resumed_from", 0), 1000) << fetch_json.dump();
  EXPECT_TRUE(fetch_json.value("verified", false)) << fetch_json.dump();
  EXPECT_EQ(readFile(partial), fetched);
  const std::string jpeg_file = (dir.path() / "cam-a.jpg").string();
  const auto [snap_exit, snap_json] = ctl(again.commands, {"fetch", snapshot_id, jpeg_file});
  EXPECT_EQ(snap_exit, 0) << snap_json.dump();
  EXPECT_EQ(readFile(jpeg_file), *snap.data);
  // A refusal is exit 1 with the gateway's code, and leaves no file behind.
  const std::string none = (dir.path() / "none.mp4").string();
  const auto [bad_exit, bad_json] = ctl(again.commands, {"fetch", "../../etc/passwd", none});
  EXPECT_EQ(bad_exit, 1);
  EXPECT_EQ(bad_json.value("code", ""), "invalid_argument") << bad_json.dump();
  EXPECT_FALSE(std::filesystem::exists(none));

  ASSERT_TRUE(again.process.signal(SIGTERM));
  EXPECT_EQ(again.process.wait(15s), 0);
}

}  // namespace
}  // namespace vcgate
