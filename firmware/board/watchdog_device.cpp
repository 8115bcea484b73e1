#include "firmware/board/watchdog_device.h"

#include <fcntl.h>
#include <linux/watchdog.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace vcgate::board {

WatchdogDevice::~WatchdogDevice() {
  if (fd_ >= 0) ::close(fd_);
}

core::Result<void> WatchdogDevice::open(const std::string& device, int timeout_s) {
  if (fd_ >= 0) return core::makeError(fmt::format("watchdog {} is already open", device_));
  const int fd = ::open(device.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    std::string hint;
    if (err == EBUSY) hint = " (another process holds it: systemd's RuntimeWatchdogSec, or a watchdog daemon)";
    if (err == EACCES) hint = " (vcgated needs write access to it)";
    if (err == ENOENT) hint = " (no watchdog driver loaded?)";
    return core::makeError(fmt::format("cannot open watchdog {}: {}{}", device, std::strerror(err), hint));
  }
  device_ = device;
  fd_ = fd;
  timeout_s_ = 0;
  if (timeout_s > 0) {
    int t = timeout_s;
    if (::ioctl(fd_, WDIOC_SETTIMEOUT, &t) != 0) {
      const int err = errno;
      // Disarm what we just armed: a watchdog we cannot configure is one we should not hold.
      [[maybe_unused]] auto n = ::write(fd_, "V", 1);
      ::close(fd_);
      fd_ = -1;
      return core::makeError(
          fmt::format("watchdog {}: cannot set a timeout of {} s: {}", device, timeout_s, std::strerror(err)));
    }
    timeout_s_ = t;
  } else {
    int t = 0;
    if (::ioctl(fd_, WDIOC_GETTIMEOUT, &t) == 0) timeout_s_ = t;
  }
  return {};
}

core::Result<void> WatchdogDevice::ping() {
  if (fd_ < 0) return core::makeError("the watchdog is not open");
  int dummy = 0;
  if (::ioctl(fd_, WDIOC_KEEPALIVE, &dummy) != 0)
    return core::makeError(fmt::format("watchdog {}: keepalive failed: {}", device_, std::strerror(errno)));
  return {};
}

core::Result<void> WatchdogDevice::close() {
  if (fd_ < 0) return {};
  const bool magic = ::write(fd_, "V", 1) == 1;
  const int err = errno;
  ::close(fd_);
  fd_ = -1;
  if (!magic)
    return core::makeError(fmt::format("watchdog {}: magic close failed ({}): it stays armed", device_,
                                       std::strerror(err)));
  return {};
}

}  // namespace vcgate::board
