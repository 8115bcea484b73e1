#include "gateway/core/sha256.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>
#include <vector>

#include <fmt/format.h>
#include <openssl/evp.h>

namespace vcgate::core {

void Sha256::Free::operator()(evp_md_ctx_st* context) const { EVP_MD_CTX_free(context); }

// EVP calls fail only when memory runs out: like operator new, that ends the process.
Sha256::Sha256() : context_(EVP_MD_CTX_new()) {
  if (!context_ || EVP_DigestInit_ex(context_.get(), EVP_sha256(), nullptr) != 1) throw std::bad_alloc();
}

Sha256::~Sha256() = default;

void Sha256::update(std::span<const uint8_t> data) {
  if (EVP_DigestUpdate(context_.get(), data.data(), data.size()) != 1) throw std::bad_alloc();
}

std::string Sha256::finishHex() {
  std::array<uint8_t, 32> digest{};
  unsigned int size = 0;
  if (EVP_DigestFinal_ex(context_.get(), digest.data(), &size) != 1 || size != digest.size()) throw std::bad_alloc();
  std::string out;
  out.reserve(2 * digest.size());
  for (uint8_t byte : digest) out += fmt::format("{:02x}", byte);
  return out;
}

std::string sha256Hex(std::span<const uint8_t> data) {
  Sha256 sha;
  sha.update(data);
  return sha.finishHex();
}

Result<std::string> sha256File(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return makeError(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  Sha256 sha;
  std::vector<uint8_t> buffer(1 << 20);
  while (true) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return makeError(fmt::format("cannot read {}: {}", path, std::strerror(err)));
    }
    if (n == 0) break;
    sha.update({buffer.data(), static_cast<size_t>(n)});
  }
  ::close(fd);
  return sha.finishHex();
}

}  // namespace vcgate::core
