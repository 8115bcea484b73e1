#include "gateway/media/pipeline_reaper.h"

#include <gst/gst.h>

namespace vcgate::media {

PipelineReaper::PipelineReaper(size_t max_threads) : max_threads_(max_threads == 0 ? 1 : max_threads) {}

PipelineReaper::~PipelineReaper() {
  {
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [this] { return workers_.empty(); });
  }
  joinFinished();
}

void PipelineReaper::dispose(GstElement* pipeline) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(pipeline);
    ++pending_;
    // A new worker unless enough are running for what is queued; the worker
    // looks itself up in workers_, which it can only do after this returns
    // the lock.
    if (workers_.size() < max_threads_ && workers_.size() < pending_) {
      const uint64_t id = next_id_++;
      workers_.emplace(id, std::thread([this, id] { work(id); }));
    }
  }
  joinFinished();
}

bool PipelineReaper::drain(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return idle_.wait_for(lock, timeout, [this] { return pending_ == 0; });
}

size_t PipelineReaper::pending() const {
  std::lock_guard lock(mutex_);
  return pending_;
}

void PipelineReaper::work(uint64_t id) {
  std::unique_lock lock(mutex_);
  while (!queue_.empty()) {
    GstElement* pipeline = queue_.front();
    queue_.pop_front();
    lock.unlock();
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(pipeline);
    lock.lock();
    --pending_;
    if (pending_ == 0) idle_.notify_all();
  }
  // A thread cannot join itself: hand the handle to whoever joins next.
  auto self = workers_.find(id);
  finished_.push_back(std::move(self->second));
  workers_.erase(self);
  idle_.notify_all();
}

void PipelineReaper::joinFinished() {
  std::vector<std::thread> finished;
  {
    std::lock_guard lock(mutex_);
    finished.swap(finished_);
  }
  // Each of these has left work() or is about to (it only returns the lock).
  for (auto& thread : finished) thread.join();
}

}  // namespace vcgate::media
