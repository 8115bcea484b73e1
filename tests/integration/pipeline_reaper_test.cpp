// PipelineReaper against real GStreamer pipelines whose streaming thread is
// busy when they are disposed: an identity element that holds every buffer
// for a while (or until the test lets go) in its handoff, so that setting
// the pipeline to NULL waits for it. That is what an x265 encoder setting
// itself up under emulation, or an rtspsrc waiting for a TEARDOWN answer,
// does to the reaper.
#include "gateway/media/pipeline_reaper.h"

#include <gst/gst.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "tests/support/gst_loop.h"

namespace vcgate::media {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Its streaming thread holds the first buffer, and once the pipeline is
// asked to go down (it leaves PLAYING) it holds it `teardown` longer, or,
// with teardown zero, until release(): setting it to NULL takes that long.
class BusyPipeline {
 public:
  explicit BusyPipeline(std::chrono::milliseconds teardown) : teardown_(teardown) {
    pipeline_ = gst_parse_launch("videotestsrc is-live=true ! video/x-raw,width=64,height=48,framerate=25/1 ! "
                                 "identity name=busy signal-handoffs=true ! fakesink sync=false",
                                 nullptr);
    GstElement* identity = gst_bin_get_by_name(GST_BIN(pipeline_), "busy");
    g_signal_connect(identity, "handoff", G_CALLBACK(&BusyPipeline::onHandoff), this);
    gst_object_unref(identity);
    GstBus* bus = gst_element_get_bus(pipeline_);
    gst_bus_set_sync_handler(bus, &BusyPipeline::onMessage, this, nullptr);
    gst_object_unref(bus);
  }
  ~BusyPipeline() {
    release();
    if (owned_) {
      gst_element_set_state(pipeline_, GST_STATE_NULL);
      gst_object_unref(pipeline_);
    }
    if (watched_) gst_object_unref(watched_);
  }
  BusyPipeline(const BusyPipeline&) = delete;
  BusyPipeline& operator=(const BusyPipeline&) = delete;

  // Plays until the streaming thread holds a buffer.
  bool playUntilBusy() {
    gst_element_set_state(pipeline_, GST_STATE_PLAYING);
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 10s, [this] { return in_handoff_; });
  }
  // Hands the pipeline to the reaper, keeping a reference to watch its state.
  void disposeTo(PipelineReaper& reaper) {
    watched_ = GST_ELEMENT(gst_object_ref(pipeline_));
    owned_ = false;
    reaper.dispose(pipeline_);
  }
  bool isDown() const {
    GstState state = GST_STATE_VOID_PENDING;
    gst_element_get_state(watched_, &state, nullptr, 0);
    return state == GST_STATE_NULL;
  }
  void release() {
    {
      std::lock_guard lock(mutex_);
      released_ = true;
    }
    changed_.notify_all();
  }

 private:
  static void onHandoff(GstElement*, GstBuffer*, gpointer data) {
    auto* self = static_cast<BusyPipeline*>(data);
    std::unique_lock lock(self->mutex_);
    self->in_handoff_ = true;
    self->changed_.notify_all();
    while (!self->released_) {
      if (self->going_down_ && self->teardown_ > 0ms) {
        if (self->changed_.wait_until(lock, self->down_at_ + self->teardown_) == std::cv_status::timeout) break;
      } else {
        self->changed_.wait(lock);
      }
    }
  }
  // Runs in the thread that changes the state (the reaper's).
  static GstBusSyncReply onMessage(GstBus*, GstMessage* message, gpointer data) {
    auto* self = static_cast<BusyPipeline*>(data);
    if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_STATE_CHANGED) {
      GstState old_state, new_state;
      gst_message_parse_state_changed(message, &old_state, &new_state, nullptr);
      if (old_state == GST_STATE_PLAYING && new_state == GST_STATE_PAUSED) {
        std::lock_guard lock(self->mutex_);
        if (!self->going_down_) {
          self->going_down_ = true;
          self->down_at_ = Clock::now();
        }
        self->changed_.notify_all();
      }
    }
    return GST_BUS_DROP;
  }

  const std::chrono::milliseconds teardown_;
  GstElement* pipeline_ = nullptr;
  GstElement* watched_ = nullptr;
  bool owned_ = true;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool in_handoff_ = false;
  bool going_down_ = false;
  Clock::time_point down_at_{};
  bool released_ = false;
};

class PipelineReaperTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { testing::initGstreamer(); }
};

// Shutdown with four cameras that each take 1.5 s to go down: one after
// another that is 6 s, beyond the stop budget; all at once, 1.5 s.
TEST_F(PipelineReaperTest, BusyPipelinesGoDownTogetherNotOneAfterAnother) {
  std::vector<std::unique_ptr<BusyPipeline>> pipelines;
  for (int i = 0; i < 4; ++i) {
    pipelines.push_back(std::make_unique<BusyPipeline>(1500ms));
    ASSERT_TRUE(pipelines.back()->playUntilBusy());
  }
  PipelineReaper reaper;
  const auto start = Clock::now();
  for (auto& p : pipelines) p->disposeTo(reaper);
  EXPECT_EQ(reaper.pending(), 4u);
  ASSERT_TRUE(reaper.drain(4s)) << reaper.pending() << " pipeline(s) still going down";
  const auto took = Clock::now() - start;
  EXPECT_GE(took, 1400ms);
  EXPECT_LT(took, 4s);
  for (auto& p : pipelines) EXPECT_TRUE(p->isDown());
  EXPECT_EQ(reaper.pending(), 0u);
}

// A camera that never lets go (a TEARDOWN nobody answers) must not hold up
// the pipeline of another camera handed over after it.
TEST_F(PipelineReaperTest, AStuckPipelineDoesNotHoldUpTheNextOne) {
  BusyPipeline stuck(0ms);
  BusyPipeline next(100ms);
  ASSERT_TRUE(stuck.playUntilBusy());
  ASSERT_TRUE(next.playUntilBusy());
  PipelineReaper reaper;
  stuck.disposeTo(reaper);
  next.disposeTo(reaper);
  const auto deadline = Clock::now() + 3s;
  while (!next.isDown() && Clock::now() < deadline) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(next.isDown()) << "the second pipeline waited behind the stuck one";
  EXPECT_FALSE(stuck.isDown());
  EXPECT_FALSE(reaper.drain(100ms)) << "drain must say that a pipeline is still going down";
  EXPECT_EQ(reaper.pending(), 1u);
  stuck.release();
  EXPECT_TRUE(reaper.drain(5s));
  EXPECT_TRUE(stuck.isDown());
}

// With fewer threads than pipelines the rest wait their turn, and every one
// still goes down; the destructor waits for all of them.
TEST_F(PipelineReaperTest, MorePipelinesThanThreadsAllGoDownBeforeTheDestructorReturns) {
  std::vector<std::unique_ptr<BusyPipeline>> pipelines;
  for (int i = 0; i < 5; ++i) {
    pipelines.push_back(std::make_unique<BusyPipeline>(300ms));
    ASSERT_TRUE(pipelines.back()->playUntilBusy());
  }
  {
    PipelineReaper reaper(2);
    for (auto& p : pipelines) p->disposeTo(reaper);
  }
  for (auto& p : pipelines) EXPECT_TRUE(p->isDown());
}

// The daemon reuses one reaper for its whole life: a camera that reconnects
// again and again hands over pipeline after pipeline; the threads of those
// already down are joined, not piled up.
TEST_F(PipelineReaperTest, ManyDisposalsOverTimeLeaveNothingBehind) {
  PipelineReaper reaper;
  for (int i = 0; i < 20; ++i) {
    BusyPipeline p(1ms);
    ASSERT_TRUE(p.playUntilBusy());
    p.disposeTo(reaper);
    ASSERT_TRUE(reaper.drain(5s)) << "round " << i;
    EXPECT_TRUE(p.isDown());
  }
  EXPECT_EQ(reaper.pending(), 0u);
}

}  // namespace
}  // namespace vcgate::media
