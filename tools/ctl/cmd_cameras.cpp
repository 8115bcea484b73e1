// cameras, top: the per-camera table, once or refreshing live.
#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <sstream>

#include <fmt/format.h>

#include "tools/ctl/ctl.h"

namespace vcgate::ctl {
namespace {

std::string cover(const json& c) {
  std::string out;
  for (const auto& t : c.value("alarms", json::array()))
    out += fmt::format("{}L{}:{}", out.empty() ? "" : " ", t.value("level", 0), t.value("id", "").substr(0, 8));
  if (c.value("live_view", false)) out += out.empty() ? "live" : " live";
  return out.empty() ? "-" : out;
}

std::string cameraTable(const json& result) {
  std::string out =
      fmt::format("{:<14} {:<10} {:<5} {:>9} {:>5} {:>7} {:>4} {:>8} {:>6} {:>7} {:>9} {:>7} {:>16}  {}\n", "CAMERA",
                  "STATE", "CODEC", "SIZE", "FPS", "KBIT/S", "GOP", "FRAMES", "RECONN", "AGE", "PUBLISHED", "DROPPED",
                  "PRE-ALARM BUFFER", "COVERED BY");
  std::string errors;
  for (const auto& c : result.value("cameras", json::array())) {
    const int width = c.value("width", 0), height = c.value("height", 0);
    const int gop = c.value("gop_frames", 0);
    const std::string codec = c.value("codec", "");
    out += fmt::format(
        "{:<14} {:<10} {:<5} {:>9} {:>5.1f} {:>7.0f} {:>4} {:>8} {:>6} {:>7} {:>9} {:>7} {:>16}  {}\n",
        c.value("id", ""), c.value("state", ""), codec.empty() ? "-" : codec,
        width ? fmt::format("{}x{}", width, height) : "-", c.value("fps", 0.0), c.value("bitrate_bps", 0.0) / 1000,
        gop ? std::to_string(gop) : "-", c.value("frames", uint64_t{0}), c.value("reconnects", uint64_t{0}),
        formatAge(c.value("last_frame_age_ms", int64_t{-1})), c.value("published", uint64_t{0}),
        c.value("dropped", uint64_t{0}),
        fmt::format("{:.1f}s {}", c.value("buffered_s", 0.0), formatBytes(c.value("buffered_bytes", 0.0))), cover(c));
    const std::string error = c.value("last_error", "");
    if (!error.empty()) errors += fmt::format("  {}: {}\n", c.value("id", ""), error);
  }
  if (!errors.empty()) out += "last errors:\n" + errors;
  return out;
}

bool allStreaming(const json& result) {
  for (const auto& c : result.value("cameras", json::array())) {
    const std::string state = c.value("state", "");
    if (state != "streaming" && state != "disabled" && state != "finished") return false;
  }
  return true;
}

// The terminal in "one key at a time, no echo" mode while top runs; restored
// however top ends (q, Ctrl-C, an exception).
class RawTerminal {
 public:
  RawTerminal() {
    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_) != 0) return;
    termios raw = saved_;
    raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);  // ISIG stays: Ctrl-C still sends SIGINT
    raw.c_cc[VMIN] = 0;
    raw.c_cc[VTIME] = 0;
    active_ = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
  }
  ~RawTerminal() {
    if (active_) tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }
  bool active() const { return active_; }

 private:
  termios saved_{};
  bool active_ = false;
};

// Waits up to `ms`; true when the user pressed q (or stdin closed while in raw mode).
bool waitForQuit(const RawTerminal& terminal, int ms) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (!stopRequested().load()) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()).count();
    if (left <= 0) return false;
    pollfd p{STDIN_FILENO, POLLIN, 0};
    const int ready = poll(&p, terminal.active() ? 1 : 0, static_cast<int>(left));
    if (ready > 0 && (p.revents & POLLIN)) {
      char key = 0;
      if (read(STDIN_FILENO, &key, 1) <= 0) return true;
      if (key == 'q' || key == 'Q') return true;
    }
  }
  return true;
}

int terminalColumns() {
  winsize size{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return 0;
}

// A long line would wrap and scroll the screen by a line each refresh.
std::string fitToWidth(const std::string& text, int columns) {
  if (columns <= 0) return text;
  std::istringstream in(text);
  std::string line, out;
  while (std::getline(in, line)) out += line.substr(0, static_cast<size_t>(columns)) + "\n";
  return out;
}

}  // namespace

void addCameraCommands(CLI::App& app, Ctl& ctl) {
  auto* cameras = app.add_subcommand("cameras",
                                     "Per-camera table: state, codec, size, fps, bitrate, GOP, counters, "
                                     "last frame, last error, pre-alarm buffer");
  cameras->footer(
      "JSON: the gateway's cameras result {site, time_us, cameras[]} (docs/protocol.md section 7).\n"
      "Exit codes: 0 every enabled camera streams, 1 some do not (or refused), 2 usage, 3 gateway not "
      "reachable.");
  cameras->callback([&ctl] {
    Gateway gateway(ctl.options);
    auto result = ask(ctl, gateway, "cameras");
    if (!result) return;
    if (ctl.options.json)
      printJson(*result);
    else
      std::cout << cameraTable(*result);
    ctl.exit_code = allStreaming(*result) ? kExitOk : kExitProblem;
  });

  struct TopOptions {
    double interval_s = 1;
    int count = 0;
  };
  auto top_options = std::make_shared<TopOptions>();
  auto* top = app.add_subcommand("top", "The cameras table, refreshed every second; q or Ctrl-C quits");
  top->add_option("-i,--interval", top_options->interval_s, "Seconds between refreshes (default 1)")
      ->check(CLI::Range(0.2, 3600.0));
  top->add_option("-n,--count", top_options->count, "Stop after this many refreshes (default: until q or Ctrl-C)")
      ->check(CLI::NonNegativeNumber);
  top->footer(
      "When stdout is not a terminal (or with --json) it prints one table (one JSON object:\n"
      "{time_us, health, site, cameras[]}) per interval instead of redrawing the screen.\n"
      "Exit codes: 0 ok, 2 usage, 3 the gateway was not reachable at the last refresh.");
  top->callback([&ctl, top_options] {
    installStopHandler();
    const bool redraw = isatty(STDOUT_FILENO) && !ctl.options.json;
    RawTerminal terminal;
    const int interval_ms = static_cast<int>(top_options->interval_s * 1000);
    Gateway gateway(ctl.options);
    // A refresh must not take longer than its interval, or the screen lags.
    const int timeout_ms = std::min(ctl.options.timeout_ms, std::max(interval_ms, 200));
    int code = kExitOk;
    for (int n = 0; top_options->count == 0 || n < top_options->count; ++n) {
      auto status = gateway.call("status", json::object(), timeout_ms);
      auto table = status ? gateway.call("cameras", json::object(), timeout_ms) : status;
      std::string frame;
      if (!table) {
        code = kExitUnreachable;
        if (ctl.options.json)
          printJson({{"code", table.error().code}, {"message", table.error().message}});
        else
          frame = fmt::format("{}  gateway not reachable: {}\n",
                              formatClock(static_cast<int64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                                                   std::chrono::system_clock::now().time_since_epoch())
                                                                   .count())),
                              table.error().message);
      } else {
        code = kExitOk;
        const json health = status->value("health", json::object());
        if (ctl.options.json) {
          json line = *table;
          line["health"] = health;
          printJson(line);
        } else {
          frame = fmt::format("{}\nsite {}  vcgated {}  up {}  {} active alarm(s)  {}{}\n\n",
                              health.value("summary", ""), status->value("site", "?"), status->value("version", "?"),
                              formatDuration(status->value("uptime_s", 0.0)), status->value("active_alarms", 0),
                              formatClock(table->value("time_us", int64_t{0})), redraw ? "  (q quits)" : "");
          frame += cameraTable(*table);
        }
      }
      if (!frame.empty()) {
        if (redraw)
          std::cout << "\x1b[H\x1b[2J" << fitToWidth(frame, terminalColumns());
        else
          std::cout << frame << "\n";
        std::cout.flush();
      }
      if (top_options->count && n + 1 == top_options->count) break;
      if (waitForQuit(terminal, interval_ms)) break;
    }
    ctl.exit_code = code;
  });
}

}  // namespace vcgate::ctl
