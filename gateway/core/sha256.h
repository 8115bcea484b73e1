// SHA-256 (FIPS 180-4), for the checksums of evidence files that the platform
// and vcgatectl verify after a chunked fetch (the same digest `sha256sum`
// prints). Small and dependency-free so that every module and tool can use it.
// An instance is used by one thread at a time; the free functions by any.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "gateway/core/result.h"

namespace vcgate::core {

class Sha256 {
 public:
  Sha256();
  void update(std::span<const uint8_t> data);
  // The digest as 64 lower-case hex digits. The instance is spent afterwards.
  std::string finishHex();

 private:
  void block(const uint8_t* p);
  std::array<uint32_t, 8> h_;
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t length_ = 0;
};

std::string sha256Hex(std::span<const uint8_t> data);
// Of a whole file, read in 1 MiB pieces; an error names the file and why.
Result<std::string> sha256File(const std::string& path);

}  // namespace vcgate::core
