#include "tools/camsim/camsim.h"

#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/rtsp-server/rtsp-server.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "gateway/core/uri.h"
#include "tools/camsim/clip.h"

namespace vcgate::camsim {

using core::makeError;
using core::Result;
using Clock = std::chrono::steady_clock;

namespace {

// A feeder that fell further behind than this (process suspended, machine
// overloaded) jumps to the present instead of bursting the backlog out.
constexpr auto kMaxLateness = std::chrono::seconds(1);
// How long the appsrc may queue when its pipeline does not consume (paused
// media): old frames are dropped first, so a client never gets stale video.
constexpr guint kAppsrcMaxBuffers = 50;
// Shutdown waits at most this long for medias to unprepare.
constexpr auto kShutdownGrace = std::chrono::seconds(3);

bool isValidName(std::string_view name) {
  if (name.empty() || name == "all") return false;  // "READY all PORT" is the last line
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.';
  });
}

GQuark mountQuark() {
  static const GQuark quark = g_quark_from_static_string("vcgate-camsim-mount");
  return quark;
}

}  // namespace

enum class Mode { kNormal, kStalled, kCorrupt, kStopped };

// A medium the server configured for a mount and has not unprepared yet.
struct Attachment {
  GstRTSPMedia* media = nullptr;  // owned reference
  GstElement* appsrc = nullptr;   // owned reference
};

struct Mount {
  std::string name;
  std::string path;  // "/" + name
  std::shared_ptr<Clip> clip;
  GstRTSPMediaFactory* factory = nullptr;  // owned reference; kept while stopped so resume can re-add it
  std::atomic<Mode> mode{Mode::kNormal};   // written by the main thread, read by the feeder

  std::mutex mutex;                      // guards the two members below
  std::vector<Attachment> attachments;   // the feeder feeds the last one
  std::uint64_t generation = 0;          // bumped on each attach: the feeder restarts its timestamps

  // Feeder thread only.
  size_t next_unit = 0;
  Clock::time_point due;
  std::uint64_t fed_generation = 0;
  GstClockTime last_dts = GST_CLOCK_TIME_NONE;
  bool discont = true;
  bool wait_keyframe = true;
};

std::string StreamSpec::clipKey() const {
  if (synthetic) {
    core::SyntheticSpec anonymous = *synthetic;
    anonymous.name.clear();
    return core::toUri(anonymous);
  }
  return "file://" + file_path;
}

Result<StreamSpec> parseStreamArg(std::string_view arg) {
  StreamSpec stream;
  if (arg.starts_with("test://")) {
    auto spec = core::parseSyntheticUri(arg);
    if (!spec) return spec.error();
    stream.name = spec->name;
    stream.synthetic = *spec;
  } else {
    const size_t eq = arg.find('=');
    if (eq == std::string_view::npos)
      return makeError("expected test://NAME?key=value&... or NAME=file:///absolute/path");
    stream.name = std::string(arg.substr(0, eq));
    auto uri = core::parseUri(arg.substr(eq + 1));
    if (!uri) return uri.error();
    if (uri->scheme != "file")
      return makeError(fmt::format("only file:// URIs can be served as NAME=URI, not {}://", uri->scheme));
    if (!uri->host.empty() && uri->host != "localhost")
      return makeError("a file:// URI needs an absolute path: file:///absolute/path");
    if (!uri->path.starts_with('/')) return makeError("a file:// URI needs an absolute path: file:///absolute/path");
    stream.file_path = uri->path;
  }
  if (!isValidName(stream.name))
    return makeError(fmt::format("'{}' is not a usable mount name (letters, digits, '_', '-', '.'; not 'all')",
                                 stream.name));
  return stream;
}

namespace {

void onMediaUnprepared(GstRTSPMedia* media, gpointer user_data) {
  auto* mount = static_cast<Mount*>(user_data);
  Attachment gone;
  {
    std::lock_guard lock(mount->mutex);
    auto it = std::find_if(mount->attachments.begin(), mount->attachments.end(),
                           [media](const Attachment& a) { return a.media == media; });
    if (it == mount->attachments.end()) return;
    gone = *it;
    mount->attachments.erase(it);
  }
  spdlog::debug("{}: media unprepared", mount->name);
  g_signal_handlers_disconnect_by_data(media, mount);
  gst_object_unref(gone.appsrc);
  g_object_unref(gone.media);  // whoever emits "unprepared" still holds its own reference
}

// Runs in a server thread when a mount's (shared) media is built, before it
// is prepared: hands the media's appsrc to the feeder.
void onMediaConfigure(GstRTSPMediaFactory* /*factory*/, GstRTSPMedia* media, gpointer user_data) {
  auto* mount = static_cast<Mount*>(user_data);
  GstElement* bin = gst_rtsp_media_get_element(media);
  GstElement* appsrc = gst_bin_get_by_name_recurse_up(GST_BIN(bin), "src");
  gst_object_unref(bin);
  if (!appsrc) {
    spdlog::error("{}: the media has no element named 'src'; nothing will be served", mount->name);
    return;
  }
  const bool h264 = mount->clip->codec() == core::VideoCodec::kH264;
  GstCaps* caps = gst_caps_new_simple(h264 ? "video/x-h264" : "video/x-h265", "stream-format", G_TYPE_STRING,
                                      "byte-stream", "alignment", G_TYPE_STRING, "au", nullptr);
  gst_app_src_set_caps(GST_APP_SRC(appsrc), caps);
  gst_caps_unref(caps);
  gst_app_src_set_stream_type(GST_APP_SRC(appsrc), GST_APP_STREAM_TYPE_STREAM);
  gst_app_src_set_max_bytes(GST_APP_SRC(appsrc), 0);
  gst_app_src_set_max_buffers(GST_APP_SRC(appsrc), kAppsrcMaxBuffers);
  gst_app_src_set_leaky_type(GST_APP_SRC(appsrc), GST_APP_LEAKY_TYPE_DOWNSTREAM);
  g_object_set(appsrc, "is-live", TRUE, "format", GST_FORMAT_TIME, "do-timestamp", FALSE, nullptr);

  g_object_set_qdata(G_OBJECT(media), mountQuark(), mount);
  g_signal_connect(media, "unprepared", G_CALLBACK(onMediaUnprepared), mount);
  {
    std::lock_guard lock(mount->mutex);
    mount->attachments.push_back({GST_RTSP_MEDIA(g_object_ref(media)), appsrc});
    ++mount->generation;
  }
  spdlog::info("{}: new media for the first client", mount->name);
}

// Pushes the mount's next unit into its current appsrc, if it has one and
// the mode allows. Feeder thread.
void feedOne(Mount& mount, Clock::time_point now) {
  const Mode mode = mount.mode.load(std::memory_order_acquire);
  if (mode == Mode::kStalled || mode == Mode::kStopped) {
    mount.discont = true;
    return;
  }
  GstElement* appsrc = nullptr;
  std::uint64_t generation = 0;
  {
    std::lock_guard lock(mount.mutex);
    if (mount.attachments.empty()) return;
    appsrc = GST_ELEMENT(gst_object_ref(mount.attachments.back().appsrc));
    generation = mount.generation;
  }
  if (generation != mount.fed_generation) {
    mount.fed_generation = generation;
    mount.last_dts = GST_CLOCK_TIME_NONE;
    mount.discont = true;
    mount.wait_keyframe = true;
  }
  const AccessUnit& unit = mount.clip->units()[mount.next_unit];
  // A new media starts at a keyframe: its parsers need the parameter sets
  // that precede it, and nothing before it would decode anyway.
  if (mount.wait_keyframe && !unit.keyframe) {
    gst_object_unref(appsrc);
    return;
  }
  // Until the media's pipeline runs there is no clock, hence no running time
  // to stamp the frame with: the frame is skipped, as a live camera would.
  GstClock* clock = gst_element_get_clock(appsrc);
  if (!clock) {
    gst_object_unref(appsrc);
    return;
  }
  const GstClockTime clock_now = gst_clock_get_time(clock);
  const GstClockTime base_time = gst_element_get_base_time(appsrc);
  gst_object_unref(clock);
  if (clock_now < base_time) {
    gst_object_unref(appsrc);
    return;
  }
  // Stamp the frame with its due time rather than "now": timestamps keep the
  // clip's exact cadence however late this thread woke up.
  const auto late = std::chrono::duration_cast<std::chrono::nanoseconds>(now - mount.due).count();
  GstClockTime dts = clock_now - base_time;
  dts = dts > static_cast<GstClockTime>(late) ? dts - late : 0;
  if (GST_CLOCK_TIME_IS_VALID(mount.last_dts) && dts <= mount.last_dts) dts = mount.last_dts + 1;
  mount.last_dts = dts;
  mount.wait_keyframe = false;

  GstBuffer* buffer = mount.clip->wrapUnit(mount.next_unit, mode == Mode::kCorrupt);
  GST_BUFFER_DTS(buffer) = dts;
  GST_BUFFER_PTS(buffer) = dts + unit.pts_delay;
  GST_BUFFER_DURATION(buffer) = unit.duration;
  if (!unit.keyframe) GST_BUFFER_FLAG_SET(buffer, GST_BUFFER_FLAG_DELTA_UNIT);
  if (mount.discont) GST_BUFFER_FLAG_SET(buffer, GST_BUFFER_FLAG_DISCONT);
  mount.discont = false;
  // FLUSHING or EOS only mean the media is going away; "unprepared" follows.
  gst_app_src_push_buffer(GST_APP_SRC(appsrc), buffer);
  gst_object_unref(appsrc);
}

// Where the i-th of n mounts sharing a clip starts: spread over the clip and,
// for synthetic clips, over the GOP, so keyframes of cameras do not coincide.
size_t startOffset(const Clip& clip, size_t i, size_t n) {
  const size_t frames = clip.units().size();
  if (n <= 1 || frames == 0) return 0;
  if (clip.gop() <= 0) return (i * frames / n) % frames;
  const auto gop = static_cast<size_t>(clip.gop());
  const size_t gop_start = (i * frames / n) / gop * gop;
  const size_t phase = (i * gop) / n;
  return (gop_start + phase) % frames;
}

std::string launchLine(core::VideoCodec codec) {
  const char* c = codec == core::VideoCodec::kH264 ? "264" : "265";
  // h26xparse lets the payloader learn the parameter sets from the stream.
  // The clip already carries them in-band in front of every keyframe, so the
  // payloader must not add its own: rtph26xpay config-interval=-1 inserts them
  // before every IDR *slice*, which splits a multi-slice keyframe into several
  // access units at the receiver (parameter sets start a new access unit).
  // Byte-stream in between: left to negotiate, h265parse picks hvc1, whose
  // caps need the parameter sets before the first buffer.
  return fmt::format("( appsrc name=src is-live=true format=time ! h{0}parse "
                     "! video/x-h{0},stream-format=byte-stream,alignment=au "
                     "! rtph{0}pay name=pay0 pt=96 )",
                     c);
}

}  // namespace

Farm::Farm() = default;

Result<std::unique_ptr<Farm>> Farm::start(const Options& options) {
  if (options.streams.empty()) return makeError("no STREAM given");
  for (size_t i = 0; i < options.streams.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (options.streams[i].name == options.streams[j].name)
        return makeError(fmt::format("two streams are named '{}'", options.streams[i].name));
  std::unique_ptr<Farm> farm(new Farm());
  farm->address_ = options.address;

  // Bind before encoding, which can take a while: a port in use fails at once.
  // create_source() rather than attach(): it reports why binding failed.
  farm->server_ = gst_rtsp_server_new();
  gst_rtsp_server_set_address(farm->server_, options.address.c_str());
  gst_rtsp_server_set_service(farm->server_, std::to_string(options.port).c_str());
  farm->mount_points_ = gst_rtsp_server_get_mount_points(farm->server_);
  GError* error = nullptr;
  farm->server_source_ = gst_rtsp_server_create_source(farm->server_, nullptr, &error);
  if (!farm->server_source_) {
    std::string message = fmt::format("cannot listen on {}:{}: {}", options.address, options.port,
                                      error ? error->message : "unknown error");
    if (error) g_error_free(error);
    return makeError(message);
  }
  farm->port_ = gst_rtsp_server_get_bound_port(farm->server_);
  const bool authenticate = !options.user.empty();
  if (authenticate) {
    GstRTSPAuth* auth = gst_rtsp_auth_new();
    GstRTSPToken* token =
        gst_rtsp_token_new(GST_RTSP_TOKEN_MEDIA_FACTORY_ROLE, G_TYPE_STRING, "camera-user", nullptr);
    gchar* basic = gst_rtsp_auth_make_basic(options.user.c_str(), options.password.c_str());
    gst_rtsp_auth_add_basic(auth, basic, token);
    g_free(basic);
    gst_rtsp_token_unref(token);
    gst_rtsp_server_set_auth(farm->server_, auth);
    g_object_unref(auth);
  }

  std::map<std::string, std::shared_ptr<Clip>> clips;
  std::map<std::string, size_t> sharing;  // clip key -> number of mounts using it
  std::vector<size_t> index_in_clip;
  for (const auto& stream : options.streams) {
    const std::string key = stream.clipKey();
    if (!clips.contains(key)) {
      auto clip = stream.synthetic ? encodeSynthetic(*stream.synthetic, options.clip_seconds)
                                   : loadFile(stream.file_path);
      if (!clip) return clip.error();
      clips[key] = *clip;
    }
    auto mount = std::make_unique<Mount>();
    mount->name = stream.name;
    mount->path = "/" + stream.name;
    mount->clip = clips[key];
    index_in_clip.push_back(sharing[key]++);
    farm->mounts_.push_back(std::move(mount));
  }
  for (size_t m = 0; m < farm->mounts_.size(); ++m) {
    Mount& mount = *farm->mounts_[m];
    mount.next_unit = startOffset(*mount.clip, index_in_clip[m], sharing[options.streams[m].clipKey()]);
    mount.factory = gst_rtsp_media_factory_new();
    gst_rtsp_media_factory_set_launch(mount.factory, launchLine(mount.clip->codec()).c_str());
    // One pipeline per camera whatever the number of clients, as a camera has one encoder.
    gst_rtsp_media_factory_set_shared(mount.factory, TRUE);
    if (authenticate)
      gst_rtsp_media_factory_add_role(mount.factory, "camera-user", GST_RTSP_PERM_MEDIA_FACTORY_ACCESS, G_TYPE_BOOLEAN,
                                      TRUE, GST_RTSP_PERM_MEDIA_FACTORY_CONSTRUCT, G_TYPE_BOOLEAN, TRUE, nullptr);
    g_signal_connect(mount.factory, "media-configure", G_CALLBACK(onMediaConfigure), &mount);
    gst_rtsp_mount_points_add_factory(farm->mount_points_, mount.path.c_str(),
                                      GST_RTSP_MEDIA_FACTORY(g_object_ref(mount.factory)));
  }
  g_source_attach(farm->server_source_, nullptr);

  const auto now = Clock::now();
  for (auto& mount : farm->mounts_) mount->due = now;
  farm->feeder_ = std::thread([f = farm.get()] { f->feedLoop(); });
  return farm;
}

Farm::~Farm() {
  if (feeder_.joinable()) {
    {
      std::lock_guard lock(feeder_mutex_);
      stopping_ = true;
    }
    feeder_wake_.notify_all();
    feeder_.join();
  }
  if (server_source_) {
    g_source_destroy(server_source_);
    g_source_unref(server_source_);
  }
  if (server_) {
    // Closing the clients ends their sessions, which unprepares the medias.
    GList* clients = gst_rtsp_server_client_filter(server_, nullptr, nullptr);
    for (GList* c = clients; c; c = c->next) gst_rtsp_client_close(GST_RTSP_CLIENT(c->data));
    g_list_free_full(clients, g_object_unref);
  }
  auto attached = [this] {
    for (auto& mount : mounts_) {
      std::lock_guard lock(mount->mutex);
      if (!mount->attachments.empty()) return true;
    }
    return false;
  };
  const auto deadline = Clock::now() + kShutdownGrace;
  GSource* tick = g_timeout_source_new(20);  // bounds each blocking iteration below
  g_source_set_callback(tick, [](gpointer) -> gboolean { return G_SOURCE_CONTINUE; }, nullptr, nullptr);
  g_source_attach(tick, nullptr);
  while (attached() && Clock::now() < deadline) g_main_context_iteration(nullptr, TRUE);
  g_source_destroy(tick);
  g_source_unref(tick);
  for (auto& mount : mounts_) {
    std::vector<Attachment> left;
    {
      std::lock_guard lock(mount->mutex);
      left.swap(mount->attachments);
    }
    if (!left.empty()) spdlog::warn("{}: media still running at exit", mount->name);
    for (auto& a : left) {
      g_signal_handlers_disconnect_by_data(a.media, mount.get());
      gst_object_unref(a.appsrc);
      g_object_unref(a.media);
    }
    if (mount->factory) {
      g_signal_handlers_disconnect_by_data(mount->factory, mount.get());
      g_object_unref(mount->factory);
    }
  }
  if (mount_points_) g_object_unref(mount_points_);
  if (server_) g_object_unref(server_);
}

std::vector<Farm::MountInfo> Farm::mounts() const {
  std::vector<MountInfo> out;
  for (const auto& mount : mounts_)
    out.push_back({mount->name, fmt::format("rtsp://{}:{}{}", address_, port_, mount->path)});
  return out;
}

void Farm::feedLoop() {
  std::unique_lock lock(feeder_mutex_);
  while (!stopping_) {
    Clock::time_point next = Clock::time_point::max();
    for (const auto& mount : mounts_) next = std::min(next, mount->due);
    if (feeder_wake_.wait_until(lock, next, [this] { return stopping_; })) break;
    lock.unlock();
    const auto now = Clock::now();
    for (auto& mount : mounts_) {
      if (mount->due > now) continue;
      if (now - mount->due > kMaxLateness) {
        mount->due = now;
        mount->discont = true;
      }
      feedOne(*mount, now);
      mount->due += std::chrono::nanoseconds(mount->clip->units()[mount->next_unit].duration);
      mount->next_unit = (mount->next_unit + 1) % mount->clip->units().size();
    }
    lock.lock();
  }
}

int Farm::closeClientsOf(const Mount& mount) {
  int closed = 0;
  GList* clients = gst_rtsp_server_client_filter(server_, nullptr, nullptr);
  for (GList* c = clients; c; c = c->next) {
    auto* client = GST_RTSP_CLIENT(c->data);
    bool uses_mount = false;
    GList* sessions = gst_rtsp_client_session_filter(client, nullptr, nullptr);
    for (GList* s = sessions; s && !uses_mount; s = s->next) {
      GList* medias = gst_rtsp_session_filter(GST_RTSP_SESSION(s->data), nullptr, nullptr);
      for (GList* m = medias; m; m = m->next) {
        GstRTSPMedia* media = gst_rtsp_session_media_get_media(GST_RTSP_SESSION_MEDIA(m->data));
        if (g_object_get_qdata(G_OBJECT(media), mountQuark()) == &mount) uses_mount = true;
      }
      g_list_free_full(medias, g_object_unref);
    }
    g_list_free_full(sessions, g_object_unref);
    if (uses_mount) {
      gst_rtsp_client_close(client);
      ++closed;
    }
  }
  g_list_free_full(clients, g_object_unref);
  return closed;
}

Farm::Reply Farm::execute(std::string_view command) {
  std::vector<std::string> words;
  for (size_t i = 0; i < command.size();) {
    while (i < command.size() && std::isspace(static_cast<unsigned char>(command[i]))) ++i;
    const size_t start = i;
    while (i < command.size() && !std::isspace(static_cast<unsigned char>(command[i]))) ++i;
    if (i > start) words.emplace_back(command.substr(start, i - start));
  }
  if (words.empty()) return {};
  std::string echo = words[0];
  for (size_t i = 1; i < words.size(); ++i) echo += " " + words[i];
  const std::string& verb = words[0];
  if (verb == "quit") {
    if (words.size() != 1) return {"ERR usage: quit"};
    return {"OK quit", true};
  }
  if (verb != "stop" && verb != "stall" && verb != "corrupt" && verb != "resume")
    return {fmt::format("ERR unknown command '{}' (known: stop NAME, stall NAME, corrupt NAME, resume NAME, quit)",
                        verb)};
  if (words.size() != 2) return {fmt::format("ERR usage: {} NAME", verb)};
  auto it = std::find_if(mounts_.begin(), mounts_.end(), [&](const auto& m) { return m->name == words[1]; });
  if (it == mounts_.end()) return {fmt::format("ERR no stream named '{}'", words[1])};
  Mount& mount = **it;
  const Mode mode = mount.mode.load();

  if (verb == "stop") {
    if (mode != Mode::kStopped) {
      // Remove the mount first, so that a client closed below cannot reconnect.
      gst_rtsp_mount_points_remove_factory(mount_points_, mount.path.c_str());
      mount.mode.store(Mode::kStopped, std::memory_order_release);
      const int closed = closeClientsOf(mount);
      spdlog::info("{}: stopped, closed {} client(s)", mount.name, closed);
    }
  } else if (verb == "resume") {
    if (mode == Mode::kStopped)
      gst_rtsp_mount_points_add_factory(mount_points_, mount.path.c_str(),
                                        GST_RTSP_MEDIA_FACTORY(g_object_ref(mount.factory)));
    mount.mode.store(Mode::kNormal, std::memory_order_release);
    spdlog::info("{}: resumed", mount.name);
  } else {
    if (mode == Mode::kStopped) return {fmt::format("ERR '{}' is stopped; resume it first", mount.name)};
    if (verb == "corrupt") {
      mount.clip->prepareCorrupt();  // before the mode change publishes it to the feeder
      mount.mode.store(Mode::kCorrupt, std::memory_order_release);
    } else {
      mount.mode.store(Mode::kStalled, std::memory_order_release);
    }
    spdlog::info("{}: {}", mount.name, verb == "corrupt" ? "sending garbage" : "stalled");
  }
  return {"OK " + echo};
}

}  // namespace vcgate::camsim
