#include "gateway/journal/journal_format.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "gateway/journal/crc32c.h"

namespace vcgate::journal {
namespace {

void put32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
void put64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint32_t get32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = v << 8 | p[i];
  return v;
}
uint64_t get64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

void setWhy(std::string* why, std::string text) {
  if (why) *why = std::move(text);
}

}  // namespace

std::array<uint8_t, kSegmentHeaderSize> encodeSegmentHeader(const SegmentHeader& header) {
  std::array<uint8_t, kSegmentHeaderSize> b{};
  std::memcpy(b.data(), kSegmentMagic.data(), kSegmentMagic.size());
  put32(&b[8], kFormatVersion);
  put32(&b[12], static_cast<uint32_t>(kSegmentHeaderSize));
  put64(&b[16], header.number);
  put64(&b[24], header.first_seq);
  put32(&b[32], crc32c({b.data(), 32}));
  return b;
}

std::optional<SegmentHeader> parseSegmentHeader(std::span<const uint8_t> bytes, std::string* why) {
  if (bytes.size() < kSegmentHeaderSize) {
    setWhy(why, fmt::format("segment header cut short: {} of {} bytes", bytes.size(), kSegmentHeaderSize));
    return std::nullopt;
  }
  if (!std::equal(kSegmentMagic.begin(), kSegmentMagic.end(), bytes.begin())) {
    setWhy(why, "not a journal segment (bad magic)");
    return std::nullopt;
  }
  if (get32(&bytes[32]) != crc32c(bytes.first(32))) {
    setWhy(why, "segment header checksum mismatch");
    return std::nullopt;
  }
  if (const uint32_t version = get32(&bytes[8]); version != kFormatVersion) {
    setWhy(why, fmt::format("segment format version {} is not supported (this build reads version {})", version,
                            kFormatVersion));
    return std::nullopt;
  }
  if (get32(&bytes[12]) != kSegmentHeaderSize) {
    setWhy(why, "segment header size field is wrong");
    return std::nullopt;
  }
  return SegmentHeader{get64(&bytes[16]), get64(&bytes[24])};
}

void encodeRecord(RecordType type, uint8_t flags, uint64_t seq, int64_t time_us, std::span<const uint8_t> payload,
                  std::string& out) {
  const size_t start = out.size();
  out.resize(start + kRecordHeaderSize + payload.size());
  auto* b = reinterpret_cast<uint8_t*>(out.data() + start);
  std::memcpy(b, kRecordMagic.data(), kRecordMagic.size());
  put32(&b[8], static_cast<uint32_t>(payload.size()));
  b[12] = static_cast<uint8_t>(type);
  b[13] = flags;
  b[14] = b[15] = 0;
  put64(&b[16], seq);
  put64(&b[24], static_cast<uint64_t>(time_us));
  if (!payload.empty()) std::memcpy(&b[kRecordHeaderSize], payload.data(), payload.size());
  put32(&b[4], crc32c({b + 8, kRecordHeaderSize - 8 + payload.size()}));
}

std::optional<Record> parseRecord(std::span<const uint8_t> bytes, std::string* why) {
  const size_t have = bytes.size();
  const size_t magic_have = std::min(have, kRecordMagic.size());
  if (!std::equal(kRecordMagic.begin(), kRecordMagic.begin() + static_cast<ptrdiff_t>(magic_have), bytes.begin())) {
    setWhy(why, "no record starts here (bad magic)");
    return std::nullopt;
  }
  if (have < kRecordHeaderSize) {
    setWhy(why, fmt::format("record header cut short: {} of {} bytes", have, kRecordHeaderSize));
    return std::nullopt;
  }
  const uint32_t length = get32(&bytes[8]);
  if (length > kMaxPayloadBytes) {
    setWhy(why, fmt::format("record length {} is beyond the limit of {} bytes", length, kMaxPayloadBytes));
    return std::nullopt;
  }
  const size_t size = kRecordHeaderSize + length;
  if (have < size) {
    setWhy(why, fmt::format("record cut short: {} of {} bytes", have, size));
    return std::nullopt;
  }
  if (get32(&bytes[4]) != crc32c(bytes.subspan(8, size - 8))) {
    setWhy(why, "record checksum mismatch");
    return std::nullopt;
  }
  const uint8_t type = bytes[12];
  if (type < 1 || type > 3) {
    setWhy(why, fmt::format("unknown record type {}", type));
    return std::nullopt;
  }
  Record r;
  r.type = static_cast<RecordType>(type);
  r.flags = bytes[13];
  r.seq = get64(&bytes[16]);
  r.time_us = static_cast<int64_t>(get64(&bytes[24]));
  r.payload = bytes.subspan(kRecordHeaderSize, length);
  r.size = size;
  return r;
}

std::string encodeSeqList(std::span<const uint64_t> seqs) {
  std::string out(seqs.size() * 8, '\0');
  for (size_t i = 0; i < seqs.size(); ++i) put64(reinterpret_cast<uint8_t*>(&out[i * 8]), seqs[i]);
  return out;
}

std::optional<std::vector<uint64_t>> parseSeqList(std::span<const uint8_t> payload) {
  if (payload.size() % 8 != 0) return std::nullopt;
  std::vector<uint64_t> seqs(payload.size() / 8);
  for (size_t i = 0; i < seqs.size(); ++i) seqs[i] = get64(&payload[i * 8]);
  return seqs;
}

}  // namespace vcgate::journal
