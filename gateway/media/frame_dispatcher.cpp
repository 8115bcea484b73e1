#include "gateway/media/frame_dispatcher.h"

#include <spdlog/spdlog.h>

#include "gateway/core/realtime.h"

namespace vcgate::media {

FrameDispatcher::FrameDispatcher(size_t capacity) : capacity_(capacity) {}

FrameDispatcher::~FrameDispatcher() { stop(); }

void FrameDispatcher::addSink(FrameSink* sink) { sinks_.push_back(sink); }

void FrameDispatcher::start() {
  if (!worker_.joinable()) worker_ = std::thread([this] { run(); });
}

void FrameDispatcher::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (worker_.joinable()) worker_.join();
}

bool FrameDispatcher::tryPush(const CameraId& camera, AccessUnitPtr unit) {
  {
    std::lock_guard lock(mutex_);
    if (frames_queued_ >= capacity_ || stopping_) return false;
    queue_.push_back({camera, std::move(unit), {}});
    ++frames_queued_;
  }
  wake_.notify_one();
  return true;
}

void FrameDispatcher::post(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    queue_.push_back({nullptr, nullptr, std::move(task)});
  }
  wake_.notify_one();
}

size_t FrameDispatcher::queued() const {
  std::lock_guard lock(mutex_);
  return frames_queued_;
}

void FrameDispatcher::run() {
  core::nameThisThread("vcg-dispatch");
  if (realtime_priority_ > 0) {
    if (auto rt = core::makeThisThreadRealtime(realtime_priority_); !rt)
      spdlog::warn("frame dispatcher: {}; it runs at normal priority", rt.error().message);
  }
  std::deque<Entry> batch;
  while (true) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      batch.swap(queue_);
      frames_queued_ = 0;
    }
    // Deliver outside the lock so that streaming threads are never held up by a sink.
    for (const auto& entry : batch) {
      if (entry.task) {
        entry.task();
        continue;
      }
      for (FrameSink* sink : sinks_) sink->onAccessUnit(entry.camera, entry.unit);
    }
    batch.clear();
  }
}

}  // namespace vcgate::media
