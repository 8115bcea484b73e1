#include "tools/sub/latency.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace vcgate::sub {
namespace {

constexpr int kSubBits = 6;                        // 64 buckets per power of two
constexpr uint64_t kExact = 2u << kSubBits;        // below this, one bucket per µs
constexpr int kFirstExponent = kSubBits + 1;       // the exponent of kExact
constexpr size_t kBucketCount = kExact + (64 - kFirstExponent) * (1u << kSubBits);

size_t bucketOf(uint64_t v) {
  if (v < kExact) return static_cast<size_t>(v);
  const int exponent = 63 - std::countl_zero(v);
  const uint64_t sub = (v >> (exponent - kSubBits)) & ((1u << kSubBits) - 1);
  return kExact + static_cast<size_t>(exponent - kFirstExponent) * (1u << kSubBits) + static_cast<size_t>(sub);
}

// The largest value that falls into bucket `index`.
uint64_t upperBound(size_t index) {
  if (index < kExact) return index;
  const size_t rel = index - kExact;
  const int exponent = static_cast<int>(rel >> kSubBits) + kFirstExponent;
  const uint64_t sub = rel & ((1u << kSubBits) - 1);
  const int shift = exponent - kSubBits;
  return (((uint64_t{1} << kSubBits) | sub) << shift) + ((uint64_t{1} << shift) - 1);
}

}  // namespace

LatencyHistogram::LatencyHistogram() : buckets_(kBucketCount, 0) {}

void LatencyHistogram::add(int64_t micros) {
  if (count_ == 0) min_ = max_ = micros;
  min_ = std::min(min_, micros);
  max_ = std::max(max_, micros);
  ++count_;
  ++buckets_[bucketOf(micros < 0 ? 0 : static_cast<uint64_t>(micros))];
}

int64_t LatencyHistogram::percentile(double p) const {
  if (count_ == 0) return 0;
  const auto rank = static_cast<uint64_t>(std::ceil(std::clamp(p, 0.0, 1.0) * static_cast<double>(count_)));
  uint64_t seen = 0;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    if (seen >= std::max<uint64_t>(rank, 1)) return std::min<int64_t>(static_cast<int64_t>(upperBound(i)), max_);
  }
  return max_;
}

}  // namespace vcgate::sub
