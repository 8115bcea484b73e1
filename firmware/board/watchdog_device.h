// WatchdogDevice: the Linux watchdog character device (/dev/watchdog). Opening
// it arms the watchdog; ping() is WDIOC_KEEPALIVE; close() writes the magic
// 'V' first, which disarms it (drivers built with nowayout ignore that and
// keep counting: the board then resets unless something else pings).
//
// Thread rules: one thread (the daemon's main thread, whose hang it guards).
#pragma once

#include <string>

#include "gateway/core/result.h"

namespace vcgate::board {

class WatchdogDevice {
 public:
  WatchdogDevice() = default;
  ~WatchdogDevice();  // a device still open is closed WITHOUT the magic character: the box resets
  WatchdogDevice(const WatchdogDevice&) = delete;
  WatchdogDevice& operator=(const WatchdogDevice&) = delete;

  // timeout_s > 0: WDIOC_SETTIMEOUT (the driver may round it; timeout() says what it chose).
  core::Result<void> open(const std::string& device, int timeout_s);
  core::Result<void> ping();
  core::Result<void> close();  // magic close

  bool isOpen() const { return fd_ >= 0; }
  int timeout() const { return timeout_s_; }  // as the driver reported it; 0 when unknown

 private:
  std::string device_;
  int fd_ = -1;
  int timeout_s_ = 0;
};

}  // namespace vcgate::board
