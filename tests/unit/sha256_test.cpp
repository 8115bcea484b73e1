#include "gateway/core/sha256.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "tests/support/temp_dir.h"

namespace vcgate::core {
namespace {

std::span<const uint8_t> bytes(const std::string& s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

// FIPS 180-4 examples (and sha256sum of the same bytes).
TEST(Sha256, KnownDigests) {
  EXPECT_EQ(sha256Hex(bytes("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256Hex(bytes("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256Hex(bytes("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256Hex(bytes(std::string(1'000'000, 'a'))),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, PiecesOfAnySizeGiveTheSameDigest) {
  std::string data;
  for (int i = 0; i < 5000; ++i) data += static_cast<char>(i * 7 + 3);
  const std::string whole = sha256Hex(bytes(data));
  for (size_t piece : {1u, 3u, 63u, 64u, 65u, 1000u}) {
    Sha256 sha;
    for (size_t at = 0; at < data.size(); at += piece)
      sha.update(bytes(data.substr(at, std::min(piece, data.size() - at))));
    EXPECT_EQ(sha.finishHex(), whole) << "piece " << piece;
  }
}

TEST(Sha256, OfAFileAndAClearErrorForAMissingOne) {
  testing::TempDir dir;
  const auto path = dir.write("f.bin", "abc");
  auto digest = sha256File(path);
  ASSERT_TRUE(digest) << digest.error().message;
  EXPECT_EQ(*digest, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  auto missing = sha256File(path + ".nope");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("f.bin.nope"), std::string::npos) << missing.error().message;
}

}  // namespace
}  // namespace vcgate::core
