// SHA-256, for the checksums of evidence files that the platform and
// vcgatectl verify after a chunked fetch (the same digest `sha256sum`
// prints). OpenSSL's libcrypto computes it: it uses the CPU's SHA
// instructions (x86 SHA-NI, the ARMv8 crypto extensions), 6x faster than
// libsodium's portable code on the build machine, and a clip is hashed in
// full when it closes. This wrapper keeps its header out of the callers. An
// instance is used by one thread at a time; the free functions by any.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "gateway/core/result.h"

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX

namespace vcgate::core {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  void update(std::span<const uint8_t> data);
  // The digest as 64 lower-case hex digits. The instance is spent afterwards.
  std::string finishHex();

 private:
  struct Free {
    void operator()(evp_md_ctx_st* context) const;
  };
  std::unique_ptr<evp_md_ctx_st, Free> context_;
};

std::string sha256Hex(std::span<const uint8_t> data);
// Of a whole file, read in 1 MiB pieces; an error names the file and why.
Result<std::string> sha256File(const std::string& path);

}  // namespace vcgate::core
