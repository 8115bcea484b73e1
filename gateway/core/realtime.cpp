#include "gateway/core/realtime.h"

#include <pthread.h>
#include <sched.h>

#include <cstring>
#include <string>
#include <thread>

#include <fmt/format.h>

namespace vcgate::core {

Result<void> makeThisThreadRealtime(int priority) {
  const int lowest = sched_get_priority_min(SCHED_FIFO);
  const int highest = sched_get_priority_max(SCHED_FIFO);
  if (priority < lowest || priority > highest)
    return makeError(fmt::format("real-time priority {} is outside {}-{}", priority, lowest, highest));
  sched_param param{};
  param.sched_priority = priority;
  const int err = pthread_setschedparam(pthread_self(), SCHED_FIFO, &param);
  if (err == EPERM)
    return makeError(fmt::format("not allowed to use real-time priority {} (needs CAP_SYS_NICE, or "
                                 "LimitRTPRIO={} or more in the systemd unit)",
                                 priority, priority));
  if (err != 0) return makeError(fmt::format("cannot set real-time priority {}: {}", priority, std::strerror(err)));
  return {};
}

Result<void> realtimeAllowed(int priority) {
  Result<void> result;
  std::thread probe([&] { result = makeThisThreadRealtime(priority); });
  probe.join();
  return result;
}

void nameThisThread(const char* name) {
  char cut[16] = {};
  std::strncpy(cut, name, sizeof cut - 1);
  pthread_setname_np(pthread_self(), cut);
}

}  // namespace vcgate::core
