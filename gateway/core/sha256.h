// SHA-256, for the checksums of evidence files that the platform and
// vcgatectl verify after a chunked fetch (the same digest `sha256sum`
// prints). libsodium computes it; this wrapper keeps its header out of the
// callers. An instance is used by one thread at a time; the free
// functions by any.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "gateway/core/result.h"

struct crypto_hash_sha256_state;  // libsodium's

namespace vcgate::core {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  void update(std::span<const uint8_t> data);
  // The digest as 64 lower-case hex digits. The instance is spent afterwards.
  std::string finishHex();

 private:
  std::unique_ptr<crypto_hash_sha256_state> state_;
};

std::string sha256Hex(std::span<const uint8_t> data);
// Of a whole file, read in 1 MiB pieces; an error names the file and why.
Result<std::string> sha256File(const std::string& path);

}  // namespace vcgate::core
