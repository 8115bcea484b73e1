// vcgate-camsim's library: a farm of simulated RTSP cameras on gst-rtsp-server.
//
// Each STREAM becomes a mount /NAME. Its video is encoded (test://) or demuxed
// (file://) once at start-up into a Clip; a single feeder thread then pushes
// each mount's clip, looping, into the appsrc of the mount's shared media at
// the clip's frame rate. Serving therefore never encodes, and a frame costs a
// GstBuffer that wraps clip bytes. Mounts that share a clip start at
// different offsets in it, so their keyframes do not line up.
//
// Threads:
//   - Farm::start(), execute(), port(), mounts() and the destructor: the main
//     thread only, the one that iterates the default GMainContext (the server
//     is attached to it, and execute() touches server state).
//   - The feeder thread is private; it only reads a mount's mode (atomic) and
//     its current appsrc (under the mount's mutex).
//   - gst-rtsp-server calls back ("media-configure", "unprepared") from its
//     own threads; those callbacks only update the mount's appsrc under its mutex.
//   - parseStreamArg(): pure, any thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "gateway/core/result.h"
#include "gateway/core/synthetic_spec.h"

// Forward declarations keep GStreamer's headers out of main.cpp's view.
typedef struct _GstRTSPServer GstRTSPServer;
typedef struct _GstRTSPMountPoints GstRTSPMountPoints;
typedef struct _GSource GSource;

namespace vcgate::camsim {

// One STREAM argument: "test://NAME?..." or "NAME=file:///abs/path".
struct StreamSpec {
  std::string name;                              // served at rtsp://ADDRESS:PORT/NAME
  std::optional<core::SyntheticSpec> synthetic;  // set for test://
  std::string file_path;                         // set for file://, absolute

  // Streams with the same key share one clip: the spec without its name, or the file.
  std::string clipKey() const;
};

// Validates syntax only (a file's existence is checked when it is loaded).
core::Result<StreamSpec> parseStreamArg(std::string_view arg);

struct Options {
  std::string address = "127.0.0.1";
  int port = 0;  // 0: the system picks a free port; read it back with Farm::port()
  double clip_seconds = 10;  // length of synthetic clips, rounded up to whole GOPs
  std::vector<StreamSpec> streams;
  // Both set: every stream asks for RTSP basic authentication with these,
  // as a real camera does (401 to anyone else). Empty: open.
  std::string user;
  std::string password;
};

struct Mount;

class Farm {
 public:
  // Builds every clip (this can take seconds), creates the mounts, binds the
  // RTSP port and attaches the server to the default GMainContext, then starts
  // the feeder. Errors name the stream, the file or the address at fault.
  static core::Result<std::unique_ptr<Farm>> start(const Options& options);

  // Stops feeding, closes every client and waits (briefly) for the medias to
  // shut down. Iterates the default GMainContext meanwhile.
  ~Farm();
  Farm(const Farm&) = delete;
  Farm& operator=(const Farm&) = delete;

  int port() const { return port_; }

  struct MountInfo {
    std::string name;
    std::string url;  // rtsp://ADDRESS:PORT/NAME
  };
  std::vector<MountInfo> mounts() const;

  struct Reply {
    std::string line;   // "OK <command>" or "ERR <reason>"; empty for a blank command
    bool quit = false;  // the command was "quit"
  };
  // One stdin command: stop|stall|corrupt|resume NAME, or quit.
  Reply execute(std::string_view command);

 private:
  Farm();
  void feedLoop();
  // Closes every RTSP client that has a session on `mount`; returns how many.
  int closeClientsOf(const Mount& mount);

  std::string address_;
  int port_ = 0;
  GstRTSPServer* server_ = nullptr;
  GstRTSPMountPoints* mount_points_ = nullptr;
  GSource* server_source_ = nullptr;
  std::vector<std::unique_ptr<Mount>> mounts_;

  std::thread feeder_;
  std::mutex feeder_mutex_;
  std::condition_variable feeder_wake_;
  bool stopping_ = false;  // guarded by feeder_mutex_
};

}  // namespace vcgate::camsim
