// Per-shard statistics of a vocab-parallel objective and its in-place backward, on raw float rows.
// Framework-free (no LibTorch); the CPU functions here are the reference every device kernel is tested against.
#pragma once

#include <cstdint>

namespace megasft::kernels {

// One rank's slice of the logits: `tokens` rows of `row_stride` floats, of which the first
// `valid_cols` are real vocabulary columns; the rest are TP padding and never enter a max, sum or top-k.
struct ShardView {
  int64_t tokens = 0;
  int64_t row_stride = 0;
  int64_t valid_cols = 0;
};

// Round 1: per token, the shard's `k` largest logits in descending order (-inf where the shard has
// fewer than k valid columns) and the target's logit (-inf when local_target[t] < 0, i.e. elsewhere).
void shard_topk_and_target_cpu(const float* logits, ShardView shard, const int64_t* local_target,
                               int k, float* topk_out /*[T,k]*/, float* target_logit_out /*[T]*/);

// Round 2: per token, sum over the shard's valid columns of exp(z - global_max[t]), accumulated in double.
void shard_sum_exp_cpu(const float* logits, ShardView shard, const float* global_max,
                       double* sum_out /*[T]*/);

// Backward, in place: row t becomes scale[t] * (exp(z - lse[t]) - [j == local_target[t]]);
// padding columns become 0. One buffer serves as logits, then softmax, then gradient.
void shard_softmax_grad_inplace_cpu(float* logits_to_grad, ShardView shard, const float* lse,
                                    const float* scale, const int64_t* local_target);

// GEM's weighting of a column: w_j = 1 (linear) or sigmoid(0.01 * (z_j - z_y)) (logsigmoid).
enum class GemWeight : int { kLinear = 0, kLogSigmoid = 1 };

// GEM's per-shard sums with e_j = exp((z_j - global_max[t]) / beta), accumulated in double:
// out[t] = {Q = sum e_j, A = sum e_j w_j (z_j - z_y), B = sum e_j w_j}. Rows with no target
// (target_logit = -inf) get zeros.
void shard_gem_sums_cpu(const float* logits, ShardView shard, const float* global_max,
                        const float* target_logit, float beta, GemWeight weight,
                        double* sums_out /*[T,3]*/);

// GEM backward, in place: row t becomes scale[t] * e_j w_j - [j == local_target[t]] * target_coef[t]
// (scale = g/Q, target_coef = g*B/Q); padding columns become 0.
void shard_gem_grad_inplace_cpu(float* logits_to_grad, ShardView shard, const float* global_max,
                                const float* target_logit, float beta, GemWeight weight,
                                const float* scale, const float* target_coef,
                                const int64_t* local_target);

}  // namespace megasft::kernels
