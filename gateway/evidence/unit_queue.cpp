#include "gateway/evidence/unit_queue.h"

namespace vcgate::evidence {

UnitQueue::UnitQueue(size_t max_units, uint64_t max_bytes)
    : max_units_(max_units > 0 ? max_units : 1), max_bytes_(max_bytes > 0 ? max_bytes : 1) {}

UnitQueue::Push UnitQueue::pushUnit(RecorderTask task) {
  const uint64_t size = task.unit ? task.unit->data.size() : 0;
  const bool keyframe = task.unit && task.unit->keyframe;
  bool wake = false;
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
    // Wake the worker for the first unit after it went idle and when a batch
    // is full or the queue half full; otherwise it comes by itself within kGatherDelay.
    wake = consumer_idle_ || batchReady();
  }
  if (wake) ready_.notify_one();
  return Push::kQueued;
}

bool UnitQueue::pushControl(RecorderTask task) {
  {
    std::lock_guard lock(mutex_);
    if (closed_) return false;
    tasks_.push_back(std::move(task));
    ++controls_;
  }
  ready_.notify_one();
  return true;
}

bool UnitQueue::batchReady() const {
  return controls_ > 0 || closed_ || units_ >= kWakeBatch || units_ * 2 >= max_units_ || bytes_ * 2 >= max_bytes_;
}

bool UnitQueue::popBatch(std::deque<RecorderTask>& out, std::chrono::milliseconds idle_timeout) {
  std::unique_lock lock(mutex_);
  if (tasks_.empty() && !closed_) {
    consumer_idle_ = true;
    ready_.wait_for(lock, idle_timeout, [&] { return !tasks_.empty() || closed_; });
    consumer_idle_ = false;
  }
  if (!tasks_.empty() && !batchReady()) ready_.wait_for(lock, kGatherDelay, [&] { return batchReady(); });
  if (tasks_.empty()) return false;
  for (auto& task : tasks_) out.push_back(std::move(task));
  tasks_.clear();
  units_ = 0;
  bytes_ = 0;
  controls_ = 0;
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
