// Redaction for support bundles: a config file, logs and JSON with every
// secret replaced by "***" before they leave the box.
//
// A secret is (1) the password of any URI (scheme://user:PASSWORD@host), and
// (2) the value of any key whose name contains "password", "passwd",
// "secret", "token", "credential" or "key" (not "keyframe"), unless the name
// says "public" (CURVE public keys are meant to be shared). For such a key
// with a block under it (a list or a mapping), everything in the block is a
// secret. Keys are found as YAML block entries, in flow mappings
// ({password: x}), as query parameters (?password=x) and in comments.
//
// The values hidden are also returned, so that the same strings can be
// scrubbed from every other file of the bundle (a log line that quotes the
// config, for example).
// Pure functions, any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace vcgate::ctl {

bool isSecretKey(std::string_view key);

struct Redacted {
  std::string text;
  std::vector<std::string> secrets;  // the values that were replaced, unquoted, each once
};

Redacted redactConfig(std::string_view yaml);

// Replaces every occurrence of each secret (3 characters or more: shorter
// ones would shred ordinary words) and every URI password by "***".
std::string scrubSecrets(std::string_view text, const std::vector<std::string>& secrets);

}  // namespace vcgate::ctl
