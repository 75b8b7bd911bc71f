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

}  // namespace megasft::kernels
