// FrameCollector: a FrameSink that keeps every access unit per camera, for
// tests to inspect. onAccessUnit runs on the dispatcher thread; the readers
// on the test thread; a mutex covers both.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "gateway/media/frame_dispatcher.h"

namespace vcgate::testing {

class FrameCollector final : public media::FrameSink {
 public:
  void onAccessUnit(const media::CameraId& camera, const media::AccessUnitPtr& unit) override {
    std::lock_guard lock(mutex_);
    units_[*camera].push_back(unit);
  }
  size_t count(const std::string& camera) const {
    std::lock_guard lock(mutex_);
    auto it = units_.find(camera);
    return it == units_.end() ? 0 : it->second.size();
  }
  std::vector<media::AccessUnitPtr> units(const std::string& camera) const {
    std::lock_guard lock(mutex_);
    auto it = units_.find(camera);
    return it == units_.end() ? std::vector<media::AccessUnitPtr>{} : it->second;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::vector<media::AccessUnitPtr>> units_;
};

}  // namespace vcgate::testing
