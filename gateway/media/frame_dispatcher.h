// FrameDispatcher: the one hand-over point between the cameras' streaming
// threads and everything that consumes access units (pre-alarm buffer,
// publisher, recorder). Streaming threads call tryPush(), which never blocks:
// a full queue refuses the unit and the camera then skips to its next keyframe,
// so a slow consumer costs frames, never a stalled camera.
// One worker thread delivers to the sinks in order; sinks run on that thread.
// post() runs a task on that same thread, so that state owned by a sink (a
// ZeroMQ socket, the pre-alarm buffers) is only ever touched by one thread.
// Tasks are never dropped and run before frames queued after them.
// Sinks are added before start(); stop() delivers what is queued, then joins.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gateway/media/access_unit.h"

namespace vcgate::media {

using CameraId = std::shared_ptr<const std::string>;

class FrameSink {
 public:
  virtual ~FrameSink() = default;
  // Worker thread. Must not block for long: it holds up every camera's frames.
  virtual void onAccessUnit(const CameraId& camera, const AccessUnitPtr& unit) = 0;
};

class FrameDispatcher {
 public:
  explicit FrameDispatcher(size_t capacity = 4096);
  ~FrameDispatcher();
  FrameDispatcher(const FrameDispatcher&) = delete;
  FrameDispatcher& operator=(const FrameDispatcher&) = delete;

  void addSink(FrameSink* sink);  // before start()
  // Before start(): the worker runs under SCHED_FIFO at this priority (0 =
  // normal policy), so that a unit handed over is delivered at once however
  // busy the streaming threads are (gateway/core/realtime.h). If the process
  // may not, the worker logs why and runs at normal priority.
  void setRealtimePriority(int priority) { realtime_priority_ = priority; }
  void start();
  // Delivers everything already queued, then stops the worker. Idempotent.
  void stop();

  // Any thread; false when the queue is full (the unit is not taken).
  bool tryPush(const CameraId& camera, AccessUnitPtr unit);
  // Any thread; runs `task` on the worker thread. Ignored after stop().
  void post(std::function<void()> task);

  size_t queued() const;
  size_t capacity() const { return capacity_; }

 private:
  // A frame for the sinks, or a task when `task` is set.
  struct Entry {
    CameraId camera;
    AccessUnitPtr unit;
    std::function<void()> task;
  };
  void run();

  const size_t capacity_;
  std::vector<FrameSink*> sinks_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Entry> queue_;
  size_t frames_queued_ = 0;  // entries of queue_ that are frames: only they count against capacity
  bool stopping_ = false;
  int realtime_priority_ = 0;
  std::thread worker_;
};

}  // namespace vcgate::media
