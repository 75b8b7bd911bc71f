// CPU reference of the vocab-parallel statistics: parallel over tokens with OpenMP, each row a
// straight loop the compiler vectorises. The top-k is a small insertion list, k is tiny (2 by default).
#include "kernels/vocab_parallel_stats.h"

#include <cmath>
#include <limits>

namespace megasft::kernels {

void shard_topk_and_target_cpu(const float* logits, ShardView shard, const int64_t* local_target,
                               int k, float* topk_out, float* target_logit_out) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < shard.tokens; ++t) {
    const float* row = logits + t * shard.row_stride;
    float* best = topk_out + t * k;
    for (int i = 0; i < k; ++i) best[i] = kNegInf;
    for (int64_t j = 0; j < shard.valid_cols; ++j) {
      const float z = row[j];
      if (!(z > best[k - 1])) continue;
      int i = k - 1;
      while (i > 0 && best[i - 1] < z) {
        best[i] = best[i - 1];
        --i;
      }
      best[i] = z;
    }
    const int64_t y = local_target[t];
    target_logit_out[t] = (y >= 0 && y < shard.valid_cols) ? row[y] : kNegInf;
  }
}

void shard_sum_exp_cpu(const float* logits, ShardView shard, const float* global_max, double* sum_out) {
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < shard.tokens; ++t) {
    const float* row = logits + t * shard.row_stride;
    const float m = global_max[t];
    double sum = 0.0;
    for (int64_t j = 0; j < shard.valid_cols; ++j) sum += std::exp(static_cast<double>(row[j] - m));
    sum_out[t] = sum;
  }
}

void shard_softmax_grad_inplace_cpu(float* logits_to_grad, ShardView shard, const float* lse,
                                    const float* scale, const int64_t* local_target) {
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < shard.tokens; ++t) {
    float* row = logits_to_grad + t * shard.row_stride;
    const float s = scale[t];
    if (s == 0.0f) {  // ignored token: no gradient, and no need to evaluate exp
      for (int64_t j = 0; j < shard.row_stride; ++j) row[j] = 0.0f;
      continue;
    }
    const float l = lse[t];
    for (int64_t j = 0; j < shard.valid_cols; ++j) row[j] = s * std::exp(row[j] - l);  // softmax, scaled
    for (int64_t j = shard.valid_cols; j < shard.row_stride; ++j) row[j] = 0.0f;
    const int64_t y = local_target[t];
    if (y >= 0 && y < shard.valid_cols) row[y] -= s;
  }
}

}  // namespace megasft::kernels
