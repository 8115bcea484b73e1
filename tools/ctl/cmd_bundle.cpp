// bundle FILE.tar.gz: what support needs, in one file, with every secret hidden.
#include <fcntl.h>
#include <gst/gst.h>
#include <poll.h>
#include <signal.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include <fmt/format.h>

#include "gateway/probe/probe.h"
#include "tools/ctl/ctl.h"
#include "tools/ctl/redact.h"

namespace vcgate::ctl {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct CommandOutput {
  int exit_code = -1;  // 127: not installed; -1: killed after the timeout
  std::string output;  // stdout and stderr
};

// Runs a program with a deadline and captures what it prints. Never through
// a shell: nothing of the arguments is interpreted.
CommandOutput runProgram(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  CommandOutput result;
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return result;
  const pid_t pid = fork();
  if (pid < 0) {
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    return result;
  }
  if (pid == 0) {
    dup2(pipe_fds[1], STDOUT_FILENO);
    dup2(pipe_fds[1], STDERR_FILENO);
    const int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  const auto deadline = Clock::now() + timeout;
  char buffer[65536];
  bool killed = false;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      kill(pid, SIGKILL);
      killed = true;
      break;
    }
    pollfd p{pipe_fds[0], POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    const ssize_t n = read(pipe_fds[0], buffer, sizeof buffer);
    if (n <= 0) break;
    result.output.append(buffer, static_cast<size_t>(n));
  }
  close(pipe_fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = killed ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

bool writeText(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  return static_cast<bool>(out.flush());
}

std::string osRelease() {
  std::ifstream in("/etc/os-release");
  std::string line;
  while (std::getline(in, line))
    if (line.starts_with("PRETTY_NAME=")) {
      std::string name = line.substr(12);
      if (name.size() >= 2 && name.front() == '"' && name.back() == '"') name = name.substr(1, name.size() - 2);
      return name;
    }
  return "unknown";
}

std::string timestampForName() {
  const time_t now = time(nullptr);
  struct tm local {};
  localtime_r(&now, &local);
  char text[32];
  strftime(text, sizeof text, "%Y%m%d-%H%M%S", &local);
  return text;
}

struct BundleArgs {
  std::string file;
  int log_lines = 2000;
};

int bundle(Ctl& ctl, const BundleArgs& args) {
  const auto started = Clock::now();
  std::vector<std::string> notes, entries;
  const auto note = [&](std::string text) { notes.push_back(std::move(text)); };

  // The config first: its secrets are what every other file is scrubbed of.
  const std::string config_path = configPath(ctl.options);
  Redacted config;
  bool have_config = false;
  {
    std::ifstream in(config_path, std::ios::binary);
    if (in) {
      std::stringstream text;
      text << in.rdbuf();
      config = redactConfig(text.str());
      have_config = true;
    } else {
      note(fmt::format("config {} not readable ({}): not included; give -c CONFIG", config_path, std::strerror(errno)));
    }
  }
  const auto scrub = [&](const std::string& text) { return scrubSecrets(text, config.secrets); };

  Gateway gateway(ctl.options);
  const int gateway_timeout = std::min(ctl.options.timeout_ms, 2000);
  auto ping = gateway.call("ping", json::object(), gateway_timeout);
  std::string site = "unknown";
  json gateway_files = json::object();
  if (ping) {
    site = ping->value("site", site);
    for (const char* cmd : {"status", "cameras", "alarm.list"}) {
      auto result = gateway.call(cmd, json::object(), gateway_timeout);
      if (result)
        gateway_files[cmd] = *result;
      else
        note(fmt::format("the gateway did not give '{}': {}", cmd, result.error().message));
    }
  } else {
    note(fmt::format("gateway not reachable at {} ({}): no status, cameras or alarms in this bundle",
                     gateway.endpoint(), ping.error().message));
  }

  const std::string name = fmt::format("vcgate-bundle-{}-{}", site, timestampForName());
  std::error_code ec;
  const fs::path work = fs::temp_directory_path(ec) / fmt::format("{}-{}", name, getpid());
  fs::create_directories(work / name, ec);
  if (ec)
    return reportError(ctl.options, core::makeCodedError("write", fmt::format("cannot create a temporary directory "
                                                                              "{}: {}",
                                                                              work.string(), ec.message())));
  const fs::path dir = work / name;
  const auto add = [&](const std::string& file, const std::string& text) {
    if (writeText(dir / file, scrub(text)))
      entries.push_back(file);
    else
      note(fmt::format("could not write {} (disk full?)", file));
  };

  if (have_config) add("config.yaml", config.text);
  utsname uts{};
  uname(&uts);
  std::string versions = fmt::format("vcgatectl {}\n", VCGATE_VERSION);
  versions +=
      ping ? fmt::format("vcgated {} (site {}, boot {})\n", ping->value("version", "?"), site, ping->value("boot", "?"))
           : "vcgated not reachable\n";
  versions += fmt::format("{}\n{}\nkernel {} {} {}\nos {}\n", gst_version_string(), probe::libavVersion(), uts.sysname,
                          uts.release, uts.machine, osRelease());
  add("versions.txt", versions);
  for (const auto& [cmd, result] : gateway_files.items()) {
    const std::string file = (cmd == "alarm.list" ? std::string("alarms") : cmd) + ".json";
    add(file, result.dump(2) + "\n");
  }

  const auto uname_a = runProgram({"uname", "-a"}, std::chrono::seconds(2));
  if (uname_a.exit_code == 0) add("uname.txt", uname_a.output);
  const auto df = runProgram({"df", "-h"}, std::chrono::seconds(3));
  if (df.exit_code == 0 || !df.output.empty())
    add("disk.txt", df.output);
  else
    note("df failed: no disk.txt");

  const auto journal = runProgram({"journalctl", "-u", "vcgated", "-n", std::to_string(args.log_lines), "--no-pager"},
                                  std::chrono::seconds(5));
  if (journal.exit_code == 127) {
    note("journalctl is not installed: no logs in this bundle");
  } else if (journal.exit_code == -1) {
    note("journalctl took longer than 5 s: no logs in this bundle");
  } else {
    add("logs.txt", journal.output);
    if (journal.exit_code != 0 || journal.output.find("No entries") != std::string::npos ||
        journal.output.find("No journal files") != std::string::npos)
      note("journalctl found no vcgated logs (not run by systemd here?): see logs.txt");
  }

  std::string readme = fmt::format("vcgate support bundle, site {}, made {} by vcgatectl {}\n\n", site,
                                   timestampForName(), VCGATE_VERSION);
  readme +=
      "config.yaml    the gateway's config; every password, secret and key replaced by ***\n"
      "versions.txt   vcgatectl, vcgated, GStreamer, FFmpeg, kernel, OS\n"
      "status.json    vcgatectl status --json (verdict, disks, clock, temperature, cameras)\n"
      "cameras.json   vcgatectl cameras --json (per-camera stats and last errors)\n"
      "alarms.json    vcgatectl alarm list --json (active and recent alarms)\n"
      "logs.txt       journalctl -u vcgated, the last lines\n"
      "uname.txt      uname -a\n"
      "disk.txt       df -h\n";
  readme += fmt::format("\n{} secret value(s) were hidden.\n", config.secrets.size());
  if (!notes.empty()) {
    readme += "\nNotes:\n";
    for (const auto& n : notes) readme += "- " + n + "\n";
  }
  add("README.txt", readme);

  // tar through fork/exec: it is on every box, and gzip with it.
  const fs::path target = fs::absolute(args.file, ec);
  const auto tar = runProgram({"tar", "-czf", target.string(), "-C", work.string(), name}, std::chrono::seconds(30));
  fs::remove_all(work, ec);
  if (tar.exit_code != 0)
    return reportError(
        ctl.options,
        core::makeCodedError("write", fmt::format("tar could not write {}: {}", target.string(),
                                                  tar.exit_code == 127 ? "tar is not installed" : tar.output)));
  const auto bytes = fs::file_size(target, ec);
  const double took_ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
  if (ctl.options.json) {
    printJson({{"file", target.string()},
               {"bytes", ec ? 0 : bytes},
               {"directory", name},
               {"entries", entries},
               {"secrets_hidden", config.secrets.size()},
               {"gateway_reachable", ping.ok()},
               {"notes", notes},
               {"took_ms", std::round(took_ms)}});
  } else {
    std::string list;
    for (const auto& e : entries) list += (list.empty() ? "" : ", ") + e;
    fmt::print("wrote {} ({}) in {:.0f} ms: {}\n", target.string(), formatBytes(static_cast<double>(ec ? 0 : bytes)),
               took_ms, list);
    fmt::print("{} secret value(s) hidden from the config and every file\n", config.secrets.size());
    for (const auto& n : notes) fmt::print("note: {}\n", n);
  }
  return kExitOk;
}

}  // namespace

void addBundleCommand(CLI::App& app, Ctl& ctl) {
  auto args = std::make_shared<BundleArgs>();
  auto* bundle_cmd = app.add_subcommand("bundle",
                                        "Write a support bundle (.tar.gz): versions, config with secrets "
                                        "hidden, status, cameras, alarms, logs, disk use");
  bundle_cmd->add_option("file", args->file, "Where to write it, e.g. /tmp/support.tar.gz")->required();
  bundle_cmd->add_option("--log-lines", args->log_lines, "Journal lines of vcgated to include (default 2000)")
      ->check(CLI::Range(0, 1000000));
  bundle_cmd->footer(
      "The config is read from -c CONFIG (default /etc/vcgate/vcgate.yaml). A bundle is written even\n"
      "when the gateway is down: that is when support needs it most; README.txt says what is missing.\n"
      "JSON: {file, bytes, directory, entries[], secrets_hidden, gateway_reachable, notes[], took_ms}.\n"
      "Exit codes: 0 written, 1 cannot write, 2 usage.");
  bundle_cmd->callback([&ctl, args] { ctl.exit_code = bundle(ctl, *args); });
}

}  // namespace vcgate::ctl
