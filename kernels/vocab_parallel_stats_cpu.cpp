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

namespace {

// GEM's w_j; 0.01 is the official code's slope inside the sigmoid.
inline float gem_weight(GemWeight weight, float z, float z_target) {
  if (weight == GemWeight::kLinear) return 1.0f;
  return 1.0f / (1.0f + std::exp(-0.01f * (z - z_target)));
}

}  // namespace

void shard_gem_sums_cpu(const float* logits, ShardView shard, const float* global_max,
                        const float* target_logit, float beta, GemWeight weight, double* sums_out) {
  const float inv_beta = 1.0f / beta;
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < shard.tokens; ++t) {
    const float* row = logits + t * shard.row_stride;
    const float m = global_max[t], zy = target_logit[t];
    double q = 0.0, a = 0.0, b = 0.0;
    if (std::isfinite(zy)) {
      for (int64_t j = 0; j < shard.valid_cols; ++j) {
        const double e = std::exp(static_cast<double>((row[j] - m) * inv_beta));
        const double ew = e * gem_weight(weight, row[j], zy);
        q += e;
        a += ew * static_cast<double>(row[j] - zy);
        b += ew;
      }
    }
    sums_out[3 * t] = q;
    sums_out[3 * t + 1] = a;
    sums_out[3 * t + 2] = b;
  }
}

void shard_gem_grad_inplace_cpu(float* logits_to_grad, ShardView shard, const float* global_max,
                                const float* target_logit, float beta, GemWeight weight,
                                const float* scale, const float* target_coef,
                                const int64_t* local_target) {
  const float inv_beta = 1.0f / beta;
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < shard.tokens; ++t) {
    float* row = logits_to_grad + t * shard.row_stride;
    const float s = scale[t];
    if (s == 0.0f) {
      for (int64_t j = 0; j < shard.row_stride; ++j) row[j] = 0.0f;
      continue;
    }
    const float m = global_max[t], zy = target_logit[t];
    for (int64_t j = 0; j < shard.valid_cols; ++j)
      row[j] = s * std::exp((row[j] - m) * inv_beta) * gem_weight(weight, row[j], zy);
    for (int64_t j = shard.valid_cols; j < shard.row_stride; ++j) row[j] = 0.0f;
    const int64_t y = local_target[t];
    if (y >= 0 && y < shard.valid_cols) row[y] -= target_coef[t];
  }
}

}  // namespace megasft::kernels
