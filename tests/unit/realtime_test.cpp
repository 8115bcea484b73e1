// Real-time delivery threads (bus.realtime_priority): the frame dispatcher's
// worker and the publisher's ZeroMQ I/O thread really run under SCHED_FIFO
// when the process may use it, keep working at normal priority when it may
// not, and a refusal says what to change.
#include "gateway/core/realtime.h"

#include <dirent.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "gateway/bus/publisher.h"
#include "gateway/media/frame_dispatcher.h"

namespace vcgate {
namespace {

using namespace std::chrono_literals;

constexpr int kPriority = 5;

// Thread ids of this process, with their names.
std::map<pid_t, std::string> threads() {
  std::map<pid_t, std::string> out;
  DIR* dir = opendir("/proc/self/task");
  if (!dir) return out;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream comm(std::string("/proc/self/task/") + e->d_name + "/comm");
    std::string name;
    std::getline(comm, name);
    out[static_cast<pid_t>(std::stoi(e->d_name))] = name;
  }
  closedir(dir);
  return out;
}

class PolicySink : public media::FrameSink {
 public:
  void onAccessUnit(const media::CameraId&, const media::AccessUnitPtr&) override {
    sched_param param{};
    int policy = -1;
    pthread_getschedparam(pthread_self(), &policy, &param);
    policy_ = policy;
    priority_ = param.sched_priority;
    delivered_ = true;
  }
  std::atomic<bool> delivered_{false};
  std::atomic<int> policy_{-1};
  std::atomic<int> priority_{-1};
};

TEST(Realtime, TheDispatcherWorkerRunsUnderFifoWhenAllowed) {
  media::FrameDispatcher dispatcher;
  PolicySink sink;
  dispatcher.addSink(&sink);
  dispatcher.setRealtimePriority(kPriority);
  dispatcher.start();
  ASSERT_TRUE(dispatcher.tryPush(std::make_shared<const std::string>("cam"), std::make_shared<media::AccessUnit>()));
  for (int i = 0; i < 500 && !sink.delivered_; ++i) std::this_thread::sleep_for(10ms);
  dispatcher.stop();
  ASSERT_TRUE(sink.delivered_) << "the unit was delivered, whatever the priority";
  if (core::realtimeAllowed(kPriority)) {
    EXPECT_EQ(sink.policy_, SCHED_FIFO);
    EXPECT_EQ(sink.priority_, kPriority);
  } else {
    EXPECT_EQ(sink.policy_, SCHED_OTHER) << "without permission it runs at normal priority";
  }
}

TEST(Realtime, ThePublishersZeroMqIoThreadRunsUnderFifoWhenAllowed) {
  const auto before = threads();
  media::FrameDispatcher dispatcher;
  bus::PublisherOptions options;
  options.site = "rt";
  options.endpoints = {"tcp://127.0.0.1:*"};
  options.realtime_priority = kPriority;
  auto publisher = bus::Publisher::create(options, dispatcher);
  ASSERT_TRUE(publisher.ok()) << publisher.error().message;
  // ZeroMQ names its thread and sets its policy from inside the thread, just
  // after starting it: wait (bounded) until that has happened.
  const bool allowed = core::realtimeAllowed(kPriority).ok();
  struct Io {
    std::string name;
    int policy;
    int priority;
  };
  std::vector<Io> io;
  for (int attempt = 0; attempt < 500; ++attempt) {
    io.clear();
    for (const auto& [tid, name] : threads()) {
      if (before.contains(tid) || !name.starts_with("ZMQbg/IO")) continue;
      sched_param param{};
      sched_getparam(tid, &param);
      io.push_back({name, sched_getscheduler(tid), param.sched_priority});
    }
    const bool settled = !io.empty() && std::all_of(io.begin(), io.end(), [&](const Io& t) {
      return t.policy == (allowed ? SCHED_FIFO : SCHED_OTHER);
    });
    if (settled) break;
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_FALSE(io.empty()) << "the publisher's context started its I/O thread";
  for (const auto& t : io) {
    if (allowed) {
      EXPECT_EQ(t.policy, SCHED_FIFO) << t.name;
      EXPECT_EQ(t.priority, kPriority) << t.name;
    } else {
      EXPECT_EQ(t.policy, SCHED_OTHER) << t.name << ": without permission it runs at normal priority";
    }
  }
}

TEST(Realtime, AnOutOfRangePriorityIsRefused) {
  auto zero = core::makeThisThreadRealtime(0);
  ASSERT_FALSE(zero.ok());
  EXPECT_NE(zero.error().message.find("outside 1-99"), std::string::npos) << zero.error().message;
  EXPECT_FALSE(core::realtimeAllowed(100).ok());
}

// A process without CAP_SYS_NICE and with RLIMIT_RTPRIO 0 (a service without
// LimitRTPRIO=): the refusal names the fix. Run in a child that gives up root
// and the limit, so the test process keeps its own rights.
TEST(Realtime, ARefusalSaysWhatToChange) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    rlimit none{0, 0};
    if (setrlimit(RLIMIT_RTPRIO, &none) != 0) _exit(10);
    if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(11);
    auto refused = core::makeThisThreadRealtime(kPriority);  // this thread: no new thread in a forked child
    if (refused.ok()) _exit(12);
    if (refused.error().message.find("LimitRTPRIO=5") == std::string::npos) _exit(13);
    if (sched_getscheduler(0) != SCHED_OTHER) _exit(14);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "10 setrlimit, 11 setuid, 12 allowed anyway, 13 message, 14 policy changed";
}

}  // namespace
}  // namespace vcgate
