// Writes the seed corpora of the fuzz targets from real messages made by the
// project's own encoders, so the seeds follow the protocol as it is:
//   build-fuzz/tests/fuzz/fuzz_make_seeds tests/fuzz/corpus
// (tools/fuzz.sh --seeds runs it). The control requests are the examples of
// docs/protocol.md section 7; the configs are the repository's own.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "gateway/bus/protocol.h"
#include "tests/fuzz/fuzz_input.h"

namespace {

using namespace vcgate;
namespace fs = std::filesystem;

void write(const fs::path& dir, const std::string& name, const std::string& bytes) {
  fs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary) << bytes;
}

alarm::AlarmId idOf(uint8_t seed) {
  alarm::AlarmId id;
  for (size_t i = 0; i < id.bytes.size(); ++i) id.bytes[i] = static_cast<uint8_t>(seed * 17 + i);
  return id;
}

void busSeeds(const fs::path& dir) {
  const std::string topic = bus::videoTopic("north", "hall-a-1");
  // A keyframe (SPS, PPS, IDR start) tagged with two alarms, and a plain delta unit.
  bus::VideoHeader key;
  key.flags = bus::kFlagKeyframe | bus::kFlagDiscontinuity | bus::kFlagPreRoll;
  key.boot_id = 0x5f3a9c0e12345678;
  key.seq = 41;
  key.pts_ns = 3'600'000'000;
  key.dts_ns = 3'600'000'000;
  key.capture_us = 1'700'000'000'000'000;
  key.publish_us = 1'700'000'000'004'000;
  key.width = 1920;
  key.height = 1080;
  key.tags = {{idOf(1), 1}, {idOf(2), 3}};
  std::string header;
  bus::encodeVideoHeader(key, header);
  const std::string idr("\x00\x00\x00\x01\x67\x42\xc0\x1f\x00\x00\x00\x01\x68\xce\x3c\x80\x00\x00\x00\x01\x65\x88\x84",
                        23);
  write(dir, "video-keyframe-tagged", fuzz::joinFrames({topic, header, idr}));

  bus::VideoHeader delta = key;
  delta.flags = bus::kFlagLiveView;
  delta.seq = 42;
  delta.codec = core::VideoCodec::kH265;
  delta.tags.clear();
  bus::encodeVideoHeader(delta, header);
  write(dir, "video-delta-h265-live", fuzz::joinFrames({topic, header, std::string("\x00\x00\x01\x02\x01\xd0", 6)}));

  bus::AlarmEventMessage event;
  event.boot_id = key.boot_id;
  event.seq = 7;
  event.event_id = 1042;
  event.redelivery = 1;
  event.time_us = 1'700'000'000'000'000;
  event.site = "north";
  event.event.kind = alarm::AlarmEventKind::kRaised;
  auto& a = event.event.alarm;
  a.id = idOf(1);
  a.level = 1;
  a.cameras = {"hall-a-1", "hall-a-2"};
  a.source = "panic";
  a.type = "intrusion";
  a.description = "door 3 forced";
  a.raised_us = 1'699'999'999'000'000;
  a.pre_roll_s = 10;
  a.post_roll_s = 10;
  write(dir, "alarm-raised", fuzz::joinFrames({bus::alarmTopic("north"), bus::encodeAlarmEvent(event)}));
  event.event.kind = alarm::AlarmEventKind::kCleared;
  a.state = alarm::AlarmState::kCleared;
  a.cleared_us = 1'700'000'000'500'000;
  a.acknowledged = true;
  a.acknowledged_by = "operator-12";
  write(dir, "alarm-cleared-acked", fuzz::joinFrames({bus::alarmTopic("north"), bus::encodeAlarmEvent(event)}));

  bus::StatusMessage status;
  status.boot_id = key.boot_id;
  status.seq = 300;
  status.time_us = 1'700'000'000'000'000;
  status.site = "north";
  status.version = "0.1.0";
  status.uptime_s = 300.5;
  status.active_alarms = 1;
  status.journal_backlog = 2;
  status.uplink_budget_kbps = 4000;
  status.uplink_demand_kbps = 5200;
  bus::CameraStatus c;
  c.id = "hall-a-1";
  c.state = "streaming";
  c.fps = 25;
  c.bitrate_bps = 2'000'000;
  c.frames = 7500;
  c.published = 42;
  c.buffered_bytes = 2'500'000;
  c.buffered_s = 10;
  c.alarms = {{idOf(1), 1}};
  c.uplink = "keyframes";
  c.budget_skipped = 120;
  status.cameras.push_back(c);
  c = {};
  c.id = "hall-a-2";
  c.state = "backoff";
  status.cameras.push_back(c);
  write(dir, "status-two-cameras", fuzz::joinFrames({bus::statusTopic("north"), bus::encodeStatus(status)}));
}

void controlSeeds(const fs::path& dir) {
  const std::vector<std::pair<std::string, std::string>> requests = {
      {"ping", R"({"v":1,"id":"c-1","cmd":"ping"})"},
      {"status", R"({"v":1,"id":"c-2","cmd":"status"})"},
      {"cameras", R"({"v":1,"cmd":"cameras"})"},
      {"inputs", R"({"v":1,"cmd":"inputs"})"},
      {"alarm-raise",
       R"({"v":1,"id":"c-81","cmd":"alarm.raise","args":{"cameras":["hall-a-1"],"level":1,"type":"intrusion"}})"},
      {"alarm-raise-full",
       R"({"v":1,"id":"c-82","cmd":"alarm.raise","args":{"cameras":["hall-a-1","hall-a-2"],"level":2,"type":"fire","description":"smoke in hall A","source":"platform","pre_roll_s":5.5,"post_roll_s":20}})"},
      {"alarm-update", R"({"v":1,"cmd":"alarm.update","args":{"id":"0123456789abcdef0123456789abcdef","level":3,"description":"x"}})"},
      {"alarm-clear", R"({"v":1,"cmd":"alarm.clear","args":{"id":"0123456789abcdef0123456789abcdef"}})"},
      {"alarm-ack", R"({"v":1,"cmd":"alarm.ack","args":{"id":"0123456789abcdef0123456789abcdef","by":"operator-12"}})"},
      {"alarm-list", R"({"v":1,"cmd":"alarm.list"})"},
      {"event-ack", R"({"v":1,"cmd":"event.ack","args":{"event_ids":[1042,1043]}})"},
      {"live-start", R"({"v":1,"cmd":"live.start","args":{"camera":"hall-a-2","lease_s":30}})"},
      {"live-stop", R"({"v":1,"cmd":"live.stop","args":{"camera":"hall-a-2"}})"},
      {"reload", R"({"v":1,"cmd":"reload"})"},
      {"unknown-version", R"({"v":2,"cmd":"ping"})"},
  };
  for (const auto& [name, text] : requests) write(dir, name, text);
}

void configSeeds(const fs::path& dir, const fs::path& source) {
  for (const char* name : {"demo.yaml", "station.yaml", "mall.yaml"}) {
    std::ifstream in(source / "configs" / name, std::ios::binary);
    write(dir, name, std::string(std::istreambuf_iterator<char>(in), {}));
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: fuzz_make_seeds CORPUS_DIR SOURCE_DIR\n";
    return 2;
  }
  const fs::path corpus = argv[1];
  busSeeds(corpus / "fuzz_bus_messages");
  controlSeeds(corpus / "fuzz_control_requests");
  configSeeds(corpus / "fuzz_config", argv[2]);
  return 0;
}
