// bus ping ENDPOINT: can this box reach a platform or gateway command endpoint,
// and how fast does it answer?
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <iostream>
#include <memory>
#include <thread>

#include <fmt/format.h>

#include "tools/ctl/ctl.h"

namespace vcgate::ctl {
namespace {

using Clock = std::chrono::steady_clock;

// Before ZeroMQ, which retries silently forever: a plain connection says
// "nothing listens" or "host silent" at once.
core::Result<void> reachable(const std::string& endpoint, int timeout_ms) {
  if (endpoint.starts_with("ipc://")) {
    const std::string path = endpoint.substr(6);
    struct stat st {};
    if (stat(path.c_str(), &st) != 0)
      return core::makeCodedError("unreachable", fmt::format("{} does not exist: nothing serves this endpoint", path));
    if (!S_ISSOCK(st.st_mode)) return core::makeCodedError("unreachable", fmt::format("{} is not a socket", path));
    const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    const int err = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 ? 0 : errno;
    close(fd);
    if (err == EACCES)
      return core::makeCodedError("unreachable", fmt::format("no permission to use {}: run as root or as a member "
                                                             "of the vcgate group",
                                                             path));
    if (err == ECONNREFUSED)
      return core::makeCodedError("unreachable", fmt::format("{} is left over: no process listens on it", path));
    if (err)
      return core::makeCodedError("unreachable", fmt::format("cannot connect to {}: {}", path, std::strerror(err)));
    return {};
  }
  if (!endpoint.starts_with("tcp://")) return {};  // inproc and others: let ZeroMQ judge
  std::string hostport = endpoint.substr(6);
  const auto colon = hostport.rfind(':');
  if (colon == std::string::npos)
    return core::makeCodedError("usage", fmt::format("{} has no port: write tcp://HOST:PORT", endpoint));
  std::string host = hostport.substr(0, colon);
  const std::string port = hostport.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int err = getaddrinfo(host.c_str(), port.c_str(), &hints, &found); err != 0)
    return core::makeCodedError("unreachable", fmt::format("cannot resolve '{}': {}", host, gai_strerror(err)));
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> list(found, freeaddrinfo);
  int last = ETIMEDOUT;
  for (addrinfo* a = found; a; a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    int err = connect(fd, a->ai_addr, a->ai_addrlen) == 0 ? 0 : errno;
    if (err == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      if (poll(&p, 1, timeout_ms) <= 0) {
        err = ETIMEDOUT;
      } else {
        socklen_t len = sizeof err;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      }
    }
    close(fd);
    if (err == 0) return {};
    last = err;
  }
  if (last == ECONNREFUSED)
    return core::makeCodedError("unreachable", fmt::format("nothing listens on {}:{} (connection refused): wrong port, "
                                                           "or the service is down",
                                                           host, port));
  if (last == ETIMEDOUT)
    return core::makeCodedError("unreachable", fmt::format("{}:{} does not answer within {} ms: the host is down, the "
                                                           "address is wrong, or a firewall drops the traffic "
                                                           "(check the uplink)",
                                                           host, port, timeout_ms));
  return core::makeCodedError("unreachable", fmt::format("cannot reach {}:{}: {}", host, port, std::strerror(last)));
}

}  // namespace

void addBusCommands(CLI::App& app, Ctl& ctl) {
  struct BusPingArgs {
    std::string endpoint;
    int count = 3;
    int interval_ms = 200;
  };
  auto args = std::make_shared<BusPingArgs>();
  auto* bus_cmd = app.add_subcommand("bus", "Check the bus: reachability of platform and gateway endpoints");
  bus_cmd->require_subcommand(1);
  auto* ping = bus_cmd->add_subcommand("ping", "Send 'ping' requests to a command endpoint and time the answers");
  ping->add_option("endpoint", args->endpoint, "tcp://HOST:PORT or ipc://PATH of a REP command endpoint")->required();
  ping->add_option("-n,--count", args->count, "How many pings (default 3)")->check(CLI::Range(1, 1000));
  ping->add_option("--interval-ms", args->interval_ms, "Pause between pings (default 200)")
      ->check(CLI::Range(0, 60000));
  ping->footer(
      "Each ping waits --timeout-ms (default 3000) for its answer. Any answer counts, even a refusal:\n"
      "the endpoint is there. JSON: {endpoint, sent, answered, min_ms, avg_ms, max_ms, replies[{ok, ms, "
      "site, version, error}]}.\n"
      "Exit codes: 0 every ping answered, 1 some lost, 2 usage, 3 not reachable (no answer at all).");
  ping->callback([&ctl, args] {
    installStopHandler();
    const std::string& endpoint = args->endpoint;
    if (auto ok = reachable(endpoint, ctl.options.timeout_ms); !ok) {
      ctl.exit_code = ok.error().code == "usage"
                          ? (std::cerr << "vcgatectl: " << ok.error().message << "\n", kExitUsage)
                          : reportError(ctl.options, ok.error(), endpoint);
      return;
    }
    if (!ctl.options.json) fmt::print("PING {}\n", endpoint);
    Gateway gateway(ctl.options, endpoint);
    json replies = json::array();
    std::vector<double> times;
    int sent = 0;
    for (int i = 0; i < args->count && !stopRequested().load(); ++i) {
      if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(args->interval_ms));
      ++sent;
      const auto start = Clock::now();
      auto result = gateway.call("ping");
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
      if (!result && (result.error().code == "unreachable" || result.error().code == "malformed")) {
        replies.push_back({{"ok", false}, {"error", result.error().message}});
        if (!ctl.options.json) fmt::print("no answer: {}\n", result.error().message);
        // Something accepted the connection but does not speak the protocol
        // (or wants CURVE encryption): more tries would only wait as long again.
        if (times.empty()) break;
        continue;
      }
      times.push_back(ms);
      json reply = {{"ok", result.ok()}, {"ms", std::round(ms * 100) / 100}};
      if (result) {
        reply["site"] = result->value("site", "");
        reply["version"] = result->value("version", "");
      } else {
        reply["error"] = result.error().code + ": " + result.error().message;
      }
      if (!ctl.options.json)
        fmt::print("answer from {}: {} in {:.2f} ms\n", endpoint,
                   result ? fmt::format("site {} version {}", result->value("site", "?"), result->value("version", "?"))
                          : "refused (" + result.error().code + ")",
                   ms);
      replies.push_back(std::move(reply));
    }
    const int answered = static_cast<int>(times.size());
    const double min = answered ? *std::min_element(times.begin(), times.end()) : 0;
    const double max = answered ? *std::max_element(times.begin(), times.end()) : 0;
    double sum = 0;
    for (double t : times) sum += t;
    const double avg = answered ? sum / answered : 0;
    if (ctl.options.json) {
      const auto r2 = [](double v) { return std::round(v * 100) / 100; };
      printJson({{"endpoint", endpoint},
                 {"sent", sent},
                 {"answered", answered},
                 {"min_ms", r2(min)},
                 {"avg_ms", r2(avg)},
                 {"max_ms", r2(max)},
                 {"replies", replies}});
    } else if (answered) {
      fmt::print("{} sent, {} answered; round trip min/avg/max {:.2f}/{:.2f}/{:.2f} ms\n", sent, answered, min, avg,
                 max);
    } else {
      fmt::print(
          "{} sent, none answered: something listens on {} but does not answer a vcgate ping (not a command "
          "endpoint, or it requires CURVE encryption)\n",
          sent, endpoint);
    }
    ctl.exit_code = answered == 0 ? kExitUnreachable : answered < sent ? kExitProblem : kExitOk;
  });
}

}  // namespace vcgate::ctl
