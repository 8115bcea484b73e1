#include "gateway/core/sha256.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>
#include <sodium.h>

namespace vcgate::core {

Sha256::Sha256() : state_(std::make_unique<crypto_hash_sha256_state>()) { crypto_hash_sha256_init(state_.get()); }

Sha256::~Sha256() = default;

void Sha256::update(std::span<const uint8_t> data) { crypto_hash_sha256_update(state_.get(), data.data(), data.size()); }

std::string Sha256::finishHex() {
  std::array<uint8_t, crypto_hash_sha256_BYTES> digest{};
  crypto_hash_sha256_final(state_.get(), digest.data());
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
