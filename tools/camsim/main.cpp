// vcgate-camsim: serves simulated cameras over RTSP for tests, benchmarks and
// demos. See docs/camsim.md. stdout carries only the machine-readable lines
// (READY, OK, ERR); logs go to stderr.
#include <glib-unix.h>
#include <gst/gst.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "gateway/core/log.h"
#include "tools/camsim/camsim.h"
#include "tools/camsim/clip.h"

namespace {

using vcgate::camsim::Farm;

constexpr int kExitBadArguments = 2;
constexpr int kExitFailure = 1;

// stdout is a protocol: one line at a time, flushed, so a reader sees each at once.
void say(const std::string& line) {
  std::fputs(line.c_str(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

int fail(int code, const std::string& message) {
  std::fprintf(stderr, "vcgate-camsim: %s\n", message.c_str());
  return code;
}

struct CommandReader {
  Farm* farm = nullptr;
  GMainLoop* loop = nullptr;
  std::string pending;
};

// Reads what stdin has (poll said it would not block) and executes each complete line.
gboolean onStdin(gint fd, GIOCondition /*condition*/, gpointer user_data) {
  auto* reader = static_cast<CommandReader*>(user_data);
  char chunk[4096];
  const ssize_t n = read(fd, chunk, sizeof chunk);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return G_SOURCE_CONTINUE;
  if (n <= 0) {
    // Benchmarks run us with stdin from /dev/null: EOF is not a reason to stop.
    spdlog::info("stdin closed: no more commands; stop with SIGINT or SIGTERM");
    return G_SOURCE_REMOVE;
  }
  reader->pending.append(chunk, static_cast<size_t>(n));
  for (size_t nl; (nl = reader->pending.find('\n')) != std::string::npos;) {
    std::string line = reader->pending.substr(0, nl);
    reader->pending.erase(0, nl + 1);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const Farm::Reply reply = reader->farm->execute(line);
    if (!reply.line.empty()) say(reply.line);
    if (reply.quit) {
      g_main_loop_quit(reader->loop);
      return G_SOURCE_REMOVE;
    }
  }
  return G_SOURCE_CONTINUE;
}

gboolean onSignal(gpointer user_data) {
  spdlog::info("signal received, shutting down");
  g_main_loop_quit(static_cast<GMainLoop*>(user_data));
  return G_SOURCE_CONTINUE;
}

}  // namespace

int main(int argc, char** argv) {
  vcgate::camsim::Options options;
  std::vector<std::string> streams;
  std::string log_level = "info";

  CLI::App app{"vcgate-camsim: a farm of simulated RTSP cameras for tests, benchmarks and demos.\n"
               "Each STREAM is encoded (or read) once at start-up and served, looping, at rtsp://ADDRESS:PORT/NAME."};
  app.add_option("--address", options.address, "Address to listen on; also used in the printed URLs")
      ->capture_default_str();
  app.add_option("--port", options.port, "RTSP port; 0 picks a free one (printed in the READY lines)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  app.add_option("--clip-seconds", options.clip_seconds,
                 "Length of each encoded test:// clip, rounded up to whole GOPs; it loops")
      ->capture_default_str()
      ->check(CLI::Range(0.001, 3600.0));
  auto* user = app.add_option("--user", options.user,
                              "Ask every client for RTSP basic authentication with this user (and --password)");
  auto* password = app.add_option("--password", options.password, "The password for --user");
  user->needs(password);
  password->needs(user);
  app.add_option("--log-level", log_level, "Log level on stderr")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  app.add_option("STREAM", streams,
                 "test://NAME?codec=h264|h265&width=W&height=H&fps=F&bitrate_kbps=B&gop=G&pattern=P "
                 "(every key optional), or NAME=file:///absolute/path (MP4, MKV, MPEG-TS, raw .h264/.h265)")
      ->required();
  app.footer(
      "Output (stdout): 'READY NAME URL' per stream, then 'READY all PORT'.\n"
      "Commands (stdin, one per line, answered 'OK <command>' or 'ERR <reason>'):\n"
      "  stop NAME     close the stream's clients and answer 404 until resumed\n"
      "  stall NAME    keep sessions open but send no frames\n"
      "  corrupt NAME  keep sending at the same rate, with garbage slice data\n"
      "  resume NAME   back to normal\n"
      "  quit          exit 0 (EOF on stdin does not quit; SIGINT/SIGTERM do)\n"
      "Exit codes: 0 quit or signal, 1 runtime failure (encoding, file, port), 2 bad arguments.");
  CLI11_PARSE(app, argc, argv);

  vcgate::core::setupLogging(*vcgate::core::parseLogLevel(log_level));
  for (const auto& arg : streams) {
    auto stream = vcgate::camsim::parseStreamArg(arg);
    if (!stream) return fail(kExitBadArguments, fmt::format("bad STREAM '{}': {}", arg, stream.error().message));
    std::error_code ec;
    if (!stream->synthetic && !std::filesystem::is_regular_file(stream->file_path, ec))
      return fail(kExitBadArguments, fmt::format("bad STREAM '{}': no such file: {}", arg, stream->file_path));
    options.streams.push_back(std::move(*stream));
  }

  gst_init(nullptr, nullptr);
  // A client vanishing mid-write must not kill the farm; and stdout's reader
  // going away is noticed through failed writes instead.
  signal(SIGPIPE, SIG_IGN);

  for (size_t i = 0; i < options.streams.size(); ++i) {
    for (size_t j = 0; j < i; ++j)
      if (options.streams[j].name == options.streams[i].name)
        return fail(kExitBadArguments, fmt::format("bad STREAM '{}': another stream is already named '{}'",
                                                   streams[i], options.streams[i].name));
    if (!options.streams[i].synthetic) continue;
    // Needs GStreamer, hence not in parseStreamArg().
    if (auto ok = vcgate::camsim::checkPattern(options.streams[i].synthetic->pattern); !ok)
      return fail(kExitBadArguments, fmt::format("bad STREAM '{}': {}", streams[i], ok.error().message));
  }

  auto farm = Farm::start(options);
  if (!farm) return fail(kExitFailure, farm.error().message);

  // Handlers first, READY last: whoever reads READY may send a command or a
  // signal at once.
  GMainLoop* loop = g_main_loop_new(nullptr, FALSE);
  CommandReader reader{farm->get(), loop, {}};
  const guint stdin_watch = g_unix_fd_add(STDIN_FILENO, static_cast<GIOCondition>(G_IO_IN | G_IO_HUP | G_IO_ERR),
                                          onStdin, &reader);
  const guint sigint = g_unix_signal_add(SIGINT, onSignal, loop);
  const guint sigterm = g_unix_signal_add(SIGTERM, onSignal, loop);
  for (const auto& mount : (*farm)->mounts()) say(fmt::format("READY {} {}", mount.name, mount.url));
  say(fmt::format("READY all {}", (*farm)->port()));
  g_main_loop_run(loop);

  // Shutdown order: stop reading commands and signals, then the farm (feeder,
  // clients, medias), then GLib's loop.
  if (GSource* source = g_main_context_find_source_by_id(nullptr, stdin_watch)) g_source_destroy(source);
  g_source_remove(sigint);
  g_source_remove(sigterm);
  farm->reset();
  g_main_loop_unref(loop);
  return 0;
}
