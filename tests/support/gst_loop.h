// Helpers for tests that drive GStreamer and GLib on the test thread:
// gst_init once, and spinning the default main context until a condition
// holds (bus watches and the camera timers run there).
#pragma once

#include <chrono>
#include <functional>

namespace vcgate::testing {

void initGstreamer();
// Iterates the default GLib main context until `done()` or the timeout; returns done().
bool runMainLoopUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout);
// Iterates the default main context for `duration` (for "nothing must happen" checks).
void runMainLoopFor(std::chrono::milliseconds duration);

}  // namespace vcgate::testing
