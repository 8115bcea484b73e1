#include "tests/support/gst_loop.h"

#include <glib.h>
#include <gst/gst.h>

namespace vcgate::testing {

void initGstreamer() { gst_init(nullptr, nullptr); }

bool runMainLoopUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    // Non-blocking iteration plus a short sleep: timers fire on time, and a
    // condition set by another thread is seen within a few milliseconds.
    if (!g_main_context_iteration(nullptr, FALSE)) g_usleep(2000);
  }
  return true;
}

void runMainLoopFor(std::chrono::milliseconds duration) {
  runMainLoopUntil([] { return false; }, duration);
}

}  // namespace vcgate::testing
