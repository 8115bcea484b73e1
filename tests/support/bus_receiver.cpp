#include "tests/support/bus_receiver.h"

#include <gtest/gtest.h>

#include "tests/support/program_run.h"

namespace vcgate::testing {

using namespace std::chrono_literals;

BusReceiver::BusReceiver(const std::string& endpoint, Options options) {
  bus::SubscriberOptions subscriber;
  subscriber.endpoints = {endpoint};
  subscriber.prefixes = std::move(options.prefixes);
  subscriber.receive_hwm = options.receive_hwm;
  subscriber.receive_buffer_bytes = options.receive_buffer_bytes;
  auto sub = bus::Subscriber::create(subscriber);
  EXPECT_TRUE(sub.ok()) << (sub ? "" : sub.error().message);
  if (!sub) return;
  thread_ = std::thread([this, sub = std::move(sub.value())]() mutable {
    while (!stop_) {
      if (paused_) {
        std::this_thread::sleep_for(5ms);
        continue;
      }
      auto received = sub.receive(20ms);
      std::lock_guard lock(mutex_);
      if (auto* v = std::get_if<bus::VideoMessage>(&received)) video_.push_back(std::move(*v));
      if (auto* e = std::get_if<bus::AlarmEventMessage>(&received)) events_.push_back(std::move(*e));
      if (auto* s = std::get_if<bus::StatusMessage>(&received)) status_.push_back(std::move(*s));
    }
  });
}

BusReceiver::~BusReceiver() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

std::vector<bus::VideoMessage> BusReceiver::video(const std::string& camera) const {
  std::lock_guard lock(mutex_);
  std::vector<bus::VideoMessage> out;
  for (const auto& v : video_)
    if (camera.empty() || v.topic.camera == camera) out.push_back(v);
  return out;
}

std::vector<bus::AlarmEventMessage> BusReceiver::events() const {
  std::lock_guard lock(mutex_);
  return events_;
}

std::vector<bus::StatusMessage> BusReceiver::statuses() const {
  std::lock_guard lock(mutex_);
  return status_;
}

size_t BusReceiver::statusCount() const {
  std::lock_guard lock(mutex_);
  return status_.size();
}

bus::StatusMessage BusReceiver::lastStatus() const {
  std::lock_guard lock(mutex_);
  return status_.back();
}

std::set<uint64_t> BusReceiver::eventIds() const {
  std::set<uint64_t> ids;
  for (const auto& e : events()) ids.insert(e.event_id);
  return ids;
}

std::set<std::string> BusReceiver::raisedAlarms() const {
  std::set<std::string> ids;
  for (const auto& e : events())
    if (e.event.kind == alarm::AlarmEventKind::kRaised) ids.insert(e.event.alarm.id.hex());
  return ids;
}

bool BusReceiver::hasEvent(const std::string& alarm, alarm::AlarmEventKind kind) const {
  for (const auto& e : events())
    if (e.event.alarm.id.hex() == alarm && e.event.kind == kind) return true;
  return false;
}

bool BusReceiver::waitConnected(std::chrono::milliseconds timeout) const {
  return waitUntil([&] { return statusCount() > 0; }, timeout);
}

}  // namespace vcgate::testing
