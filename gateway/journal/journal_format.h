// The journal's bytes on disk: segment headers and records. Pure functions
// over buffers, any thread; Journal uses them, and so can a fuzzer or an
// inspection tool. docs/evidence-and-journal.md describes the same layout
// byte by byte and must say the same. All integers are little-endian.
//
// Segment file journal-NNNNNN.log:
//   segment header (40 bytes) then records back to back.
//   0   8  magic 89 'V' 'C' 'J' 'N' 'L' 0D 0A
//   8   4  format version (1)
//   12  4  header size (40)
//   16  8  segment number (the NNNNNN of the file name)
//   24  8  first_seq: the sequence number the next event had when the segment was created
//   32  4  CRC-32C of bytes 0..31
//   36  4  reserved, 0
//
// Record:
//   0   4  magic FF 'J' 'R' A5 (never valid UTF-8, so no JSON payload contains it)
//   4   4  CRC-32C of bytes 8 .. end of payload (length, type, flags, seq, time and payload)
//   8   4  payload length in bytes (at most kMaxPayloadBytes)
//   12  1  type: 1 event, 2 ack, 3 expire
//   13  1  flags: for expire the reason (1 age, 2 backlog), else 0
//   14  2  reserved, 0
//   16  8  seq: event: its sequence number; ack/expire: the newest event seq when written
//   24  8  time: wall clock when written, µs since the Unix epoch (signed)
//   32  n  payload: event: the event JSON; ack/expire: n/8 event seqs (u64 each)
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace vcgate::journal {

inline constexpr std::array<uint8_t, 8> kSegmentMagic = {0x89, 'V', 'C', 'J', 'N', 'L', 0x0d, 0x0a};
inline constexpr std::array<uint8_t, 4> kRecordMagic = {0xff, 'J', 'R', 0xa5};
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr size_t kSegmentHeaderSize = 40;
inline constexpr size_t kRecordHeaderSize = 32;
// Bounds a length field damaged on disk, so that recovery never tries to read
// gigabytes; an alarm event's JSON is well under a kilobyte.
inline constexpr uint32_t kMaxPayloadBytes = 1 << 20;
// Acks and expiries of many events are split into records of at most this many seqs.
inline constexpr size_t kMaxSeqsPerRecord = kMaxPayloadBytes / 8;

enum class RecordType : uint8_t { kEvent = 1, kAck = 2, kExpire = 3 };
enum class ExpireReason : uint8_t { kAge = 1, kBacklog = 2 };

struct SegmentHeader {
  uint64_t number = 0;
  uint64_t first_seq = 0;
};

std::array<uint8_t, kSegmentHeaderSize> encodeSegmentHeader(const SegmentHeader& header);
// nullopt and `why` filled when the bytes are not a valid header.
std::optional<SegmentHeader> parseSegmentHeader(std::span<const uint8_t> bytes, std::string* why);

struct Record {
  RecordType type = RecordType::kEvent;
  uint8_t flags = 0;
  uint64_t seq = 0;
  int64_t time_us = 0;
  std::span<const uint8_t> payload;  // points into the parsed buffer
  size_t size = 0;                   // header + payload: where the next record starts
};

// Appends one encoded record to `out`.
void encodeRecord(RecordType type, uint8_t flags, uint64_t seq, int64_t time_us, std::span<const uint8_t> payload,
                  std::string& out);

// Parses the record at the start of `bytes`. nullopt when there is no valid
// record there; `why` says what is wrong ("bad magic", "checksum mismatch",
// "cut short: 12 of 250 bytes"...).
std::optional<Record> parseRecord(std::span<const uint8_t> bytes, std::string* why);

// Ack and expire payloads: a list of u64 seqs.
std::string encodeSeqList(std::span<const uint64_t> seqs);
// nullopt when the payload length is not a multiple of 8.
std::optional<std::vector<uint64_t>> parseSeqList(std::span<const uint8_t> payload);

}  // namespace vcgate::journal
