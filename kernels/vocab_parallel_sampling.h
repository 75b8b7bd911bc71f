// Per-shard pieces of sampling a token from vocab-parallel logits without gathering them: Gumbel-max
// with counter-based noise, and each shard's top candidates. Framework-free; the CPU reference here.
#pragma once

#include <cmath>
#include <cstdint>

#include "kernels/vocab_parallel_stats.h"

namespace megasft::kernels {

// SplitMix64's finaliser: a bijection of 64-bit words whose outputs pass BigCrush as a counter RNG.
#if defined(__CUDACC__)
__host__ __device__
#endif
inline uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// Gumbel(0, 1) noise as a pure function of (row seed, global vocabulary id): any rank, any TP size and
// any device draws the same number for a column, so argmax_j(z_j / T + g_j) over the union of shards
// is an exact sample of softmax(z / T), and one over a subset samples the renormalised subset.
#if defined(__CUDACC__)
__host__ __device__
#endif
inline double gumbel_noise(uint64_t row_seed, int64_t column) {
  const uint64_t bits = mix64(row_seed ^ mix64(static_cast<uint64_t>(column)));
  const double u = (static_cast<double>(bits >> 11) + 0.5) * 0x1.0p-53;  // in (0, 1), never 0 or 1
  return -std::log(-std::log(u));
}

// Per row t: the best of z_j * inv_temperature + gumbel_noise(row_seeds[t], vocab_start + j) over the
// valid columns (ties to the lower column), as score and local column; out_logit gets z of that column.
void shard_gumbel_argmax_cpu(const float* logits, ShardView shard, int64_t vocab_start, double inv_temperature,
                             const uint64_t* row_seeds, double* out_score /*[T]*/, int64_t* out_column /*[T]*/,
                             float* out_logit /*[T]*/);

// Per row t: the shard's m largest valid logits in descending order (ties to the lower column) with
// their local columns; -inf and -1 where the shard has fewer than m valid columns.
void shard_top_candidates_cpu(const float* logits, ShardView shard, int m, float* out_values /*[T,m]*/,
                              int64_t* out_columns /*[T,m]*/);

}  // namespace megasft::kernels
