// The vcgate-sub receive loop, apart from main() so that it can be tested:
// connect, subscribe, receive until stopped or the duration is over, close
// the recordings, print and write the summary.
// Thread rule: runs on the calling thread; `stop` may be set from a signal
// handler or another thread.
#pragma once

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "tools/sub/output.h"

namespace vcgate::sub {

// Exit codes of vcgate-sub (documented in --help and docs/subscriber.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitConnect = 3;
inline constexpr int kExitFiles = 4;  // the --record directory or the --summary file cannot be written

struct RunOptions {
  std::vector<std::string> endpoints;
  std::vector<std::string> sites;    // empty: every site
  std::vector<std::string> cameras;  // empty: every camera
  bool json = false;
  bool no_video = false;
  std::string record_dir;            // empty: no recording
  double duration_s = 0;             // 0: until stopped
  std::string summary_path;          // empty: printed only
  int receive_hwm = 10000;
  // Gateway command endpoints to acknowledge alarm events on (event.ack),
  // either "ENDPOINT" (every site) or "SITE=ENDPOINT". Empty: no acks.
  std::vector<std::string> ack_endpoints;
  // CURVE (a gateway with security.curve): this subscriber's secret key file
  // and the gateway's public key (its .key file or the key). Both or neither.
  std::string key_file;
  std::string server_key;
};

// The topic prefixes for these options (docs/protocol.md section 2).
std::vector<std::string> subscriptionPrefixes(const RunOptions& options);

// Returns the exit code. Diagnostics for a person go to stderr; events to `sink`.
int runSubscriber(const RunOptions& options, const std::atomic<bool>& stop, const LineSink& sink);

}  // namespace vcgate::sub
