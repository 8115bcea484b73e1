#include "gateway/bus/protocol.h"

#include <gtest/gtest.h>

#include <random>

namespace vcgate::bus {
namespace {

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

alarm::AlarmId idOf(uint8_t fill) {
  alarm::AlarmId id;
  id.bytes.fill(fill);
  return id;
}

VideoHeader sampleHeader() {
  VideoHeader h;
  h.flags = kFlagKeyframe | kFlagPreRoll;
  h.boot_id = 0x0123456789abcdefull;
  h.seq = 42;
  h.pts_ns = 1'000'000'000;
  h.dts_ns = 960'000'000;
  h.capture_us = 1'764'000'000'000'000;
  h.publish_us = 1'764'000'000'001'000;
  h.codec = core::VideoCodec::kH265;
  h.width = 1920;
  h.height = 1080;
  h.tags = {{idOf(0xaa), 1}, {idOf(0xbb), 3}};
  return h;
}

TEST(Protocol, TopicsEndInASlashAndParseBack) {
  EXPECT_EQ(videoTopic("north", "hall-a-1"), "video/north/hall-a-1/");
  EXPECT_EQ(alarmTopic("north"), "alarm/north/");
  EXPECT_EQ(statusTopic("north"), "status/north/");
  auto t = parseTopic("video/north/hall-a-1/");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->kind, TopicKind::kVideo);
  EXPECT_EQ(t->site, "north");
  EXPECT_EQ(t->camera, "hall-a-1");
  EXPECT_TRUE(parseTopic("alarm/north/").ok());
  for (const char* bad : {"", "video/north/cam", "video/north/", "alarm/north/x/", "nope/x/", "video/n/c d/",
                          "video//cam/"})
    EXPECT_FALSE(parseTopic(bad).ok()) << bad;
}

TEST(Protocol, VideoHeaderRoundTripsWithTags) {
  std::string frame;
  encodeVideoHeader(sampleHeader(), frame);
  EXPECT_EQ(frame.size(), kVideoFixedHeaderSize + 2 * kAlarmTagSize);
  auto decoded = decodeVideoHeader(bytes(frame));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  const auto expected = sampleHeader();
  EXPECT_EQ(decoded->flags, expected.flags);
  EXPECT_EQ(decoded->boot_id, expected.boot_id);
  EXPECT_EQ(decoded->seq, expected.seq);
  EXPECT_EQ(decoded->pts_ns, expected.pts_ns);
  EXPECT_EQ(decoded->dts_ns, expected.dts_ns);
  EXPECT_EQ(decoded->capture_us, expected.capture_us);
  EXPECT_EQ(decoded->publish_us, expected.publish_us);
  EXPECT_EQ(decoded->codec, expected.codec);
  EXPECT_EQ(decoded->width, 1920);
  EXPECT_EQ(decoded->height, 1080);
  EXPECT_EQ(decoded->tags, expected.tags);
  EXPECT_TRUE(decoded->keyframe());
}

TEST(Protocol, VideoHeaderIsLittleEndianAtDocumentedOffsets) {
  std::string frame;
  encodeVideoHeader(sampleHeader(), frame);
  const auto* p = reinterpret_cast<const uint8_t*>(frame.data());
  EXPECT_EQ(p[0], 1);        // version
  EXPECT_EQ(p[1], 1);        // kind video
  EXPECT_EQ(p[2], 0x09);     // flags: keyframe | pre-roll
  EXPECT_EQ(p[4], 64 + 34);  // header size
  EXPECT_EQ(p[6], 2);        // tag count
  EXPECT_EQ(p[8], 0xef);     // boot id, least significant byte first
  EXPECT_EQ(p[16], 42);      // seq
  EXPECT_EQ(p[56], 2);       // codec h265
  EXPECT_EQ(p[58] | p[59] << 8, 1920);
  EXPECT_EQ(p[62], 64);      // tags offset
  EXPECT_EQ(p[64], 0xaa);    // first tag id
  EXPECT_EQ(p[80], 1);       // first tag level
}

TEST(Protocol, VideoHeaderRejectsMalformedFrames) {
  std::string frame;
  encodeVideoHeader(sampleHeader(), frame);
  for (size_t cut = 0; cut < frame.size(); ++cut)
    EXPECT_FALSE(decodeVideoHeader(bytes(frame.substr(0, cut))).ok()) << "truncated to " << cut;
  auto bad = frame;
  bad[0] = 2;
  EXPECT_NE(decodeVideoHeader(bytes(bad)).error().message.find("version 2"), std::string::npos);
  bad = frame;
  bad[56] = 7;
  EXPECT_FALSE(decodeVideoHeader(bytes(bad)).ok());
  bad = frame;
  bad[80] = 9;  // level 9
  EXPECT_FALSE(decodeVideoHeader(bytes(bad)).ok());
  bad = frame + "xx";  // trailing bytes not announced in header_size
  EXPECT_FALSE(decodeVideoHeader(bytes(bad)).ok());
}

TEST(Protocol, VideoHeaderAcceptsAFutureLongerFixedPart) {
  // A v1 writer of the future may add fields after offset 64 and move the tags:
  // today's reader skips what it does not know.
  std::string frame;
  encodeVideoHeader(sampleHeader(), frame);
  std::string future = frame.substr(0, 64) + std::string(8, '\x55') + frame.substr(64);
  future[4] = static_cast<char>(64 + 8 + 34);
  future[62] = 72;
  auto decoded = decodeVideoHeader(bytes(future));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded->tags, sampleHeader().tags);
}

TEST(Protocol, RandomBytesNeverCrashTheDecoders) {
  std::mt19937 rng(7);
  for (int i = 0; i < 20000; ++i) {
    std::string junk(rng() % 200, '\0');
    for (auto& c : junk) c = static_cast<char>(rng());
    if (i % 2) junk[0] = 1, junk.size() > 1 ? junk[1] = 1 : 0;
    (void)decodeVideoHeader(bytes(junk));
    (void)decodeAlarmEvent(junk);
    (void)decodeStatus(junk);
    (void)parseTopic(junk);
  }
}

AlarmEventMessage sampleEvent() {
  AlarmEventMessage m;
  m.boot_id = 0xfeed;
  m.seq = 7;
  m.time_us = 1'764'000'000'000'000;
  m.site = "north";
  m.event.kind = alarm::AlarmEventKind::kUpdated;
  auto& a = m.event.alarm;
  a.id = idOf(0x11);
  a.source = "manual";
  a.type = "intrusion";
  a.level = 1;
  a.cameras = {"hall-a-1", "hall-a-2"};
  a.description = "person on the tracks";
  a.raised_us = 1'764'000'000'000'000;
  a.updated_us = 1'764'000'000'500'000;
  a.pre_roll_s = 10;
  a.post_roll_s = 5;
  return m;
}

TEST(Protocol, AlarmEventRoundTrips) {
  const auto json = encodeAlarmEvent(sampleEvent());
  auto decoded = decodeAlarmEvent(json);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded->boot_id, 0xfeedu);
  EXPECT_EQ(decoded->seq, 7u);
  EXPECT_EQ(decoded->site, "north");
  EXPECT_EQ(decoded->event.kind, alarm::AlarmEventKind::kUpdated);
  const auto& a = decoded->event.alarm;
  EXPECT_EQ(a.id, idOf(0x11));
  EXPECT_EQ(a.level, 1);
  EXPECT_EQ(a.cameras, (std::vector<std::string>{"hall-a-1", "hall-a-2"}));
  EXPECT_EQ(a.description, "person on the tracks");
  EXPECT_EQ(a.state, alarm::AlarmState::kActive);
  EXPECT_EQ(a.updated_us, 1'764'000'000'500'000);
  EXPECT_EQ(a.pre_roll_s, 10);
  EXPECT_EQ(a.rule, "");
  EXPECT_EQ(a.trigger, "");
}

// A rule's alarm names the rule and its trigger, and keeps them through the
// active-alarms file and the journal (both hold this JSON): a restarted
// gateway gives the alarm back to its rule.
TEST(Protocol, ARuleAlarmKeepsItsRuleAndTrigger) {
  auto m = sampleEvent();
  m.event.alarm.source = "analytics";
  m.event.alarm.rule = "tracks-motion";
  m.event.alarm.trigger = "hall-a-1";
  auto decoded = decodeAlarmEvent(encodeAlarmEvent(m));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded->event.alarm.rule, "tracks-motion");
  EXPECT_EQ(decoded->event.alarm.trigger, "hall-a-1");
}

TEST(Protocol, AlarmEventRejectionsSayWhy) {
  EXPECT_NE(decodeAlarmEvent("{").error().message.find("not valid JSON"), std::string::npos);
  EXPECT_NE(decodeAlarmEvent("[1]").error().message.find("not a JSON object"), std::string::npos);
  EXPECT_NE(decodeAlarmEvent(R"({"v":2})").error().message.find("version 2"), std::string::npos);
  auto json = encodeAlarmEvent(sampleEvent());
  auto without_seq = json;
  without_seq.replace(without_seq.find("\"seq\""), 5, "\"sex\"");
  EXPECT_NE(decodeAlarmEvent(without_seq).error().message.find("'seq'"), std::string::npos);
  auto bad_level = json;
  bad_level.replace(bad_level.find("\"level\":1"), 9, "\"level\":5");
  EXPECT_FALSE(decodeAlarmEvent(bad_level).ok());
  auto bad_type = json;
  bad_type.replace(bad_type.find("\"description\":\"person on the tracks\""), 36, "\"description\":12345");
  EXPECT_FALSE(decodeAlarmEvent(bad_type).ok()) << "a wrong type in an optional field is an error, not a crash";
}

// Found by fuzz_bus_messages: an integer field written as a float too large
// for its type (1e300) was a float-to-integer conversion with undefined
// behaviour (UBSan in the sanitizer build). It is refused, naming the field.
TEST(Protocol, IntegerFieldsOutOfRangeAreRefusedNotConverted) {
  const auto json = encodeAlarmEvent(sampleEvent());
  const auto with = [&](const std::string& from, const std::string& to) {
    auto out = json;
    const auto at = out.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return out.replace(at, from.size(), to);
  };
  const auto refusal = [](const core::Result<AlarmEventMessage>& r) {
    return r.ok() ? std::string("accepted") : r.error().message;
  };
  EXPECT_NE(refusal(decodeAlarmEvent(with("\"v\":1", "\"v\":1e300"))).find("'v' is out of range"), std::string::npos);
  EXPECT_NE(refusal(decodeAlarmEvent(with("\"seq\":7", "\"seq\":-1e300"))).find("'seq'"), std::string::npos);
  EXPECT_NE(refusal(decodeAlarmEvent(with("\"seq\":7", "\"seq\":7,\"redelivery\":5e9"))).find("'redelivery'"),
            std::string::npos);
  EXPECT_NE(refusal(decodeAlarmEvent(with("\"level\":1", "\"level\":1e10"))).find("'level'"), std::string::npos);
  EXPECT_FALSE(decodeStatus(R"({"v":1,"boot":"00000000000000ff","seq":1,"time_us":1,"site":"s","interval_s":1,)"
                            R"("active_alarms":-3e9,"cameras":[]})")
                   .ok());
  // A float that fits is read as before (truncated).
  auto fits = decodeAlarmEvent(with("\"seq\":7", "\"seq\":7.0"));
  ASSERT_TRUE(fits.ok()) << fits.error().message;
  EXPECT_EQ(fits->seq, 7u);
}

TEST(Protocol, StatusRoundTrips) {
  StatusMessage m;
  m.boot_id = 3;
  m.seq = 9;
  m.time_us = 5;
  m.site = "north";
  m.version = "0.1.0";
  m.uptime_s = 12.5;
  m.interval_s = 1;
  m.active_alarms = 1;
  CameraStatus c;
  c.id = "hall-a-1";
  c.state = "streaming";
  c.fps = 25;
  c.frames = 100;
  c.published = 50;
  c.dropped = 2;
  c.buffered_bytes = 1000;
  c.alarms = {{idOf(0x22), 2}};
  c.live_view = true;
  m.cameras = {c};
  auto decoded = decodeStatus(encodeStatus(m));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded->seq, 9u);
  EXPECT_EQ(decoded->uptime_s, 12.5);
  ASSERT_EQ(decoded->cameras.size(), 1u);
  EXPECT_EQ(decoded->cameras[0].id, "hall-a-1");
  EXPECT_EQ(decoded->cameras[0].dropped, 2u);
  EXPECT_EQ(decoded->cameras[0].alarms, c.alarms);
  EXPECT_TRUE(decoded->cameras[0].live_view);
}

TEST(AlarmId, HexRoundTripAndRejects) {
  std::mt19937_64 rng(1);
  const auto id = alarm::AlarmId::random(rng);
  EXPECT_EQ(alarm::AlarmId::fromHex(id.hex()), id);
  EXPECT_FALSE(alarm::AlarmId::fromHex("xyz"));
  EXPECT_FALSE(alarm::AlarmId::fromHex(std::string(32, 'G')));
  EXPECT_NE(alarm::AlarmId::random(rng), id);
}

}  // namespace
}  // namespace vcgate::bus
