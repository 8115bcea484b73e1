// LatencyHistogram: percentiles of microsecond latencies in bounded memory,
// however long the subscriber runs. Values below 128 µs are exact; above,
// buckets are 1/64 of a power of two wide (about 1.6 % error), and the
// maximum is exact. One thread uses an instance.
#pragma once

#include <cstdint>
#include <vector>

namespace vcgate::sub {

class LatencyHistogram {
 public:
  LatencyHistogram();
  // Negative values (a clock behind the gateway's) count as 0 but are kept in min().
  void add(int64_t micros);
  uint64_t count() const { return count_; }
  int64_t min() const { return count_ ? min_ : 0; }
  int64_t max() const { return count_ ? max_ : 0; }
  // The value at or below which a fraction `p` (0..1] of the samples lie; 0 when empty.
  int64_t percentile(double p) const;

 private:
  std::vector<uint64_t> buckets_;
  uint64_t count_ = 0;
  int64_t min_ = 0;
  int64_t max_ = 0;
};

}  // namespace vcgate::sub
