// vcgate-sub: the reference platform subscriber. Only composes: parse the
// command line, install the signal handlers, hand over to runSubscriber().
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "gateway/evidence/mp4_writer.h"
#include "tools/sub/run.h"

namespace {

std::atomic<bool> g_stop{false};

// Only sets the flag: the loop notices within its 100 ms poll (at once, as the
// signal interrupts the poll) and shuts down in order.
void onSignal(int) { g_stop.store(true); }

void installSignals() {
  struct sigaction action {};
  action.sa_handler = onSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: the blocking poll returns EINTR
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace vcgate::sub;
  CLI::App app{
      "vcgate-sub: the reference platform subscriber of the vcgate bus (docs/protocol.md).\n"
      "Connects to one or more gateways, prints alarm events and gateway liveness, checks the\n"
      "video streams (sequence gaps, latency) and can record each alarm's video to MP4 files."};
  RunOptions options;
  app.add_option("-c,--connect", options.endpoints,
                 "Gateway publish endpoint to connect to, e.g. tcp://10.0.0.5:7100 or ipc:///run/vcgate/pub.sock; "
                 "repeat for several gateways (or a zmq_proxy XPUB endpoint)")
      ->required()
      ->type_name("ENDPOINT");
  app.add_option("-s,--site", options.sites, "Only this site (its alarm/, status/ and video/ topics); repeatable")
      ->type_name("SITE");
  app.add_option("--camera", options.cameras,
                 "Only the video of this camera id (with --site: subscribed per camera; without: filtered "
                 "after receipt); repeatable")
      ->type_name("CAMERA");
  app.add_flag("--json", options.json,
               "One JSON object per line on stdout, each with a \"type\": alarm, gateway, gap, recording, "
               "recording_error, malformed, summary");
  app.add_option("--record", options.record_dir,
                 "Record every alarm-tagged stream to DIR/<alarm-id>/<camera>.mp4 (fragmented MP4, no "
                 "transcoding, from a keyframe), check that each file decodes and report it")
      ->type_name("DIR");
  app.add_flag("--no-video", options.no_video, "Do not subscribe to video: alarm events and heartbeats only");
  app.add_option("--duration", options.duration_s, "Stop after this many seconds (default: until SIGINT/SIGTERM)")
      ->check(CLI::NonNegativeNumber)
      ->type_name("SECONDS");
  app.add_option("--ack", options.ack_endpoints,
                 "Acknowledge each alarm event on this gateway command endpoint (event.ack), so it stops re-sending "
                 "it; ENDPOINT for every site or SITE=ENDPOINT; repeatable")
      ->type_name("[SITE=]ENDPOINT");
  auto* key = app.add_option("--key", options.key_file,
                              "CURVE: this subscriber's secret key file (from 'vcgatectl keygen NAME': NAME.key_secret, "
                              "mode 0600), for a gateway with security.curve; its NAME.key must be on the gateway's "
                              "security.clients list")
                  ->type_name("FILE");
  auto* server_key = app.add_option("--server-key", options.server_key,
                                    "CURVE: the gateway's public key: its .key file, or the 40-character key")
                         ->type_name("FILE|KEY");
  key->needs(server_key);
  server_key->needs(key);
  app.add_option("--summary", options.summary_path, "Also write the final JSON summary to FILE")->type_name("FILE");
  app.add_option("--rcvhwm", options.receive_hwm,
                 "Messages queued before ZeroMQ drops whole messages (seq gaps then show the loss); default 10000")
      ->check(CLI::Range(1, 10'000'000))
      ->type_name("N");
  app.footer(
      "Output (stdout, one line per event, flushed): alarm events (each (alarm id, event, updated_us) once),\n"
      "'gateway up' at a site's first heartbeat, 'unreachable' after 3 x its heartbeat interval without one\n"
      "and 'back' when heartbeats return, sequence gaps per camera (video is then discarded until the next\n"
      "keyframe), closed recordings with whether they decode. At the end: a JSON summary (per camera:\n"
      "units, gaps, discarded-until-keyframe, capture-to-receipt and gateway latency p50/p99/max in us\n"
      "over live units (pre-roll units are old on purpose and only counted);\n"
      "per gateway: heartbeats; alarm events; malformed messages by reason; recordings).\n"
      "A recording (--record) is closed when its camera sends a unit without that alarm's tag, 5 s after\n"
      "the alarm's 'cleared' event once the camera's video stops, or at exit.\n"
      "Exit codes: 0 ok (stopped by SIGINT/SIGTERM or --duration), 2 usage error, 3 could not connect\n"
      "(bad endpoint), 4 the --record directory or --summary file cannot be written.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  if (options.no_video && !options.record_dir.empty()) {
    std::fprintf(stderr, "vcgate-sub: --record needs video; drop --no-video (see --help)\n");
    return kExitUsage;
  }
  if (options.no_video && !options.cameras.empty()) {
    std::fprintf(stderr, "vcgate-sub: --camera selects video; it makes no sense with --no-video (see --help)\n");
    return kExitUsage;
  }

  installSignals();
  // Recordings are checked and reported by verifyPlayable; libav's own stderr chatter would only repeat it.
  vcgate::evidence::quietLibavLogs();
  return runSubscriber(options, g_stop, [](const std::string& line) {
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
    // Readers are pipes: every event must be visible at once. When the reader
    // is gone (`vcgate-sub ... | head -3`) there is no one to tell: stop.
    if (std::fflush(stdout) != 0) g_stop.store(true);
  });
}
