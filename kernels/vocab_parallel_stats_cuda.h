// CUDA versions of kernels/vocab_parallel_stats.h: the same five per-shard statistics with the same
// semantics, on device pointers and a stream, returning the launch error (cudaGetLastError).
// Framework-free (no LibTorch); each function's CPU reference is its *_cpu namesake.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/vocab_parallel_stats.h"

namespace megasft::kernels {

// The largest k shard_topk_and_target_cuda accepts (its per-thread lists live in registers).
inline constexpr int kMaxShardTopK = 64;

// Every function below:
// - is instantiated for T = float and T = __nv_bfloat16 (bf16 logits are read and widened; all
//   math is fp32, sums are accumulated in double);
// - takes device pointers laid out as the CPU reference's ([tokens, row_stride] logits, per-token
//   arrays of length tokens) and enqueues one kernel on `stream`, without synchronising;
// - returns cudaErrorInvalidValue (and launches nothing) for a bad ShardView (negative sizes,
//   valid_cols > row_stride, row_stride above 2^30, tokens above INT32_MAX) or a bad k, cudaSuccess
//   without a launch when shard.tokens == 0, and otherwise the launch's cudaGetLastError().
// Padding columns (>= valid_cols) are never read by the statistics and get gradient 0.

// Round 1: per token, the shard's k largest logits in descending order (-inf where the shard has
// fewer than k valid columns) and the target's logit (-inf when local_target[t] is outside
// [0, valid_cols)). 1 <= k <= kMaxShardTopK. Bit-exact with the CPU reference.
template <typename T>
cudaError_t shard_topk_and_target_cuda(const T* logits, ShardView shard,
                                       const int64_t* local_target, int k,
                                       float* topk_out /*[T,k]*/, float* target_logit_out /*[T]*/,
                                       cudaStream_t stream);

// Round 2: per token, sum over the valid columns of expf(z - global_max[t]), accumulated in double.
template <typename T>
cudaError_t shard_sum_exp_cuda(const T* logits, ShardView shard, const float* global_max,
                               double* sum_out /*[T]*/, cudaStream_t stream);

// Backward: grad_out row t = scale[t] * (exp(z - lse[t]) - [j == local_target[t]]), padding 0,
// the whole row 0 when scale[t] == 0. grad_out is fp32 with the logits' row_stride.
// bf16 logits: the gradient goes to a separate fp32 buffer (the objective's statistics are fp32;
// the caller casts if it wants bf16). fp32 logits: grad_out may equal logits (in place, as the
// CPU reference); otherwise the two must not overlap.
template <typename T>
cudaError_t shard_softmax_grad_cuda(const T* logits, ShardView shard, const float* lse,
                                    const float* scale, const int64_t* local_target,
                                    float* grad_out /*[T,row_stride]*/, cudaStream_t stream);

// The CPU reference's in-place form: logits_to_grad becomes the gradient.
cudaError_t shard_softmax_grad_inplace_cuda(float* logits_to_grad, ShardView shard,
                                            const float* lse, const float* scale,
                                            const int64_t* local_target, cudaStream_t stream);

// GEM's per-shard sums, e_j = exp((z_j - global_max[t]) / beta), w_j per `weight`:
// sums_out[t] = {Q = sum e_j, A = sum e_j w_j (z_j - z_y), B = sum e_j w_j}, accumulated in double;
// zeros for rows whose target_logit is not finite.
template <typename T>
cudaError_t shard_gem_sums_cuda(const T* logits, ShardView shard, const float* global_max,
                                const float* target_logit, float beta, GemWeight weight,
                                double* sums_out /*[T,3]*/, cudaStream_t stream);

// GEM backward: grad_out row t = scale[t] * e_j w_j - [j == local_target[t]] * target_coef[t],
// padding 0, the whole row 0 when scale[t] == 0. Output and aliasing as shard_softmax_grad_cuda.
template <typename T>
cudaError_t shard_gem_grad_cuda(const T* logits, ShardView shard, const float* global_max,
                                const float* target_logit, float beta, GemWeight weight,
                                const float* scale, const float* target_coef,
                                const int64_t* local_target, float* grad_out /*[T,row_stride]*/,
                                cudaStream_t stream);

// The CPU reference's in-place form: logits_to_grad becomes the gradient.
cudaError_t shard_gem_grad_inplace_cuda(float* logits_to_grad, ShardView shard,
                                        const float* global_max, const float* target_logit,
                                        float beta, GemWeight weight, const float* scale,
                                        const float* target_coef, const int64_t* local_target,
                                        cudaStream_t stream);

}  // namespace megasft::kernels
