#include "gateway/evidence/unit_queue.h"

namespace vcgate::evidence {

UnitQueue::UnitQueue(size_t max_units, uint64_t max_bytes)
    : max_units_(max_units > 0 ? max_units : 1), max_bytes_(max_bytes > 0 ? max_bytes : 1) {}

UnitQueue::Push UnitQueue::pushUnit(RecorderTask task) {
  const uint64_t size = task.unit ? task.unit->data.size() : 0;
  const bool keyframe = task.unit && task.unit->keyframe;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return Push::kClosed;
    auto it = drops_.find(task.camera);
    if (it == drops_.end()) it = drops_.emplace(task.camera, CameraDrops{}).first;
    CameraDrops& drops = it->second;
    if (drops.skipping && !keyframe) {
      ++drops.count;
      ++dropped_;
      return Push::kDroppedUntilKeyframe;
    }
    // A single unit larger than the byte bound still goes through an empty queue.
    if (units_ >= max_units_ || (units_ > 0 && bytes_ + size > max_bytes_)) {
      drops.skipping = true;
      ++drops.count;
      ++dropped_;
      return Push::kDroppedFull;
    }
    task.dropped_before = drops.count;
    drops = CameraDrops{};
    ++units_;
    ++accepted_;
    bytes_ += size;
    tasks_.push_back(std::move(task));
  }
  ready_.notify_one();
  return Push::kQueued;
}

bool UnitQueue::pushControl(RecorderTask task) {
  {
    std::lock_guard lock(mutex_);
    if (closed_) return false;
    tasks_.push_back(std::move(task));
  }
  ready_.notify_one();
  return true;
}

bool UnitQueue::pop(RecorderTask& out, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  if (!ready_.wait_for(lock, timeout, [&] { return !tasks_.empty() || closed_; })) return false;
  if (tasks_.empty()) return false;
  out = std::move(tasks_.front());
  tasks_.pop_front();
  if (out.kind == RecorderTask::Kind::kUnit) {
    --units_;
    bytes_ -= out.unit ? out.unit->data.size() : 0;
  }
  return true;
}

void UnitQueue::close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  ready_.notify_all();
}

size_t UnitQueue::depth() const {
  std::lock_guard lock(mutex_);
  return units_;
}

uint64_t UnitQueue::bytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}

uint64_t UnitQueue::dropped() const {
  std::lock_guard lock(mutex_);
  return dropped_;
}

}  // namespace vcgate::evidence

namespace vcgate::evidence {

uint64_t UnitQueue::accepted() const {
  std::lock_guard lock(mutex_);
  return accepted_;
}

}  // namespace vcgate::evidence
