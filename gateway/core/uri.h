// Camera URIs: parsing just enough to validate and to hide credentials.
// Every URI that reaches a log line, an error message or a stats record goes
// through redactUri() first: rtsp://user:secret@host/ becomes rtsp://user:***@host/.
// Pure functions, any thread.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "gateway/core/result.h"

namespace vcgate::core {

struct Uri {
  std::string scheme;    // lower-case: "rtsp", "file", "test"
  std::string user;      // empty when absent
  std::string password;  // empty when absent
  bool has_password = false;
  std::string host;
  int port = 0;  // 0 when absent
  std::string path;
  std::map<std::string, std::string> query;  // ?a=1&b=2, no decoding of %xx beyond the basics
};

// Parses scheme://[user[:password]@]host[:port][/path][?query]. file:///abs/path has an empty host.
Result<Uri> parseUri(std::string_view text);

// The URI with any password replaced by "***"; safe to print. Works on malformed input too.
std::string redactUri(std::string_view text);

// Replaces every URI-embedded password found anywhere in a free text (for example a
// GStreamer error message that quotes the location) by "***".
std::string redactText(std::string_view text);

}  // namespace vcgate::core
