// CRC-32C (Castagnoli, the polynomial of iSCSI, ext4 metadata and LevelDB
// logs): the checksum of every journal record. Written here rather than taken
// from zlib because zlib only has the IEEE CRC-32, and CRC-32C detects more
// error patterns at the record lengths the journal uses. Pure functions, any
// thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace vcgate::journal {

// crc32c(bytes) of the whole input; `crc32cExtend(crc32c(a), b)` == crc32c(a + b).
uint32_t crc32c(std::span<const uint8_t> bytes);
uint32_t crc32cExtend(uint32_t crc, std::span<const uint8_t> bytes);

}  // namespace vcgate::journal
