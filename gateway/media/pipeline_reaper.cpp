#include "gateway/media/pipeline_reaper.h"

#include <gst/gst.h>

namespace vcgate::media {

PipelineReaper::PipelineReaper() : thread_([this] { run(); }) {}

PipelineReaper::~PipelineReaper() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void PipelineReaper::dispose(GstElement* pipeline) {
  {
    std::lock_guard lock(mutex_);
    pending_.push_back(pipeline);
  }
  wake_.notify_one();
}

bool PipelineReaper::drain(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return idle_.wait_for(lock, timeout, [this] { return pending_.empty() && !busy_; });
}

void PipelineReaper::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
    if (pending_.empty()) break;  // stopping and nothing left
    GstElement* pipeline = pending_.front();
    pending_.pop_front();
    busy_ = true;
    lock.unlock();
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(pipeline);
    lock.lock();
    busy_ = false;
    if (pending_.empty()) idle_.notify_all();
  }
  idle_.notify_all();
}

}  // namespace vcgate::media
