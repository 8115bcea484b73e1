// UnitQueue: the bounded hand-over between the thread that publishes video
// (the producer) and the evidence recorder's worker (the consumer). The
// producer never waits for the disk: when the queue is full the unit is
// dropped, and every later unit of that camera is dropped too until its next
// keyframe, so what the worker writes always decodes. Control tasks (close an
// alarm, acknowledge, flush, stop) are never dropped and keep their order
// relative to the units pushed before them.
//
// The consumer takes the queue in batches (popBatch) and is woken once per
// batch, not once per unit: at 32 cameras that is 800 units a second, and a
// wake-up each cost the producer (the publishing thread) a futex call and the
// worker a context switch. A unit waits at most kGatherDelay for its batch;
// control tasks, a full batch and a filling queue wake the worker at once.
// While the worker writes one batch the next one queues, so up to twice the
// bounds can be in memory.
//
// Threads: any number of producers and one consumer; every method takes a
// short internal mutex, held only to move a task in or out.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "gateway/alarm/alarm.h"
#include "gateway/media/access_unit.h"

namespace vcgate::evidence {

// An alarm that covers a published unit (the alarm tag's id and level).
struct CoveringAlarm {
  alarm::AlarmId id;
  uint8_t level = 3;
  bool operator==(const CoveringAlarm&) const = default;
};

struct RecorderTask {
  enum class Kind { kUnit, kCloseAlarm, kAcknowledged, kSnapshot, kFlush, kStop };
  Kind kind = Kind::kUnit;
  std::string camera;                  // kUnit
  media::AccessUnitPtr unit;           // kUnit
  std::vector<CoveringAlarm> alarms;   // kUnit
  uint64_t dropped_before = 0;         // kUnit: units of this camera dropped just before this one
  alarm::AlarmId alarm;                // kCloseAlarm, kAcknowledged, kSnapshot
  std::vector<std::string> cameras;    // kSnapshot
  int64_t raised_us = 0;               // kSnapshot
  uint64_t token = 0;                  // kFlush
};

class UnitQueue {
 public:
  enum class Push { kQueued, kDroppedFull, kDroppedUntilKeyframe, kClosed };

  UnitQueue(size_t max_units, uint64_t max_bytes);

  // Producer: a kUnit task. Never blocks beyond the internal mutex.
  Push pushUnit(RecorderTask task);
  // Producer: any other task; never dropped (false only after close()).
  bool pushControl(RecorderTask task);
  // Units that make a batch, and the longest a queued unit waits for one.
  static constexpr size_t kWakeBatch = 16;
  static constexpr std::chrono::milliseconds kGatherDelay{50};

  // Consumer: appends every queued task to `out`, in order. Waits up to
  // `idle_timeout` for the first task, then up to kGatherDelay for a batch
  // (not at all when a control task is queued). False when nothing was taken
  // (timeout, or closed and empty).
  bool popBatch(std::deque<RecorderTask>& out, std::chrono::milliseconds idle_timeout);
  // Refuses every later push; pop() still returns what is queued.
  void close();

  size_t depth() const;
  uint64_t bytes() const;
  uint64_t dropped() const;   // units dropped, all cameras, since start
  uint64_t accepted() const;  // units queued, all cameras, since start

 private:
  // Under mutex_: whether the consumer should take the queue now.
  bool batchReady() const;

  struct CameraDrops {
    bool skipping = false;  // dropping until the next keyframe that fits
    uint64_t count = 0;     // dropped since the last unit that went through
  };

  const size_t max_units_;
  const uint64_t max_bytes_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<RecorderTask> tasks_;
  size_t units_ = 0;
  uint64_t bytes_ = 0;
  uint64_t dropped_ = 0;
  uint64_t accepted_ = 0;
  size_t controls_ = 0;        // control tasks in tasks_
  bool consumer_idle_ = false;  // the consumer waits with nothing queued: the first unit wakes it
  bool closed_ = false;
  std::map<std::string, CameraDrops, std::less<>> drops_;
};

}  // namespace vcgate::evidence
