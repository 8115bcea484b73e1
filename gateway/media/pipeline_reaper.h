// PipelineReaper: takes pipelines down to NULL on its own thread.
// Setting an rtspsrc pipeline to NULL can block for seconds (it says TEARDOWN
// to a server that may be gone); doing that on the main loop would freeze
// every other camera's watchdog and the daemon's own watchdog ping.
// dispose() may be called from any thread; the destructor waits until every
// pipeline handed over is down (shutdown order: cameras stop -> reaper joins).
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

typedef struct _GstElement GstElement;

namespace vcgate::media {

class PipelineReaper {
 public:
  PipelineReaper();
  ~PipelineReaper();
  PipelineReaper(const PipelineReaper&) = delete;
  PipelineReaper& operator=(const PipelineReaper&) = delete;

  // Takes ownership of one reference to `pipeline`.
  void dispose(GstElement* pipeline);
  // Waits until every pipeline handed over so far is down, at most `timeout`.
  // False when some pipeline is still going down (a camera that hangs on TEARDOWN).
  bool drain(std::chrono::milliseconds timeout);

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<GstElement*> pending_;
  bool busy_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace vcgate::media
