// CamsimProcess: vcgate-camsim serving synthetic RTSP cameras for a test,
// started and ready (it printed "READY all"), killed with the object.
// Commands go to its stdin. One test thread.
#pragma once

#include <string>
#include <vector>

#include "tests/support/child_process.h"

namespace vcgate::testing {

class CamsimProcess {
 public:
  struct Options {
    int clip_seconds = 2;      // --clip-seconds: how long each camera's encoded loop is
    std::string address;       // --address; empty: camsim's default (loopback)
    std::string log_level;     // --log-level; empty: camsim's default
  };
  // `streams`: test:// URIs, one camera each, served as rtsp://.../NAME.
  explicit CamsimProcess(const std::vector<std::string>& streams) : CamsimProcess(streams, Options{}) {}
  CamsimProcess(const std::vector<std::string>& streams, Options options);

  std::string url(const std::string& name) const;
  // Sends a command line and waits for its "OK <line>".
  bool command(const std::string& line);
  int port() const { return port_; }

 private:
  std::string address_;
  ChildProcess process_;
  int port_ = 0;
};

}  // namespace vcgate::testing
