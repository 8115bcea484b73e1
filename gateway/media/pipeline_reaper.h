// PipelineReaper: takes pipelines down to NULL off the main thread, each on
// its own thread.
// Setting a pipeline to NULL waits for its streaming threads to let go: an
// rtspsrc says TEARDOWN to a server that may be gone, an encoder finishes
// the frame it is in (or, on a slow box or under emulation, its own set-up,
// which for x265 takes seconds). Doing that on the main loop would freeze
// every other camera's watchdog and the daemon's own watchdog ping. One
// thread per pipeline (up to `max_threads` at once, the rest wait their
// turn) so that one slow pipeline never holds up the others: a reconnect
// does not wait behind another camera's TEARDOWN, and shutdown takes as long
// as the slowest pipeline, not the sum of all of them.
// dispose() and drain() may be called from any thread; the destructor waits
// until every pipeline handed over is down (shutdown order: cameras stop ->
// reaper joins).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

typedef struct _GstElement GstElement;

namespace vcgate::media {

class PipelineReaper {
 public:
  static constexpr size_t kDefaultMaxThreads = 32;

  explicit PipelineReaper(size_t max_threads = kDefaultMaxThreads);
  ~PipelineReaper();
  PipelineReaper(const PipelineReaper&) = delete;
  PipelineReaper& operator=(const PipelineReaper&) = delete;

  // Takes ownership of one reference to `pipeline`; returns at once.
  void dispose(GstElement* pipeline);
  // Waits until every pipeline handed over so far is down, at most `timeout`.
  // False when some pipeline is still going down (a camera that hangs on TEARDOWN).
  bool drain(std::chrono::milliseconds timeout);
  // Pipelines handed over and not down yet.
  size_t pending() const;

 private:
  void work(uint64_t id);
  void joinFinished();

  const size_t max_threads_;
  mutable std::mutex mutex_;
  std::condition_variable idle_;
  std::deque<GstElement*> queue_;       // handed over, no thread on it yet
  size_t pending_ = 0;                  // handed over, not down yet (queued or being taken down)
  uint64_t next_id_ = 0;
  std::map<uint64_t, std::thread> workers_;  // running; a worker ends when the queue is empty
  std::vector<std::thread> finished_;   // ended workers, joined by the next dispose() or the destructor
};

}  // namespace vcgate::media
