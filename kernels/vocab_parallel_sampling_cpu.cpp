// CPU reference of the per-shard sampling pieces: OpenMP over rows, one pass per row.
#include "kernels/vocab_parallel_sampling.h"

#include <limits>

namespace megasft::kernels {

void shard_gumbel_argmax_cpu(const float* logits, ShardView shard, int64_t vocab_start, double inv_temperature,
                             const uint64_t* row_seeds, double* out_score, int64_t* out_column, float* out_logit) {
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < shard.tokens; ++t) {
    const float* row = logits + t * shard.row_stride;
    double best = -std::numeric_limits<double>::infinity();
    int64_t best_column = -1;
    for (int64_t j = 0; j < shard.valid_cols; ++j) {
      const double score = static_cast<double>(row[j]) * inv_temperature + gumbel_noise(row_seeds[t], vocab_start + j);
      if (score > best) {
        best = score;
        best_column = j;
      }
    }
    out_score[t] = best;
    out_column[t] = best_column;
    out_logit[t] = best_column >= 0 ? row[best_column] : -std::numeric_limits<float>::infinity();
  }
}

void shard_top_candidates_cpu(const float* logits, ShardView shard, int m, float* out_values, int64_t* out_columns) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < shard.tokens; ++t) {
    const float* row = logits + t * shard.row_stride;
    float* values = out_values + t * m;
    int64_t* columns = out_columns + t * m;
    for (int i = 0; i < m; ++i) {
      values[i] = kNegInf;
      columns[i] = -1;
    }
    int filled = 0;
    // Insertion into a sorted list of m: a strictly larger value moves ahead, so equal values keep
    // column order (the lower column first).
    for (int64_t j = 0; j < shard.valid_cols; ++j) {
      const float z = row[j];
      if (filled == m && !(z > values[m - 1])) continue;
      int i = filled < m ? filled++ : m - 1;
      while (i > 0 && values[i - 1] < z) {
        values[i] = values[i - 1];
        columns[i] = columns[i - 1];
        --i;
      }
      values[i] = z;
      columns[i] = j;
    }
  }
}

}  // namespace megasft::kernels
