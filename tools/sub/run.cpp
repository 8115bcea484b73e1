#include "tools/sub/run.h"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "gateway/bus/command_server.h"
#include "gateway/bus/subscriber.h"
#include "gateway/core/clock.h"
#include "tools/sub/session.h"

namespace vcgate::sub {
namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(100);  // timer resolution of the loop

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace

std::vector<std::string> subscriptionPrefixes(const RunOptions& o) {
  std::vector<std::string> prefixes;
  if (o.sites.empty()) {
    prefixes = {"alarm/", "status/"};
    // Camera ids are per site: without a site, camera filtering happens after receipt.
    if (!o.no_video) prefixes.push_back("video/");
    return prefixes;
  }
  for (const auto& site : o.sites) {
    prefixes.push_back(bus::alarmTopic(site));
    prefixes.push_back(bus::statusTopic(site));
    if (o.no_video) continue;
    if (o.cameras.empty()) prefixes.push_back(fmt::format("video/{}/", site));
    for (const auto& camera : o.cameras) prefixes.push_back(bus::videoTopic(site, camera));
  }
  return prefixes;
}

namespace {

// Acknowledges each alarm event after it was handled (printed, de-duplicated),
// so the gateway stops re-sending it: at-least-once delivery, exactly-once
// handling. A failed ack is harmless: the gateway sends the event again and
// the session drops the duplicate.
class Acker {
 public:
  Acker(const std::vector<std::string>& endpoints, const std::optional<bus::CurveClient>& curve) {
    for (const auto& spec : endpoints) {
      const auto eq = spec.find('=');
      const bool per_site = eq != std::string::npos && spec.find("://") > eq;
      const std::string site = per_site ? spec.substr(0, eq) : "";
      clients_.emplace(site, std::make_unique<bus::CommandClient>(per_site ? spec.substr(eq + 1) : spec, curve));
    }
  }
  void acknowledge(const bus::AlarmEventMessage& m) {
    if (m.event_id == 0 || clients_.empty()) return;
    auto it = clients_.find(m.site);
    if (it == clients_.end()) it = clients_.find("");
    if (it == clients_.end()) return;
    const nlohmann::json request = {
        {"v", 1}, {"cmd", "event.ack"}, {"args", {{"event_ids", {m.event_id}}}}};
    auto reply = it->second->request(request.dump(), 1000);
    if (!reply) std::fprintf(stderr, "vcgate-sub: acknowledging event %llu of %s: %s\n",
                             static_cast<unsigned long long>(m.event_id), m.site.c_str(), reply.error().message.c_str());
  }

 private:
  std::map<std::string, std::unique_ptr<bus::CommandClient>> clients_;
};

}  // namespace

int runSubscriber(const RunOptions& options, const std::atomic<bool>& stop, const LineSink& sink) {
  bus::SubscriberOptions sub_options;
  if (!options.key_file.empty()) {
    auto curve = bus::loadCurveClient(options.key_file, options.server_key);
    if (!curve) {
      std::fprintf(stderr, "vcgate-sub: %s\n", curve.error().message.c_str());
      return kExitConnect;
    }
    sub_options.curve = std::move(*curve);
  }
  sub_options.endpoints = options.endpoints;
  sub_options.prefixes = subscriptionPrefixes(options);
  sub_options.receive_hwm = options.receive_hwm;
  auto subscriber = bus::Subscriber::create(sub_options);
  if (!subscriber) {
    std::fprintf(stderr, "vcgate-sub: %s\n", subscriber.error().message.c_str());
    return kExitConnect;
  }

  SessionOptions session_options;
  session_options.cameras.insert(options.cameras.begin(), options.cameras.end());
  if (!options.record_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(options.record_dir, ec);
    if (ec || !std::filesystem::is_directory(options.record_dir)) {
      std::fprintf(stderr, "vcgate-sub: cannot use %s for recordings: %s\n", options.record_dir.c_str(),
                   ec ? ec.message().c_str() : "it is not a directory");
      return kExitFiles;
    }
    session_options.record_dir = options.record_dir;
  }

  Output output(options.json, sink);
  Acker acker(options.ack_endpoints, sub_options.curve);
  auto& clock = core::SystemClock::instance();
  Session session(std::move(session_options), output, clock);
  const auto start = clock.now();
  const auto deadline = start + std::chrono::duration_cast<core::Duration>(std::chrono::duration<double>(options.duration_s));
  uint64_t malformed_seen = 0;

  while (!stop.load()) {
    auto now = clock.now();
    if (options.duration_s > 0 && now >= deadline) break;
    auto wait = kPollInterval;
    if (options.duration_s > 0)
      wait = std::min(wait, std::chrono::ceil<std::chrono::milliseconds>(deadline - now));
    auto received = subscriber->receive(wait);
    std::visit(Overloaded{[](bus::NoMessage&) {},
                          [&](bus::VideoMessage& m) { session.onVideo(std::move(m)); },
                          [&](bus::AlarmEventMessage& m) {
                            session.onAlarm(m);
                            acker.acknowledge(m);
                          },
                          [&](bus::StatusMessage& m) { session.onStatus(m); }},
               received);
    if (subscriber->malformed().total() != malformed_seen) {
      malformed_seen = subscriber->malformed().total();
      session.onMalformed(*subscriber);
    }
    session.tick();
  }

  session.finish();
  const double elapsed = std::chrono::duration<double>(clock.now() - start).count();
  const Json summary = session.summary(subscriber->malformed(), elapsed);
  output.summary(summary);
  if (!options.summary_path.empty()) {
    std::ofstream out(options.summary_path, std::ios::trunc);
    out << summary.dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
    out.close();
    if (!out) {
      std::fprintf(stderr, "vcgate-sub: cannot write the summary to %s: %s\n", options.summary_path.c_str(),
                   std::strerror(errno));
      return kExitFiles;
    }
  }
  return kExitOk;
}

}  // namespace vcgate::sub
