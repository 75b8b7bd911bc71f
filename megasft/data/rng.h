// Deterministic random numbers for demo data and batch sampling: the same seed gives the same
// stream on every platform and compiler (std:: distributions are implementation-defined).
#pragma once

#include <cstdint>

#include "kernels/check.h"

namespace megasft::data {

// The splitmix64 finalizer: a bijective 64-bit mix, also used to derive independent seeds.
constexpr uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// A seed for sub-stream `stream` of `seed`; distinct streams do not overlap in practice.
constexpr uint64_t derive_seed(uint64_t seed, uint64_t stream) {
  return mix64(mix64(seed) ^ mix64(stream + 0x632be59bd9b4e019ULL));
}

// splitmix64: tiny state, passes BigCrush, and trivially reproducible from its definition.
class SplitMix64 {
 public:
  explicit constexpr SplitMix64(uint64_t seed) : state_(seed) {}

  constexpr uint64_t next() {
    state_ += 0x9e3779b97f4a7c15ULL;
    return mix64(state_);
  }

  // Uniform in [0, bound). Rejection removes modulo bias while staying fully specified here.
  uint64_t below(uint64_t bound) {
    MEGASFT_CHECK(bound > 0, "SplitMix64::below needs a positive bound, got ", bound);
    const uint64_t threshold = (0 - bound) % bound;  // 2^64 mod bound
    while (true) {
      const uint64_t r = next();
      if (r >= threshold) return r % bound;
    }
  }

  // Uniform in [lo, hi], both inclusive.
  int64_t uniform(int64_t lo, int64_t hi) {
    MEGASFT_CHECK(lo <= hi, "SplitMix64::uniform needs lo <= hi, got [", lo, ", ", hi, "]");
    const uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo) + 1;
    if (span == 0) return static_cast<int64_t>(next());  // the full 64-bit range
    return static_cast<int64_t>(static_cast<uint64_t>(lo) + below(span));
  }

 private:
  uint64_t state_;
};

}  // namespace megasft::data
