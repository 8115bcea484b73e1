// Output: the lines vcgate-sub prints, in one of two forms: human readable
// (one line per event, local time first) or --json (exactly one JSON object
// per line with a "type" field). Each line goes to the sink whole; the sink
// of the executable writes it to stdout and flushes, because tests and
// platform scripts read it through a pipe. One thread uses an instance.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "gateway/bus/protocol.h"
#include "gateway/evidence/mp4_writer.h"

namespace vcgate::sub {

using Json = nlohmann::ordered_json;  // keeps "type" first, as printed
using LineSink = std::function<void(const std::string& line)>;

// What is known about a recording when it is closed and checked.
struct RecordingReport {
  std::string alarm;     // 32 hex digits
  std::string site;
  std::string camera;
  std::string path;
  std::string reason;    // why it was closed: "untagged", "cleared", "exit", "write_error"
  uint64_t frames = 0;
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;
  uint64_t gaps = 0;     // sequence gaps of the camera while recording (each resynced at a keyframe)
  double duration_s = 0;
  std::string write_error;   // the writer's error, if it failed
  evidence::PlayableReport check;
  bool decodes() const { return write_error.empty() && check.ok; }
};
Json toJson(const RecordingReport& report);

class Output {
 public:
  Output(bool json, LineSink sink);

  bool json() const { return json_; }
  // `wall_us` is when it happened (or was seen), for the human time column.
  void alarm(const bus::AlarmEventMessage& message);
  void gatewayUp(const bus::StatusMessage& status, int64_t wall_us);
  void gatewayRestarted(const bus::StatusMessage& status, uint64_t previous_boot, int64_t wall_us);
  void gatewayUnreachable(const std::string& site, double silent_s, int64_t wall_us);
  void gatewayBack(const std::string& site, double silent_s, int64_t wall_us);
  void gap(std::string_view channel, const std::string& site, const std::string& camera, uint64_t boot,
           uint64_t expected, uint64_t got, int64_t wall_us);
  void recording(const RecordingReport& report, int64_t wall_us);
  void recordingFailed(const std::string& alarm, const std::string& site, const std::string& camera,
                       const std::string& path, const std::string& error, int64_t wall_us);
  void malformed(std::string_view reason, uint64_t count, const std::string& detail, int64_t wall_us);
  // The final summary: one line with --json, indented JSON otherwise.
  void summary(const Json& summary);

 private:
  void emit(const Json& j, const std::string& human);

  bool json_;
  LineSink sink_;
};

// "14:10:00.123" in local time.
std::string clockText(int64_t wall_us);
// "3f2a9c0d…": enough of an alarm id for a person to match it.
std::string shortId(const std::string& hex);

}  // namespace vcgate::sub
