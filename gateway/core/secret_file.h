// Secrets (CURVE secret keys, RTSP passwords) live in files, never in the
// config itself: a config can then be shown, bundled and versioned freely.
// A secret file must be readable by its owner only; one that the group or
// the world can read is refused, as ssh refuses a loose private key.
// Any thread.
#pragma once

#include <string>

#include "gateway/core/result.h"

namespace vcgate::core {

// The file's content with a trailing newline (and \r) removed. Errors:
// "missing" (no such file), "insecure" (group or world may read it; the
// message says which chmod fixes it), "unreadable", "empty".
Result<std::string> readSecretFile(const std::string& path);

// Writes `content` to a new file readable by its owner only (0600), through a
// temporary file and a rename, so a crash never leaves half a key. Refuses
// to overwrite an existing file unless `replace`.
Result<void> writeSecretFile(const std::string& path, const std::string& content, bool replace = false);

}  // namespace vcgate::core
