// The config loader: every field reaches the structs, defaults apply, and
// every class of mistake is reported at the right line:column with a message
// a technician can act on. Diagnostics are compared in full on purpose: the
// text is the product here.
#include "gateway/config/config.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace vcgate::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;

constexpr char kPath[] = "/etc/vcgate/site.yaml";

LoadResult load(const std::string& text) { return loadConfigText(text, kPath); }

// "LINE:COLUMN: MESSAGE" for each diagnostic: short to compare, and gtest
// prints them all when an assertion fails.
std::vector<std::string> errors(const LoadResult& result) {
  std::vector<std::string> out;
  for (const auto& d : result.diagnostics) out.push_back(std::to_string(d.line) + ":" + std::to_string(d.column) + ": " + d.message);
  return out;
}

// A valid config with one camera; tests append to it or replace parts. Lines:
//  1 site:
//  2   id: s1
//  3 cameras:
//  4   - id: cam-1
//  5     uri: rtsp://192.0.2.10/stream1
constexpr char kMinimal[] =
    "site:\n"
    "  id: s1\n"
    "cameras:\n"
    "  - id: cam-1\n"
    "    uri: rtsp://192.0.2.10/stream1\n";

// The same with one more camera line (line 6 onwards belongs to the caller).
std::string minimalWithCameraLines(const std::string& lines) { return std::string(kMinimal) + lines; }

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "config_test.XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    const auto file = path_ / name;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file) << text;
    return file.string();
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// ---------------------------------------------------------------- valid input

TEST(ConfigLoad, FullConfigReachesEveryField) {
  const auto result = load(R"(
site:
  id: station-north
  name: "North station"
  location: "Platform 1"
logging:
  level: debug
  stats_interval_s: 30
bus:
  publish:
    - tcp://0.0.0.0:5556
    - ipc:///tmp/pub.sock
    - inproc://local
  control: tcp://127.0.0.1:5557
storage:
  state_dir: /srv/vcgate
  evidence_dir: /srv/vcgate/clips
cameras:
  - id: hall-a-1
    name: "Hall A entrance"
    uri: rtsp://user:pw@10.0.0.5:554/stream1
    sub_uri: rtsps://10.0.0.5/stream2
    enabled: false
    transport: udp
    latency_ms: 400
    connect_timeout_ms: 2000
    stall_timeout_ms: 3000
    loop: false
    buffering:
      pre_roll_s: 12.5
      max_bytes: 32MiB
    reconnect:
      initial_ms: 100
      max_ms: 20000
      stable_ms: 0
)");
  ASSERT_TRUE(result.ok()) << ::testing::PrintToString(errors(result));
  EXPECT_TRUE(result.diagnostics.empty());
  const Config& c = *result.config;
  EXPECT_EQ(c.source_path, kPath);
  EXPECT_EQ(c.site.id, "station-north");
  EXPECT_EQ(c.site.name, "North station");
  EXPECT_EQ(c.site.location, "Platform 1");
  EXPECT_EQ(c.logging.level, "debug");
  EXPECT_EQ(c.logging.stats_interval, 30s);
  EXPECT_THAT(c.bus.publish, ElementsAre("tcp://0.0.0.0:5556", "ipc:///tmp/pub.sock", "inproc://local"));
  EXPECT_EQ(c.bus.control, "tcp://127.0.0.1:5557");
  EXPECT_EQ(c.storage.state_dir, "/srv/vcgate");
  EXPECT_EQ(c.storage.evidence_dir, "/srv/vcgate/clips");
  ASSERT_EQ(c.cameras.size(), 1u);
  const CameraConfig& cam = c.cameras[0];
  EXPECT_EQ(cam.id, "hall-a-1");
  EXPECT_EQ(cam.name, "Hall A entrance");
  EXPECT_EQ(cam.uri, "rtsp://user:pw@10.0.0.5:554/stream1");
  EXPECT_EQ(cam.sub_uri, "rtsps://10.0.0.5/stream2");
  EXPECT_FALSE(cam.enabled);
  EXPECT_EQ(cam.transport, Transport::kUdp);
  EXPECT_EQ(cam.latency, 400ms);
  EXPECT_EQ(cam.connect_timeout, 2000ms);
  EXPECT_EQ(cam.stall_timeout, 3000ms);
  EXPECT_FALSE(cam.loop);
  EXPECT_DOUBLE_EQ(cam.buffering.pre_roll_s, 12.5);
  EXPECT_EQ(cam.buffering.max_bytes, 32ull << 20);
  EXPECT_EQ(cam.reconnect.initial, 100ms);
  EXPECT_EQ(cam.reconnect.max, 20000ms);
  EXPECT_EQ(cam.reconnect.stable, 0ms);
}

TEST(ConfigLoad, MinimalConfigGetsDocumentedDefaults) {
  const auto result = load(kMinimal);
  ASSERT_TRUE(result.ok()) << ::testing::PrintToString(errors(result));
  const Config& c = *result.config;
  EXPECT_EQ(c.site.name, "s1");  // name defaults to id
  EXPECT_EQ(c.site.location, "");
  EXPECT_EQ(c.logging.level, "info");
  EXPECT_EQ(c.logging.stats_interval, 10s);
  EXPECT_THAT(c.bus.publish, ElementsAre("tcp://127.0.0.1:5556"));
  EXPECT_EQ(c.bus.control, "ipc:///run/vcgate/control.sock");
  EXPECT_EQ(c.storage.state_dir, "/var/lib/vcgate");
  EXPECT_EQ(c.storage.evidence_dir, "/var/lib/vcgate/evidence");
  ASSERT_EQ(c.cameras.size(), 1u);
  const CameraConfig& cam = c.cameras[0];
  EXPECT_EQ(cam.name, "cam-1");
  EXPECT_EQ(cam.sub_uri, "");
  EXPECT_TRUE(cam.enabled);
  EXPECT_EQ(cam.transport, Transport::kTcp);
  EXPECT_EQ(cam.latency, 200ms);
  EXPECT_EQ(cam.connect_timeout, 10'000ms);
  EXPECT_EQ(cam.stall_timeout, 5'000ms);
  EXPECT_TRUE(cam.loop);
  EXPECT_DOUBLE_EQ(cam.buffering.pre_roll_s, 10.0);
  EXPECT_EQ(cam.buffering.max_bytes, 16ull << 20);
  EXPECT_EQ(cam.reconnect.initial, 500ms);
  EXPECT_EQ(cam.reconnect.max, 30'000ms);
  EXPECT_EQ(cam.reconnect.stable, 60'000ms);
}

TEST(ConfigLoad, CameraDefaultsApplyUnlessTheCameraOverrides) {
  // camera_defaults after the cameras on purpose: order in the file must not matter.
  const auto result = load(R"(
site: {id: s1}
cameras:
  - id: plain
    uri: rtsp://192.0.2.1/a
  - id: own
    uri: rtsp://192.0.2.2/a
    transport: tcp
    latency_ms: 50
    buffering:
      max_bytes: 1MiB
    reconnect:
      max_ms: 9000
camera_defaults:
  transport: udp
  latency_ms: 700
  enabled: false
  buffering:
    pre_roll_s: 20
    max_bytes: 8MiB
  reconnect:
    initial_ms: 1000
)");
  ASSERT_TRUE(result.ok()) << ::testing::PrintToString(errors(result));
  const auto& plain = result.config->cameras[0];
  EXPECT_EQ(plain.transport, Transport::kUdp);
  EXPECT_EQ(plain.latency, 700ms);
  EXPECT_FALSE(plain.enabled);
  EXPECT_DOUBLE_EQ(plain.buffering.pre_roll_s, 20.0);
  EXPECT_EQ(plain.buffering.max_bytes, 8ull << 20);
  EXPECT_EQ(plain.reconnect.initial, 1000ms);
  EXPECT_EQ(plain.reconnect.max, 30'000ms);
  EXPECT_EQ(plain.name, "plain");

  const auto& own = result.config->cameras[1];
  EXPECT_EQ(own.transport, Transport::kTcp);
  EXPECT_EQ(own.latency, 50ms);
  EXPECT_FALSE(own.enabled);  // not overridden: inherited
  // A nested mapping overrides key by key: pre_roll_s still comes from the defaults.
  EXPECT_DOUBLE_EQ(own.buffering.pre_roll_s, 20.0);
  EXPECT_EQ(own.buffering.max_bytes, 1ull << 20);
  EXPECT_EQ(own.reconnect.initial, 1000ms);
  EXPECT_EQ(own.reconnect.max, 9000ms);
}

TEST(ConfigLoad, EmptySectionsAreAccepted) {
  const auto result = load(std::string(kMinimal) + "camera_defaults:\nlogging:\nbus: {}\nstorage:\n");
  ASSERT_TRUE(result.ok()) << ::testing::PrintToString(errors(result));
  EXPECT_EQ(result.config->logging.level, "info");
}

TEST(ConfigLoad, PublishAcceptsOneStringAndWildcardPort) {
  const auto result = load(std::string(kMinimal) + "bus:\n  publish: tcp://*:*\n  control: ipc:///tmp/c.sock\n");
  ASSERT_TRUE(result.ok()) << ::testing::PrintToString(errors(result));
  EXPECT_THAT(result.config->bus.publish, ElementsAre("tcp://*:*"));
}

TEST(ConfigLoad, StatsIntervalZeroMeansNever) {
  const auto result = load(std::string(kMinimal) + "logging:\n  stats_interval_s: 0\n");
  ASSERT_TRUE(result.ok()) << ::testing::PrintToString(errors(result));
  EXPECT_EQ(result.config->logging.stats_interval, 0s);
}

TEST(ConfigLoad, PreRollAcceptsIntegerAndFloat) {
  for (const auto& [text, expected] : {std::pair{"7", 7.0}, {"0.5", 0.5}, {"0", 0.0}, {"300", 300.0}}) {
    const auto result = load(minimalWithCameraLines(std::string("    buffering: {pre_roll_s: ") + text + "}\n"));
    ASSERT_TRUE(result.ok()) << text << ": " << ::testing::PrintToString(errors(result));
    EXPECT_DOUBLE_EQ(result.config->cameras[0].buffering.pre_roll_s, expected) << text;
  }
}

TEST(ConfigLoad, SizeSuffixes) {
  const std::pair<std::string, uint64_t> cases[] = {
      {"65536", 65536},         {"16MiB", 16ull << 20},  {"512KiB", 512ull << 10}, {"4GiB", 4ull << 30},
      {"2 MiB", 2ull << 20},    {"100000B", 100'000},    {"100KB", 100'000}, {"5MB", 5'000'000},
      {"1GB", 1'000'000'000},   {"16mib", 16ull << 20},
  };
  for (const auto& [text, bytes] : cases) {
    const auto result = load(minimalWithCameraLines("    buffering: {max_bytes: " + text + "}\n"));
    ASSERT_TRUE(result.ok()) << text << ": " << ::testing::PrintToString(errors(result));
    EXPECT_EQ(result.config->cameras[0].buffering.max_bytes, bytes) << text;
  }
}

TEST(ConfigLoad, BadSizesSayWhatIsAccepted) {
  const auto bad = load(minimalWithCameraLines("    buffering: {max_bytes: 1.5MiB}\n"));
  EXPECT_THAT(errors(bad), ElementsAre("6:28: buffering.max_bytes must be a size in bytes such as 16MiB (suffixes B, "
                                       "KiB, MiB, GiB, KB, MB, GB), got '1.5MiB'"));
  const auto big = load(minimalWithCameraLines("    buffering: {max_bytes: 5GiB}\n"));
  EXPECT_THAT(errors(big), ElementsAre("6:28: buffering.max_bytes must be between 64KiB and 4GiB, got 5GiB"));
  const auto overflow = load(minimalWithCameraLines("    buffering: {max_bytes: 99999999999999999999GiB}\n"));
  EXPECT_EQ(overflow.diagnostics.size(), 1u);
}

TEST(ConfigLoad, FileUriRelativeToTheConfigDirectory) {
  const auto result = loadConfigText(R"(
site: {id: s1}
cameras:
  - id: rel
    uri: file://media/clip.mp4
  - id: dot
    uri: file://./media/../clips/b.mkv
  - id: abs
    uri: file:///data/c.ts
    sub_uri: file://sub.h264
)",
                                     "/srv/vcgate/configs/site.yaml");
  ASSERT_TRUE(result.ok()) << ::testing::PrintToString(errors(result));
  const auto& cams = result.config->cameras;
  EXPECT_EQ(cams[0].uri, "file:///srv/vcgate/configs/media/clip.mp4");
  EXPECT_EQ(cams[1].uri, "file:///srv/vcgate/configs/clips/b.mkv");
  EXPECT_EQ(cams[2].uri, "file:///data/c.ts");
  EXPECT_EQ(cams[2].sub_uri, "file:///srv/vcgate/configs/sub.h264");
}

TEST(ConfigLoad, FileUriRelativeToAConfigFileOnDisk) {
  TempDir dir;
  const std::string path =
      dir.write("etc/site.yaml", "site: {id: s1}\ncameras:\n  - id: c\n    uri: file://clips/a.mp4\n");
  const auto result = loadConfigFile(path);
  ASSERT_TRUE(result.ok()) << ::testing::PrintToString(errors(result));
  EXPECT_EQ(result.config->cameras[0].uri, "file://" + (dir.path() / "etc/clips/a.mp4").string());
  EXPECT_EQ(result.config->source_path, path);
}

TEST(ConfigLoad, TestUriIsAccepted) {
  const auto result = load(minimalWithCameraLines("  - id: synth\n    uri: test://synth?codec=h265&fps=30\n"));
  ASSERT_TRUE(result.ok()) << ::testing::PrintToString(errors(result));
  EXPECT_EQ(result.config->cameras[1].uri, "test://synth?codec=h265&fps=30");
}

TEST(ConfigLoad, ExampleConfigsAreValid) {
  for (const char* name : {"demo.yaml", "station.yaml", "mall.yaml"}) {
    const auto result = loadConfigFile(std::string(VCGATE_SOURCE_DIR) + "/configs/" + name);
    std::string all;
    for (const auto& d : result.diagnostics) all += d.format() + "\n";
    EXPECT_TRUE(result.ok()) << all;
  }
}

TEST(ConfigLoad, DemoConfigIsTheDocumentedDemo) {
  const auto result = loadConfigFile(std::string(VCGATE_SOURCE_DIR) + "/configs/demo.yaml");
  ASSERT_TRUE(result.ok());
  const Config& c = *result.config;
  EXPECT_EQ(c.site.id, "demo");
  EXPECT_EQ(c.logging.stats_interval, 5s);
  EXPECT_THAT(c.bus.publish, ElementsAre("tcp://127.0.0.1:5556"));
  EXPECT_EQ(c.bus.control, "ipc:///tmp/vcgate-demo/control.sock");
  EXPECT_THAT(c.storage.state_dir, ::testing::StartsWith("/tmp/vcgate-demo/"));
  EXPECT_THAT(c.storage.evidence_dir, ::testing::StartsWith("/tmp/vcgate-demo/"));
  ASSERT_EQ(c.cameras.size(), 3u);
  for (const auto& cam : c.cameras) EXPECT_THAT(cam.uri, ::testing::StartsWith("test://")) << cam.id;
}

TEST(ConfigLoad, StationAndMallExamplesHaveTheirCameras) {
  const auto station = loadConfigFile(std::string(VCGATE_SOURCE_DIR) + "/configs/station.yaml");
  ASSERT_TRUE(station.ok());
  EXPECT_EQ(station.config->cameras.size(), 6u);
  const auto mall = loadConfigFile(std::string(VCGATE_SOURCE_DIR) + "/configs/mall.yaml");
  ASSERT_TRUE(mall.ok());
  EXPECT_EQ(mall.config->cameras.size(), 4u);
  EXPECT_FALSE(mall.config->cameras[0].sub_uri.empty());
}

// ---------------------------------------------------------------- diagnostics

TEST(ConfigDiagnostic, FormatLikeACompiler) {
  EXPECT_EQ((Diagnostic{"a.yaml", 3, 7, "bad"}).format(), "a.yaml:3:7: error: bad");
  EXPECT_EQ((Diagnostic{"a.yaml", 3, 0, "bad"}).format(), "a.yaml:3: error: bad");
  EXPECT_EQ((Diagnostic{"a.yaml", 0, 0, "bad"}).format(), "a.yaml: error: bad");
}

TEST(ConfigErrors, UnknownKeySuggestsTheClosestKey) {
  const auto result = load(minimalWithCameraLines("    latncy_ms: 100\n"));
  EXPECT_FALSE(result.ok());
  EXPECT_THAT(errors(result), ElementsAre("6:5: unknown key 'latncy_ms' in camera 1 ('cam-1'): did you mean "
                                          "'latency_ms'?"));
}

TEST(ConfigErrors, UnknownKeyCatchesOtherSpellings) {
  const auto result = load(std::string(kMinimal) + "logging:\n  statsIntervalS: 5\nStorage: {}\n");
  EXPECT_THAT(errors(result),
              ElementsAre("7:3: unknown key 'statsIntervalS' in logging: did you mean 'stats_interval_s'?",
                          "8:1: unknown key 'Storage' in the config file: did you mean 'storage'?"));
}

TEST(ConfigErrors, UnknownKeyWithoutCloseMatchListsValidKeys) {
  const auto result = load(minimalWithCameraLines("    buffering:\n      frames: 3\n"));
  EXPECT_THAT(errors(result), ElementsAre("7:7: unknown key 'frames' in 'buffering' of camera 1 ('cam-1'); valid "
                                          "keys are: pre_roll_s, max_bytes"));
}

TEST(ConfigErrors, WrongTypes) {
  const auto result = load(minimalWithCameraLines(
      "    latency_ms: abc\n"      // 6
      "    enabled: maybe\n"       // 7
      "    name: [a, b]\n"         // 8
      "    buffering: 5\n"         // 9
      "    connect_timeout_ms: 1.5\n"));  // 10
  EXPECT_THAT(errors(result),
              ElementsAre("6:17: latency_ms must be an integer, got 'abc'",
                          "7:14: enabled must be true or false, got 'maybe'",
                          "8:11: name must be text, got a list",
                          "9:16: 'buffering' of camera 1 ('cam-1') must be a mapping of 'key: value' lines, got '5'",
                          "10:25: connect_timeout_ms must be an integer, got '1.5'"));
}

TEST(ConfigErrors, CamerasMustBeAList) {
  const auto result = load("site: {id: s1}\ncameras:\n  id: cam-1\n  uri: rtsp://192.0.2.1/\n");
  EXPECT_THAT(errors(result),
              ElementsAre("3:3: cameras must be a list (one '- id: ...' entry per camera), got a mapping"));
}

TEST(ConfigErrors, OutOfRangeSaysTheRange) {
  const auto result = load(minimalWithCameraLines(
      "    latency_ms: 20000\n"
      "    stall_timeout_ms: 100\n"
      "    buffering:\n"
      "      pre_roll_s: 301\n"
      "      max_bytes: 1KiB\n"
      "    reconnect:\n"
      "      stable_ms: -1\n"));
  EXPECT_THAT(errors(result), ElementsAre("6:17: latency_ms must be between 0 and 10000, got 20000",
                                          "7:23: stall_timeout_ms must be between 500 and 600000, got 100",
                                          "9:19: buffering.pre_roll_s must be between 0 and 300, got 301",
                                          "10:18: buffering.max_bytes must be between 64KiB and 4GiB, got 1KiB",
                                          "12:18: reconnect.stable_ms must be between 0 and 86400000, got -1"));
}

TEST(ConfigErrors, HugeIntegerIsOutOfRangeNotAWrongType) {
  const auto result = load(minimalWithCameraLines("    latency_ms: 99999999999999999999999\n"));
  EXPECT_THAT(errors(result), ElementsAre("6:17: latency_ms must be between 0 and 10000, got 99999999999999999999999"));
}

TEST(ConfigErrors, DuplicateCameraIdPointsAtTheSecondAndNamesTheFirst) {
  const auto result = load(minimalWithCameraLines("  - id: cam-2\n    uri: rtsp://192.0.2.2/\n"
                                                  "  - id: cam-1\n    uri: rtsp://192.0.2.3/\n"));
  EXPECT_THAT(errors(result), ElementsAre("8:9: camera id 'cam-1' is already used by the camera on line 4: camera ids "
                                          "must be unique"));
}

TEST(ConfigErrors, DuplicateKeyInOneMapping) {
  const auto result = load(minimalWithCameraLines("    latency_ms: 100\n    latency_ms: 200\n"));
  EXPECT_THAT(errors(result),
              ElementsAre("7:5: 'latency_ms' is set twice in camera 1 ('cam-1') (first on line 6); keep one of them"));
}

TEST(ConfigErrors, MalformedUris) {
  const auto result = load(R"(site: {id: s1}
cameras:
  - id: a
    uri: http://192.0.2.1/video
  - id: b
    uri: rtsp:///stream1
  - id: c
    uri: rtsp://192.0.2.3:99999/stream1
  - id: d
    uri: test://d?fps=500
  - id: e
    uri: test://e?colour=red
  - id: f
    uri: 192.0.2.6/stream1
  - id: g
    uri: rtsp://192.0.2.7/
    sub_uri: ftp://192.0.2.7/
  - id: h
    uri: "file://"
)");
  EXPECT_THAT(
      errors(result),
      ElementsAre(
          "4:10: uri 'http://192.0.2.1/video' has an unsupported scheme 'http': use rtsp://, rtsps://, file:// or "
          "test://",
          "6:10: uri 'rtsp:///stream1' has no host: write rtsp://HOST[:PORT]/PATH",
          "8:10: uri 'rtsp://192.0.2.3:99999/stream1' is not valid: invalid port '99999' (must be 1-65535)",
          "10:10: uri 'test://d?fps=500' is not valid: test:// parameter 'fps' is 500, must be between 1 and 120",
          "12:10: uri 'test://e?colour=red' is not valid: unknown test:// parameter 'colour' (known: codec, width, "
          "height, fps, bitrate_kbps, gop, pattern, incident, incident_every_s, incident_s)",
          "14:10: uri '192.0.2.6/stream1' is not valid: not a URI: expected scheme://...",
          "17:14: sub_uri 'ftp://192.0.2.7/' has an unsupported scheme 'ftp': use rtsp://, rtsps://, file:// or "
          "test://",
          "19:10: uri 'file://' has no path: write file:///ABSOLUTE/PATH or file://PATH/RELATIVE/TO/THIS/CONFIG"));
}

TEST(ConfigErrors, PasswordsNeverAppearInMessages) {
  const auto result = load(R"(site: {id: s1}
bus:
  publish: udp://admin:hunter2@192.0.2.1:5556
cameras:
  - id: a
    uri: rtsp://admin:hunter2@192.0.2.1:70000/stream1
  - id: b
    uri: http://admin:hunter2@192.0.2.2/video
    transport: rtsp://admin:hunter2@192.0.2.2/
  - id: c
    uri: rtsp://admin:hunter2@/stream1
)");
  ASSERT_EQ(result.diagnostics.size(), 5u) << ::testing::PrintToString(errors(result));
  for (const auto& d : result.diagnostics) {
    EXPECT_THAT(d.format(), Not(HasSubstr("hunter2")));
    EXPECT_THAT(d.format(), HasSubstr("admin:***@"));
  }
  EXPECT_EQ(result.diagnostics[1].format(),
            "/etc/vcgate/site.yaml:6:10: error: uri 'rtsp://admin:***@192.0.2.1:70000/stream1' is not valid: "
            "invalid port '70000' (must be 1-65535)");
}

TEST(ConfigErrors, MissingRequiredKeysPointAtTheEnclosingMapping) {
  const auto result = load(R"(site:
  name: "no id"
cameras:
  - id: cam-1
    uri: rtsp://192.0.2.1/
  - id: cam-2
    name: "forgot the uri"
  - uri: rtsp://192.0.2.3/
)");
  EXPECT_THAT(errors(result),
              ElementsAre("1:1: site has no 'id': add 'id: SITE-ID' (letters, digits, _ and -)",
                          "6:5: camera 2 ('cam-2') has no 'uri': add the camera's stream address, e.g. 'uri: "
                          "rtsp://192.0.2.10:554/stream1'",
                          "8:5: camera 3 has no 'id': give each camera a unique id, e.g. 'id: hall-a-1'"));
}

TEST(ConfigErrors, MissingSections) {
  const auto result = load("logging:\n  level: info\n");
  EXPECT_THAT(errors(result),
              ElementsAre("1:1: the config file has no 'site': add a 'site:' section with at least 'id: SITE-ID'",
                          "1:1: the config file has no 'cameras': add a 'cameras:' list with at least one camera "
                          "(id and uri)"));
}

TEST(ConfigErrors, EmptyOrScalarFile) {
  EXPECT_THAT(errors(load("")), ElementsAre(HasSubstr("has no 'site'"), HasSubstr("has no 'cameras'")));
  EXPECT_THAT(errors(load("just text\n")),
              ElementsAre("1:1: the config file must be a mapping of 'key: value' lines, got 'just text'"));
}

TEST(ConfigErrors, BadEnumValues) {
  const auto result = load(std::string("logging:\n  level: verbose\n") + kMinimal + "    transport: tpc\n");
  EXPECT_THAT(errors(result),
              ElementsAre("2:10: logging.level must be one of trace, debug, info, warn, error, off, got 'verbose'",
                          "8:16: transport must be one of tcp, udp, got 'tpc' (did you mean 'tcp'?)"));
}

TEST(ConfigErrors, ReconnectMaxBelowInitial) {
  const auto result = load(minimalWithCameraLines("    reconnect:\n      initial_ms: 5000\n      max_ms: 1000\n"));
  EXPECT_THAT(errors(result),
              ElementsAre("8:15: reconnect.max_ms (1000) is less than reconnect.initial_ms (5000) in camera 1 "
                          "('cam-1'): the backoff starts at initial_ms and grows up to max_ms, so max_ms must be at "
                          "least initial_ms"));
}

TEST(ConfigErrors, ReconnectCheckedAfterInheritingDefaults) {
  // max_ms from camera_defaults, initial_ms from the camera: the camera's line is the one to fix.
  const auto result = load(std::string("camera_defaults:\n  reconnect: {max_ms: 2000}\n") + kMinimal +
                           "    reconnect:\n      initial_ms: 3000\n  - id: cam-2\n    uri: rtsp://192.0.2.2/\n");
  EXPECT_THAT(errors(result), ElementsAre(::testing::StartsWith("9:19: reconnect.max_ms (2000) is less than "
                                                                "reconnect.initial_ms (3000) in camera 1 ('cam-1')")));
}

TEST(ConfigErrors, BadDefaultsReportedOnceNotPerCamera) {
  const auto result = load(std::string("camera_defaults:\n  latency_ms: -5\n  reconnect: {initial_ms: 9000, max_ms: 100}\n") +
                           kMinimal + "  - id: cam-2\n    uri: rtsp://192.0.2.2/\n    reconnect: {stable_ms: 1}\n");
  EXPECT_THAT(errors(result), ElementsAre("2:15: latency_ms must be between 0 and 10000, got -5",
                                          ::testing::StartsWith("3:41: reconnect.max_ms (100) is less than "
                                                                "reconnect.initial_ms (9000) in camera_defaults")));
}

TEST(ConfigErrors, CameraDefaultsCannotSetIdentity) {
  const auto result = load(std::string("camera_defaults:\n  uri: rtsp://192.0.2.1/\n") + kMinimal);
  EXPECT_THAT(errors(result), ElementsAre("2:3: 'uri' cannot be set in camera_defaults: each camera needs its own; "
                                          "move it to the camera"));
}

TEST(ConfigErrors, EmptyCameraList) {
  EXPECT_THAT(errors(load("site: {id: s1}\ncameras: []\n")),
              ElementsAre("2:1: cameras is empty: list at least one camera, e.g. '- id: cam-1' and 'uri: rtsp://...'"));
  EXPECT_THAT(errors(load("site: {id: s1}\ncameras:\n")),
              ElementsAre("2:1: cameras is empty: list at least one camera, e.g. '- id: cam-1' and 'uri: rtsp://...'"));
}

TEST(ConfigErrors, BadIdsAndEndpointsAndPaths) {
  const auto result = load(R"(site:
  id: "north station"
bus:
  publish: [tcp://127.0.0.1, "pgm://x:1"]
  control: inproc://ctl
storage:
  state_dir: var/lib/vcgate
cameras:
  - id: cam/1
    uri: rtsp://192.0.2.1/
)");
  EXPECT_THAT(
      errors(result),
      ElementsAre("2:7: site.id 'north station' may only contain letters, digits, '_' and '-' (1 to 64 characters)",
                  "4:13: bus.publish 'tcp://127.0.0.1' needs a host and a port: tcp://HOST:PORT",
                  "4:30: bus.publish 'pgm://x:1' has an unsupported transport 'pgm': write tcp://HOST:PORT, "
                  "ipc://PATH, inproc://NAME",
                  "5:12: bus.control 'inproc://ctl' has an unsupported transport 'inproc': write tcp://HOST:PORT, "
                  "ipc://PATH",
                  "7:14: storage.state_dir must be an absolute path (starting with '/'), got 'var/lib/vcgate'",
                  "9:9: id 'cam/1' may only contain letters, digits, '_' and '-' (1 to 64 characters)"));
}

TEST(ConfigErrors, ThreeMistakesAreAllReportedInFileOrder) {
  const auto result = load(R"(site:
  id: s1
cameras:
  - id: cam-1
    uri: rtsp://admin:secret@192.0.2.1/stream1
    transport: udpp
  - id: cam-2
    uri: rtsp://192.0.2.2/stream1
    latency_ms: fast
  - id: cam-1
    uri: rtsp://192.0.2.3/stream1
)");
  EXPECT_FALSE(result.ok());
  EXPECT_FALSE(result.config.has_value());
  std::vector<std::string> formatted;
  for (const auto& d : result.diagnostics) formatted.push_back(d.format());
  EXPECT_THAT(formatted,
              ElementsAre("/etc/vcgate/site.yaml:6:16: error: transport must be one of tcp, udp, got 'udpp' (did you "
                          "mean 'udp'?)",
                          "/etc/vcgate/site.yaml:9:17: error: latency_ms must be an integer, got 'fast'",
                          "/etc/vcgate/site.yaml:10:9: error: camera id 'cam-1' is already used by the camera on line "
                          "4: camera ids must be unique"));
}

TEST(ConfigErrors, YamlSyntaxErrorHasItsLocation) {
  const auto result = load("site:\n  id: s1\n cameras: []\n");
  EXPECT_THAT(errors(result), ElementsAre("3:2: YAML syntax error: end of map not found (check the indentation and "
                                          "quotes here or on the line above)"));
  const auto flow = load("site: {id: s1\ncameras: []\n");
  ASSERT_EQ(flow.diagnostics.size(), 1u);
  EXPECT_GT(flow.diagnostics[0].line, 0);
  EXPECT_THAT(flow.diagnostics[0].message, HasSubstr("YAML syntax error"));
}

TEST(ConfigErrors, MissingFileIsOneDiagnosticWithoutALine) {
  const auto result = loadConfigFile("/nonexistent/vcgate.yaml");
  ASSERT_EQ(result.diagnostics.size(), 1u);
  EXPECT_EQ(result.diagnostics[0].line, 0);
  EXPECT_EQ(result.diagnostics[0].format(),
            "/nonexistent/vcgate.yaml: error: cannot read the config file: No such file or directory");
}

TEST(ConfigErrors, DirectoryInsteadOfFile) {
  TempDir dir;
  const auto result = loadConfigFile(dir.path().string());
  ASSERT_EQ(result.diagnostics.size(), 1u);
  EXPECT_EQ(result.diagnostics[0].line, 0);
  EXPECT_THAT(result.diagnostics[0].message, HasSubstr("Is a directory"));
}

TEST(ConfigErrors, OddYamlNeverThrows) {
  // Complex keys, anchors, tags, deep nesting: reported or accepted, never an exception.
  for (const char* text : {"? [a, b]\n: c\n", "site: &s {id: s1}\nother: *s\n", "site: !!binary aGVsbG8=\n",
                           "cameras: [[[[[]]]]]\n", "site: {id: s1}\ncameras:\n  - !!str x\n", "---\n...\n"}) {
    LoadResult result;
    EXPECT_NO_THROW(result = load(text)) << text;
    EXPECT_FALSE(result.ok()) << text;
  }
}

}  // namespace
}  // namespace vcgate::config

namespace vcgate::config {
namespace {

TEST(ConfigBusAndAlarms, ReadsEveryKeyWithDefaults) {
  const auto loaded = loadConfigText(R"(site:
  id: s
bus:
  commands: [tcp://0.0.0.0:5557, ipc:///run/vcgate/commands.sock]
  heartbeat_s: 0.5
  send_hwm: 4000
  realtime_priority: 10
alarms:
  post_roll_s: 4
  video_loss:
    level: 1
    after_s: 2.5
cameras:
  - id: a
    uri: test://a
)",
                                     "/etc/vcgate/x.yaml");
  ASSERT_TRUE(loaded.ok()) << loaded.diagnostics.front().format();
  const auto& c = *loaded.config;
  EXPECT_EQ(c.bus.commands, (std::vector<std::string>{"tcp://0.0.0.0:5557", "ipc:///run/vcgate/commands.sock"}));
  EXPECT_EQ(c.bus.heartbeat, std::chrono::milliseconds(500));
  EXPECT_EQ(c.bus.send_hwm, 4000);
  EXPECT_EQ(c.bus.realtime_priority, 10);
  EXPECT_EQ(c.alarms.post_roll_s, 4);
  EXPECT_EQ(c.alarms.video_loss.level, 1);
  EXPECT_TRUE(c.alarms.video_loss.enabled);
  EXPECT_EQ(c.alarms.video_loss.after, std::chrono::milliseconds(2500));

  const auto defaults = loadConfigText("site: {id: s}\ncameras: [{id: a, uri: test://a}]\n", "x.yaml");
  ASSERT_TRUE(defaults.ok());
  EXPECT_TRUE(defaults.config->bus.commands.empty());
  EXPECT_EQ(defaults.config->bus.realtime_priority, 0) << "normal policy unless asked";
  EXPECT_EQ(defaults.config->bus.heartbeat, std::chrono::milliseconds(1000));
  EXPECT_EQ(defaults.config->alarms.post_roll_s, 10);
  EXPECT_EQ(defaults.config->alarms.video_loss.after, std::chrono::milliseconds(10000));
}

TEST(ConfigBusAndAlarms, ReportsBadValuesWithTheirLocation) {
  const auto loaded = loadConfigText(R"(site: {id: s}
bus:
  heartbeat_s: 0
  send_hwm: 5
  commands: udp://x:1
  realtime_priority: 100
alarms:
  video_loss: {level: 4, after_s: 0, enable: true}
cameras: [{id: a, uri: test://a}]
)",
                                     "x.yaml");
  ASSERT_FALSE(loaded.ok());
  std::string all;
  for (const auto& d : loaded.diagnostics) all += d.format() + "\n";
  EXPECT_NE(all.find("x.yaml:3:16:"), std::string::npos) << all;
  EXPECT_NE(all.find("x.yaml:4:13:"), std::string::npos) << all;
  EXPECT_NE(all.find("x.yaml:5:13:"), std::string::npos) << all;
  EXPECT_NE(all.find("x.yaml:6:22:"), std::string::npos) << all;
  EXPECT_NE(all.find("did you mean 'enabled'"), std::string::npos) << all;
  EXPECT_EQ(loaded.diagnostics.size(), 7u) << all;
}

}  // namespace
}  // namespace vcgate::config

namespace vcgate::config {
namespace {

TEST(ConfigJournalAndEvidence, ReadsEveryKeyWithDefaults) {
  const auto loaded = loadConfigText(R"(site: {id: s}
bus:
  uplink:
    budget_kbps: 2000
journal:
  fsync: interval_ms=200
  segment_bytes: 1MiB
  max_age_s: 86400
  max_backlog: 5000
evidence:
  quota_bytes: 500MiB
  min_free_bytes: 1GB
  sync_fragments: false
  idle_close_s: 30
  prune_on_error_bytes: 16MiB
  queue_units: 250
  queue_bytes: 32MiB
cameras: [{id: a, uri: test://a}]
)",
                                     "/etc/vcgate/x.yaml");
  ASSERT_TRUE(loaded.ok()) << loaded.diagnostics.front().format();
  const auto& c = *loaded.config;
  EXPECT_EQ(c.bus.uplink_budget_kbps, 2000u);
  EXPECT_EQ(c.journal.fsync, "interval_ms 200") << "normalized to the spelling the journal documents";
  EXPECT_EQ(c.journal.segment_bytes, 1u << 20);
  EXPECT_EQ(c.journal.max_age, std::chrono::seconds(86400));
  EXPECT_EQ(c.journal.max_backlog, 5000u);
  EXPECT_EQ(c.evidence.quota_bytes, 500ull << 20);
  EXPECT_EQ(c.evidence.min_free_bytes, 1'000'000'000ull);
  EXPECT_FALSE(c.evidence.sync_fragments);
  EXPECT_EQ(c.evidence.idle_close, std::chrono::seconds(30));
  EXPECT_EQ(c.evidence.prune_on_error_bytes, 16ull << 20);
  EXPECT_EQ(c.evidence.queue_units, 250u);
  EXPECT_EQ(c.evidence.queue_bytes, 32ull << 20);

  // The defaults are those of docs/configuration.md (and of JournalOptions, RecorderOptions).
  const auto defaults = loadConfigText("site: {id: s}\ncameras: [{id: a, uri: test://a}]\n", "x.yaml");
  ASSERT_TRUE(defaults.ok());
  const auto& d = *defaults.config;
  EXPECT_EQ(d.bus.uplink_budget_kbps, 0u);
  EXPECT_EQ(d.journal.fsync, "always");
  EXPECT_EQ(d.journal.segment_bytes, 4u << 20);
  EXPECT_EQ(d.journal.max_age, std::chrono::seconds(7 * 86400));
  EXPECT_EQ(d.journal.max_backlog, 100'000u);
  EXPECT_EQ(d.evidence.quota_bytes, 2ull << 30);
  EXPECT_EQ(d.evidence.min_free_bytes, 0u);
  EXPECT_TRUE(d.evidence.sync_fragments);
  EXPECT_EQ(d.evidence.idle_close, std::chrono::seconds(60));
  EXPECT_EQ(d.evidence.prune_on_error_bytes, 64ull << 20);

  for (const char* fsync : {"never", "always", "interval_ms 1", "interval_ms:60000"}) {
    const auto ok = loadConfigText(std::string("site: {id: s}\njournal: {fsync: '") + fsync +
                                       "'}\ncameras: [{id: a, uri: test://a}]\n",
                                   "x.yaml");
    EXPECT_TRUE(ok.ok()) << fsync;
  }
}

TEST(ConfigJournalAndEvidence, ReportsBadValuesWithTheirLocation) {
  const auto loaded = loadConfigText(R"(site: {id: s}
bus:
  uplink: {budget_kbps: -1, budget: 5}
journal:
  fsync: sometimes
  segment_bytes: 1KiB
  max_age_s: forever
evidence:
  quota_bytes: 2 potatoes
  idle_close_s: 0
  sync_fragment: true
cameras: [{id: a, uri: test://a}]
journal2: {}
)",
                                     "x.yaml");
  ASSERT_FALSE(loaded.ok());
  std::vector<std::string> all;
  for (const auto& d : loaded.diagnostics) all.push_back(d.format());
  ASSERT_EQ(all.size(), 9u) << ::testing::PrintToString(all);
  EXPECT_THAT(all[0], HasSubstr("x.yaml:3:25: error: bus.uplink.budget_kbps"));
  EXPECT_THAT(all[1], HasSubstr("x.yaml:3:29: error:"));
  EXPECT_THAT(all[1], HasSubstr("budget_kbps"));  // did you mean
  EXPECT_EQ(all[2], "x.yaml:5:10: error: journal.fsync must be 'always', 'never' or 'interval_ms N' (N from 1 to 60000), got 'sometimes'");
  EXPECT_THAT(all[3], HasSubstr("x.yaml:6:18: error: journal.segment_bytes"));
  EXPECT_THAT(all[4], HasSubstr("x.yaml:7:14: error: journal.max_age_s"));
  EXPECT_THAT(all[5], HasSubstr("x.yaml:9:16: error: evidence.quota_bytes"));
  EXPECT_THAT(all[6], HasSubstr("x.yaml:10:17: error: evidence.idle_close_s"));
  EXPECT_THAT(all[7], HasSubstr("x.yaml:11:3: error:"));
  EXPECT_THAT(all[7], HasSubstr("did you mean 'sync_fragments'"));
  EXPECT_THAT(all[8], HasSubstr("x.yaml:13:1: error:"));

  const auto interval = loadConfigText("site: {id: s}\njournal:\n  fsync: interval_ms 0\ncameras: [{id: a, uri: test://a}]\n", "y.yaml");
  ASSERT_EQ(interval.diagnostics.size(), 1u);
  EXPECT_EQ(interval.diagnostics[0].format(),
            "y.yaml:3:10: error: journal.fsync 'interval_ms N' needs N from 1 to 60000 milliseconds, got 'interval_ms 0'");
}

}  // namespace
}  // namespace vcgate::config
