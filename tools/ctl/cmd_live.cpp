// live, reload, snapshot: what the gateway publishes, and a picture of it.
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "gateway/bus/protocol.h"
#include "gateway/bus/subscriber.h"
#include "gateway/probe/keyframe.h"
#include "tools/ctl/ctl.h"

namespace vcgate::ctl {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kSnapshotLeaseS = 3;

int64_t wallMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

core::Result<void> writeFileAtomically(const std::string& path, const std::vector<uint8_t>& data) {
  // Via a temporary name, so that a viewer never opens half a picture.
  const std::string temporary = path + ".part";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) return core::makeError(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
    out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
    if (!out.flush()) return core::makeError(fmt::format("cannot write {} (disk full?)", path));
  }
  std::error_code ec;
  std::filesystem::rename(temporary, path, ec);
  if (ec) return core::makeError(fmt::format("cannot write {}: {}", path, ec.message()));
  return {};
}

struct SnapshotArgs {
  std::string camera;
  std::string file;
  int wait_ms = 5000;
  int quality = 3;
};

int snapshot(Ctl& ctl, const SnapshotArgs& args) {
  const auto started = Clock::now();
  Gateway gateway(ctl.options);
  auto cameras = gateway.call("cameras");
  if (!cameras) return reportError(ctl.options, cameras.error());
  json camera;
  std::string known;
  for (const auto& c : cameras->value("cameras", json::array())) {
    if (c.value("id", "") == args.camera) camera = c;
    known += (known.empty() ? "" : ", ") + c.value("id", "");
  }
  if (camera.is_null())
    return reportError(ctl.options, core::makeCodedError("unknown_camera", fmt::format("no camera '{}' (known: {})",
                                                                                       args.camera, known)));
  if (camera.value("state", "") != "streaming") {
    const std::string error = camera.value("last_error", "");
    return reportError(ctl.options,
                       core::makeCodedError("not_streaming", fmt::format("camera {} is {}{}: there is no picture to "
                                                                         "take",
                                                                         args.camera, camera.value("state", "?"),
                                                                         error.empty() ? "" : " (" + error + ")")));
  }
  auto ping = gateway.call("ping");
  if (!ping) return reportError(ctl.options, ping.error());
  const std::string site = ping->value("site", "");
  bus::SubscriberOptions options;
  for (const auto& e : ping->value("publish", json::array()))
    options.endpoints.push_back(localEndpoint(e.get<std::string>()));
  if (options.endpoints.empty())
    return reportError(ctl.options, core::makeCodedError("no_endpoint",
                                                         "the gateway does not say where it publishes "
                                                         "(an older vcgated?)"));
  options.prefixes = {bus::videoTopic(site, args.camera)};
  auto subscriber = bus::Subscriber::create(options);
  if (!subscriber) return reportError(ctl.options, core::makeCodedError("subscribe", subscriber.error().message));

  // A lease of our own only when nothing publishes the camera yet: a shorter
  // lease would cut short the platform's live view, and a live.stop would end it.
  const bool published = camera.value("live_view", false) || !camera.value("alarms", json::array()).empty();
  // The subscription needs a moment to reach the gateway; the live view
  // starts with the buffered keyframe, which would otherwise pass unseen.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto last_lease = Clock::now();
  if (!published) {
    auto lease = gateway.call("live.start", {{"camera", args.camera}, {"lease_s", kSnapshotLeaseS}});
    if (!lease) return reportError(ctl.options, lease.error());
  }
  installStopHandler();
  const auto deadline = Clock::now() + std::chrono::milliseconds(args.wait_ms);
  std::optional<bus::VideoMessage> keyframe;
  while (!keyframe && Clock::now() < deadline && !stopRequested().load()) {
    auto received = subscriber->receive(std::chrono::milliseconds(100));
    if (auto* video = std::get_if<bus::VideoMessage>(&received); video && video->header.keyframe())
      keyframe = std::move(*video);
    if (!published && Clock::now() - last_lease > std::chrono::seconds(kSnapshotLeaseS - 1)) {
      (void)gateway.call("live.start", {{"camera", args.camera}, {"lease_s", kSnapshotLeaseS}});  // a long GOP: extend
      last_lease = Clock::now();
    }
  }
  if (!keyframe)
    return reportError(ctl.options,
                       core::makeCodedError("timeout", fmt::format("no keyframe of {} arrived within {} ms on {} (its "
                                                                   "GOP may be longer: raise --wait-ms)",
                                                                   args.camera, args.wait_ms, options.endpoints[0])));
  const auto codec = keyframe->header.codec;
  auto jpeg = probe::keyframeToJpeg(codec, keyframe->payload, args.quality);
  if (!jpeg)
    return reportError(ctl.options, core::makeCodedError("decode", fmt::format("the keyframe of {} could not be made a "
                                                                               "JPEG: {}",
                                                                               args.camera, jpeg.error().message)));
  if (auto written = writeFileAtomically(args.file, jpeg->data); !written)
    return reportError(ctl.options, core::makeCodedError("write", written.error().message));
  const double took_ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
  const int64_t age_ms = (wallMicros() - keyframe->header.capture_us) / 1000;
  if (ctl.options.json) {
    printJson({{"camera", args.camera},
               {"file", args.file},
               {"bytes", jpeg->data.size()},
               {"width", jpeg->width},
               {"height", jpeg->height},
               {"codec", std::string(core::codecName(codec))},
               {"capture_us", keyframe->header.capture_us},
               {"age_ms", age_ms},
               {"took_ms", std::round(took_ms)}});
  } else {
    fmt::print("{}: {}x{} {} keyframe captured at {} ({} old) -> {} ({}) in {:.0f} ms\n", args.camera, jpeg->width,
               jpeg->height, core::codecName(codec), formatClock(keyframe->header.capture_us, true), formatAge(age_ms),
               args.file, formatBytes(static_cast<double>(jpeg->data.size())), took_ms);
  }
  return kExitOk;
}

}  // namespace

void addLiveCommands(CLI::App& app, Ctl& ctl) {
  struct LiveArgs {
    std::string camera;
    int lease = 60;
    bool stop = false;
  };
  auto live_args = std::make_shared<LiveArgs>();
  auto* live = app.add_subcommand("live", "Publish a camera's video for a while without an alarm");
  live->add_option("camera", live_args->camera, "Camera id")->required();
  live->add_option("--lease", live_args->lease, "Seconds (1-600)")->check(CLI::Range(1, 600));
  live->add_flag("--stop", live_args->stop, "End the live view now");
  live->footer(
      "JSON: {camera, until_us} ({camera} with --stop).\n"
      "Exit codes: 0 done, 1 refused (unknown camera), 2 usage, 3 gateway not reachable.");
  live->callback([&ctl, live_args] {
    Gateway gateway(ctl.options);
    auto result = live_args->stop
                      ? gateway.call("live.stop", {{"camera", live_args->camera}})
                      : gateway.call("live.start", {{"camera", live_args->camera}, {"lease_s", live_args->lease}});
    if (!result) {
      ctl.exit_code = reportError(ctl.options, result.error());
      return;
    }
    if (ctl.options.json)
      printJson(*result);
    else if (live_args->stop)
      fmt::print("live view of {} stopped\n", live_args->camera);
    else
      fmt::print("live view of {} until {}\n", live_args->camera, formatClock(result->value("until_us", int64_t{0})));
  });

  auto* reload = app.add_subcommand("reload", "Re-read the gateway's config (like SIGHUP), reporting refusals");
  reload->footer(
      "JSON: {} on success.\n"
      "Exit codes: 0 reloaded, 1 refused (the message names file:line:column; the old config keeps "
      "running), 2 usage, 3 gateway not reachable.");
  reload->callback([&ctl] {
    Gateway gateway(ctl.options);
    auto result = ask(ctl, gateway, "reload");
    if (!result) return;
    if (ctl.options.json)
      printJson(*result);
    else
      fmt::print("reloaded\n");
  });

  auto snap = std::make_shared<SnapshotArgs>();
  auto* snapshot_cmd = app.add_subcommand("snapshot",
                                          "Save a JPEG of a camera's latest keyframe, as the gateway "
                                          "publishes it");
  snapshot_cmd->add_option("camera", snap->camera, "Camera id")->required();
  snapshot_cmd->add_option("file", snap->file, "Where to write the JPEG, e.g. lobby.jpg")->required();
  snapshot_cmd->add_option("--wait-ms", snap->wait_ms, "How long to wait for a keyframe (default 5000)")
      ->check(CLI::Range(100, 60000));
  snapshot_cmd->add_option("-q,--quality", snap->quality, "JPEG quantiser: 2 best .. 31 smallest (default 3)")
      ->check(CLI::Range(2, 31));
  snapshot_cmd->footer(
      "Opens a 3 s live view (unless the camera is already published), takes the first keyframe "
      "from the bus,\ndecodes it and writes a JPEG. JSON: {camera, file, bytes, width, height, "
      "codec, capture_us, age_ms, took_ms}.\n"
      "Exit codes: 0 written, 1 refused, not streaming, no keyframe in time or not writable, "
      "2 usage, 3 gateway not reachable.");
  snapshot_cmd->callback([&ctl, snap] { ctl.exit_code = snapshot(ctl, *snap); });
}

}  // namespace vcgate::ctl
