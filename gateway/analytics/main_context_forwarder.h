// MainContextForwarder<Event>: turns a handler that must run on the main
// thread (the one iterating a GLib main context, by default the global
// default context) into a callback that any thread may call. Each call copies
// the event into an idle source attached to that context and returns at once;
// the handler runs there, in call order. Events still queued when the
// forwarder is destroyed are dropped, never delivered to a dead handler.
//
//   MainContextForwarder<AnalyticsEvent> forward([this](const AnalyticsEvent& e) { onAnalytics(e); });
//   AnalyticsSink sink(config, forward.callback());
//
// Generic on purpose: board::InputEvent can go through the same forwarder.
// Thread rules: construct and destroy on the context's thread; callback()
// from any thread, and the returned callback from any thread.
// Destroy the producers (or stop them) before the forwarder.
#pragma once

#include <glib.h>

#include <functional>
#include <memory>
#include <utility>

namespace vcgate::analytics {

template <class Event>
class MainContextForwarder {
 public:
  using Handler = std::function<void(const Event&)>;

  explicit MainContextForwarder(Handler handler, GMainContext* context = nullptr)
      : state_(std::make_shared<State>()) {
    state_->handler = std::move(handler);
    state_->context = context ? g_main_context_ref(context) : nullptr;
  }
  ~MainContextForwarder() {
    // Runs on the context's thread, like every dispatch: no race on these.
    state_->alive = false;
    state_->handler = nullptr;
  }
  MainContextForwarder(const MainContextForwarder&) = delete;
  MainContextForwarder& operator=(const MainContextForwarder&) = delete;

  Handler callback() const {
    return [state = state_](const Event& event) {
      auto* item = new Item{state, event};
      // An idle source, never g_main_context_invoke: that would run the
      // handler on the calling thread whenever it can acquire the context.
      GSource* source = g_idle_source_new();
      g_source_set_priority(source, G_PRIORITY_DEFAULT);
      g_source_set_callback(source, &MainContextForwarder::dispatch, item, &MainContextForwarder::destroy);
      g_source_attach(source, state->context);
      g_source_unref(source);
    };
  }

 private:
  struct State {
    Handler handler;
    GMainContext* context = nullptr;  // nullptr: the global default context
    bool alive = true;
    ~State() {
      if (context) g_main_context_unref(context);
    }
  };
  struct Item {
    std::shared_ptr<State> state;
    Event event;
  };
  static gboolean dispatch(gpointer data) {
    auto* item = static_cast<Item*>(data);
    if (item->state->alive && item->state->handler) item->state->handler(item->event);
    return G_SOURCE_REMOVE;
  }
  static void destroy(gpointer data) { delete static_cast<Item*>(data); }

  std::shared_ptr<State> state_;
};

}  // namespace vcgate::analytics
