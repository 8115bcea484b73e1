// libFuzzer target: what the gateway decodes from a command request (the
// platform's bus.commands socket and the local control socket). The input is
// the request frame, as CommandServer hands it to the handler. Every input is
// handled on both channels (and as a viewer's) by a fresh CommandHandler over a fresh AlarmEngine,
// so no alarm or lease of one input changes what the next one sees; the
// Publisher (ZeroMQ on inproc://, with its FrameDispatcher worker) is built
// once per process, as in the daemon. handle() must never crash or let an
// exception out, and must always answer with a JSON object carrying "ok".
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "gateway/alarm/alarm_engine.h"
#include "gateway/bus/publisher.h"
#include "gateway/config/config.h"
#include "gateway/control/command_handler.h"
#include "gateway/core/clock.h"
#include "gateway/media/frame_dispatcher.h"

namespace {

using namespace vcgate;

// A small real site: two cameras, storage that does not exist (status reports it).
constexpr const char* kSiteYaml = R"(site:
  id: fuzz
bus:
  publish: tcp://127.0.0.1:5556  # reported only: the publisher below binds inproc://
  control: ipc:///nonexistent/vcgate-fuzz/control.sock
storage:
  state_dir: /nonexistent/vcgate-fuzz/state
  evidence_dir: /nonexistent/vcgate-fuzz/evidence
cameras:
  - id: hall-a-1
    uri: test://hall-a-1?codec=h264
  - id: hall-a-2
    uri: test://hall-a-2?codec=h265
)";

struct Site {
  config::Config config;
  media::FrameDispatcher dispatcher;
  std::unique_ptr<bus::Publisher> publisher;
};

Site& site() {
  static Site* s = [] {
    auto loaded = config::loadConfigText(kSiteYaml, "/fuzz/site.yaml");
    if (!loaded.ok()) {
      for (const auto& d : loaded.diagnostics) std::fprintf(stderr, "%s\n", d.format().c_str());
      std::abort();
    }
    auto* out = new Site{*loaded.config, media::FrameDispatcher(64), nullptr};
    bus::PublisherOptions options;
    options.site = out->config.site.id;
    options.endpoints = {"inproc://fuzz-publish"};
    options.boot_id = 0x0123456789abcdef;
    auto publisher = bus::Publisher::create(options, out->dispatcher);
    if (!publisher) std::abort();
    out->publisher = std::move(*publisher);
    out->dispatcher.addSink(out->publisher.get());
    out->dispatcher.start();
    out->publisher->configureCameras(out->config.cameras);
    return out;  // never destroyed: libFuzzer exits without unwinding
  }();
  return *s;
}

bus::StatusMessage statusOf(const Site& s, const alarm::AlarmEngine& alarms) {
  bus::StatusMessage status;
  status.boot_id = s.publisher->bootId();
  status.site = s.config.site.id;
  status.version = "fuzz";
  status.active_alarms = static_cast<int>(alarms.active().size());
  for (const auto& camera : s.config.cameras) {
    bus::CameraStatus c;
    c.id = camera.id;
    c.state = "streaming";
    status.cameras.push_back(c);
  }
  return status;
}

// The reply text, whether handle() answers with the JSON string or a Reply
// carrying it (and a data frame) as `body`.
template <class R>
const std::string& replyText(const R& reply) {
  if constexpr (std::is_same_v<R, std::string>) return reply;
  else return reply.body;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Site& s = site();
  core::ManualClock clock;
  alarm::AlarmEngine alarms(s.config, clock, /*seed=*/1);
  alarms.addListener([&s](const alarm::AlarmEvent& event) { s.publisher->onAlarmEvent(event); });

  control::CommandContext context;
  context.site = s.config.site.id;
  context.version = "fuzz";
  context.alarms = &alarms;
  context.publisher = s.publisher.get();
  context.clock = &clock;
  context.status = [&] { return statusOf(s, alarms); };
  context.reload = [] { return std::string("/fuzz/site.yaml:1:1: error: reload refused by the fuzzer"); };
  context.config = [&s]() -> const config::Config& { return s.config; };
  context.subscribers = [] { return std::optional<int>(0); };
  context.ack_events = [](const std::vector<uint64_t>& ids) -> core::Result<size_t> { return ids.size(); };
  context.board = [] {
    return std::optional<control::BoardView>(control::BoardView{"simulated", {}, {}, 41.5});
  };
  context.thermal_dir = "/nonexistent/vcgate-fuzz/thermal";  // no sysfs reads per input
  control::CommandHandler handler(std::move(context));

  const std::string request(reinterpret_cast<const char*>(data), size);
  // The platform (operator unless its key says otherwise), a viewer's key, the local socket (admin).
  const bus::RequestOrigin origins[] = {{"commands", "", ""}, {"commands", "fuzz-viewer", "viewer"}, {"control", "", ""}};
  for (const auto& origin : origins) {
    const auto reply = handler.handle(request, origin);
    const auto parsed = nlohmann::json::parse(replyText(reply), nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_object() || !parsed.contains("ok") || !parsed["ok"].is_boolean()) std::abort();
  }
  // The alarms this input raised end here, so the publisher's covers do not
  // pile up from one input to the next.
  for (const auto& a : alarms.active()) (void)alarms.clear(a.id.hex());
  return 0;
}
