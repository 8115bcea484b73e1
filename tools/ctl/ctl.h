// vcgatectl's shared pieces: the global options, talking to the gateway over
// its control socket, and output helpers every command uses the same way.
//
// Output rules, for every command:
//  - without --json: text for a person on stdout; errors as sentences on stderr;
//  - with --json: exactly one JSON object per line on stdout, of the schema the
//    command documents (docs/operations.md); on failure the error object
//    {"code": "...", "message": "..."} and the exit code says the kind.
// Exit codes: 0 ok, 1 refused or problem found, 2 usage, 3 gateway
// unreachable; probe has its own (4 auth, 5 unreachable/timeout, 6 no video).
//
// One thread: the main thread runs the commands; a SIGINT/SIGTERM handler
// only sets the stop flag.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "gateway/bus/command_server.h"
#include "gateway/core/result.h"

namespace vcgate::ctl {

using nlohmann::json;

inline constexpr int kExitOk = 0;
inline constexpr int kExitProblem = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitUnreachable = 3;

inline constexpr const char* kDefaultConfig = "/etc/vcgate/vcgate.yaml";
inline constexpr const char* kDefaultEndpoint = "ipc:///run/vcgate/control.sock";

struct Options {
  std::string config;    // -c: where the control endpoint (and, for bundle, the config) comes from
  std::string endpoint;  // -e: overrides the config
  bool json = false;
  int timeout_ms = 3000;
  // CURVE, for a platform endpoint (-e tcp://...) of a gateway with
  // security.curve: this client's secret key file and the gateway's public key.
  std::string key_file;
  std::string server_key;
};

// What every command's callback shares: the parsed options and the exit code to return.
struct Ctl {
  Options options;
  int exit_code = kExitOk;
};

// The config file vcgatectl reads: -c, else the installed default.
std::string configPath(const Options& options);
// The control endpoint: -e, else $VCGATE_CONTROL, else bus.control of the config, else the default.
std::string controlEndpoint(const Options& options);

// Requests to one gateway over one REQ socket. A refusal is an Error with the
// gateway's code ("unknown_camera", ...); no answer is code "unreachable".
class Gateway {
 public:
  explicit Gateway(const Options& options);
  Gateway(const Options& options, std::string endpoint);
  core::Result<json> call(const std::string& cmd, const json& args = json::object());
  core::Result<json> call(const std::string& cmd, const json& args, int timeout_ms);
  // For commands whose reply carries bytes in a second frame (clip.fetch,
  // snapshot.fetch): the result and those bytes.
  struct WithData {
    json result;
    std::vector<uint8_t> data;
  };
  core::Result<WithData> callWithData(const std::string& cmd, const json& args);
  core::Result<WithData> callWithData(const std::string& cmd, const json& args, int timeout_ms);
  const std::string& endpoint() const { return endpoint_; }

 private:
  std::string endpoint_;
  int timeout_ms_;
  std::optional<core::Error> key_error_;  // --key/--server-key could not be read: every call fails with it
  bus::CommandClient client_;
};

// One request for a command's callback: the result, or nullopt after the
// error was reported and ctl.exit_code set from it.
std::optional<json> ask(Ctl& ctl, Gateway& gateway, const std::string& cmd, const json& args = json::object());

// Prints an error the way the options ask (JSON object on stdout, or a
// sentence on stderr) and returns the exit code: 3 for "unreachable" and
// "malformed", 1 for anything else. `what` names what was not reachable.
int reportError(const Options& options, const core::Error& error, const std::string& what = "gateway");
// Prints a JSON result on one line.
void printJson(const json& value);

// Turns a bound publish endpoint into one a local client can connect to:
// tcp://0.0.0.0:5556 and tcp://*:5556 become tcp://127.0.0.1:5556.
std::string localEndpoint(const std::string& bound);

// Ctrl-C and SIGTERM set the flag (and interrupt blocking waits); loops poll it.
void installStopHandler();
const std::atomic<bool>& stopRequested();

// Formatting for people.
std::string formatClock(int64_t wall_us, bool millis = false);  // local HH:MM:SS[.mmm], "-" for 0
std::string formatBytes(double bytes);                          // 12.3 MiB
std::string formatDuration(double seconds);                     // 2d 03h, 3h 05m, 4m 07s, 12.5 s
std::string formatAge(int64_t ms);                              // 40 ms, 3.2 s, 5 min, "-" when < 0

// Registration of each command group (one file each).
void addStatusCommands(CLI::App& app, Ctl& ctl);  // status, ping, inputs
void addCameraCommands(CLI::App& app, Ctl& ctl);  // cameras, top
void addAlarmCommands(CLI::App& app, Ctl& ctl);   // alarm ..., alarms, tail
void addLiveCommands(CLI::App& app, Ctl& ctl);    // live, reload, snapshot
void addProbeCommand(CLI::App& app, Ctl& ctl);    // probe
void addConfigCommands(CLI::App& app, Ctl& ctl);  // check-config
void addBusCommands(CLI::App& app, Ctl& ctl);     // bus ping
void addBundleCommand(CLI::App& app, Ctl& ctl);   // bundle
void addKeygenCommand(CLI::App& app, Ctl& ctl);   // keygen
void addClipCommands(CLI::App& app, Ctl& ctl);    // clips, fetch

}  // namespace vcgate::ctl
