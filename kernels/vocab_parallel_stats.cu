// CUDA kernels of the vocab-parallel statistics, one thread block per token row (rows are V/TP
// wide, up to 128k columns). Each thread streams a block-strided slice of its row (16-byte loads
// when the row is aligned) and keeps its partial result in registers: a sorted top-K list, or
// double sums of accurate expf terms. The block merges the partials with warp shuffles and a few
// words of shared memory, in a fixed order, so results are deterministic. Gradients are written
// by the thread that read the column, which is what makes the in-place form safe.
#include <climits>
#include <cstdint>
#include <type_traits>

#include "kernels/vocab_parallel_stats_cuda.h"

namespace megasft::kernels {
namespace {

constexpr int kBlock = 256;  // threads per row: 8 warps, ~60 columns per thread at 16k columns
constexpr int kWarpSize = 32;
constexpr int kWarps = kBlock / kWarpSize;
constexpr unsigned kFullMask = 0xffffffffu;
constexpr int kGradVec = 4;  // gradient kernels: 4 columns per step, one float4 store

// Columns per 16-byte load in the read-only kernels.
template <typename T>
constexpr int kReadVec = 16 / static_cast<int>(sizeof(T));

__device__ __forceinline__ float neg_inf() { return __int_as_float(0xff800000); }

__device__ __forceinline__ float to_float(float x) { return x; }
__device__ __forceinline__ float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }

// A 32-bit word holds two bf16 values, the lower address in the low half; widening is a shift.
__device__ __forceinline__ float bf16_lo(unsigned w) { return __uint_as_float(w << 16); }
__device__ __forceinline__ float bf16_hi(unsigned w) { return __uint_as_float(w & 0xffff0000u); }

// Vector loads of consecutive columns from an address aligned to the vector's size, as floats.
__device__ __forceinline__ void load_vec(const float* p, float (&v)[4]) {
  const float4 x = *reinterpret_cast<const float4*>(p);
  v[0] = x.x, v[1] = x.y, v[2] = x.z, v[3] = x.w;
}
__device__ __forceinline__ void load_vec(const __nv_bfloat16* p, float (&v)[8]) {
  const uint4 x = *reinterpret_cast<const uint4*>(p);
  v[0] = bf16_lo(x.x), v[1] = bf16_hi(x.x), v[2] = bf16_lo(x.y), v[3] = bf16_hi(x.y);
  v[4] = bf16_lo(x.z), v[5] = bf16_hi(x.z), v[6] = bf16_lo(x.w), v[7] = bf16_hi(x.w);
}
__device__ __forceinline__ void load_vec(const __nv_bfloat16* p, float (&v)[4]) {
  const uint2 x = *reinterpret_cast<const uint2*>(p);
  v[0] = bf16_lo(x.x), v[1] = bf16_hi(x.x), v[2] = bf16_lo(x.y), v[3] = bf16_hi(x.y);
}

// Calls f(j, z_j) for this thread's share of the valid columns [0, n). vec_ok (uniform per launch)
// says every row starts 16-byte aligned; the n % VEC tail then goes column by column.
template <typename T, typename F>
__device__ __forceinline__ void for_each_valid_col(const T* row, int n, bool vec_ok, F&& f) {
  constexpr int kVec = kReadVec<T>;
  int j0 = 0;
  if (vec_ok) {
    const int n_vec = n / kVec;
#pragma unroll 2
    for (int v = threadIdx.x; v < n_vec; v += kBlock) {
      float z[kVec];
      load_vec(row + v * kVec, z);
#pragma unroll
      for (int i = 0; i < kVec; ++i) f(v * kVec + i, z[i]);
    }
    j0 = n_vec * kVec;
  }
  for (int j = j0 + threadIdx.x; j < n; j += kBlock) f(j, to_float(row[j]));
}

// Writes g(j, z_j) to out[j] for this thread's valid columns and 0 to its padding columns. Each
// column is read and written by the same thread, read first, so out may equal row (fp32 only).
// vec_ok: rows of both buffers start aligned to kGradVec elements.
template <typename T, typename G>
__device__ __forceinline__ void write_grad_row(const T* row, float* out, int n_valid, int n_stride,
                                               bool vec_ok, G&& g) {
  int j0 = 0;
  if (vec_ok) {
    const int n_vec = n_valid / kGradVec;
#pragma unroll 2
    for (int v = threadIdx.x; v < n_vec; v += kBlock) {
      const int j = v * kGradVec;
      float z[kGradVec];
      load_vec(row + j, z);
      *reinterpret_cast<float4*>(out + j) =
          make_float4(g(j, z[0]), g(j + 1, z[1]), g(j + 2, z[2]), g(j + 3, z[3]));
    }
    j0 = n_vec * kGradVec;
  }
  for (int j = j0 + threadIdx.x; j < n_valid; j += kBlock) out[j] = g(j, to_float(row[j]));
  for (int j = n_valid + threadIdx.x; j < n_stride; j += kBlock) out[j] = 0.0f;
}

// An ignored token (scale 0): the whole row, padding included, is 0.
__device__ __forceinline__ void zero_row(float* out, int n, bool vec_ok) {
  int j0 = 0;
  if (vec_ok) {
    const int n_vec = n / kGradVec;
    for (int v = threadIdx.x; v < n_vec; v += kBlock)
      *reinterpret_cast<float4*>(out + v * kGradVec) = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    j0 = n_vec * kGradVec;
  }
  for (int j = j0 + threadIdx.x; j < n; j += kBlock) out[j] = 0.0f;
}

// ---- reductions ----

__device__ __forceinline__ double warp_sum(double x) {
#pragma unroll
  for (int offset = kWarpSize / 2; offset > 0; offset /= 2)
    x += __shfl_xor_sync(kFullMask, x, offset);
  return x;
}

// Sums N doubles over the block; the totals are valid in thread 0. Every thread must call it.
template <int N>
__device__ __forceinline__ void block_sum(double (&v)[N], double* smem /*[N * kWarps]*/) {
  const int warp = threadIdx.x / kWarpSize, lane = threadIdx.x % kWarpSize;
#pragma unroll
  for (int i = 0; i < N; ++i) {
    v[i] = warp_sum(v[i]);
    if (lane == 0) smem[i * kWarps + warp] = v[i];
  }
  __syncthreads();
  if (warp == 0) {
#pragma unroll
    for (int i = 0; i < N; ++i) v[i] = warp_sum(lane < kWarps ? smem[i * kWarps + lane] : 0.0);
  }
}

// Inserts z into a descending list of K; NaN and values not above the K-th never enter, as in the
// CPU reference. Unrolled compare-and-swap keeps the list in registers.
template <int K>
__device__ __forceinline__ void topk_insert(float (&best)[K], float z) {
  if (!(z > best[K - 1])) return;
#pragma unroll
  for (int i = 0; i < K; ++i) {
    if (z > best[i]) {
      const float displaced = best[i];
      best[i] = z;
      z = displaced;
    }
  }
}

// The warp's k largest of its lanes' descending lists, written by lane 0 to out[0..k): k rounds
// of a warp argmax over the list heads (ties to the lower lane), the winner popping its head.
// Every lane of the warp must call it; it consumes the lists.
template <int K>
__device__ __forceinline__ void warp_pop_topk(float (&list)[K], int k, float* out) {
  const int lane = threadIdx.x % kWarpSize;
  for (int r = 0; r < k; ++r) {
    float v = list[0];
    int src = lane;
#pragma unroll
    for (int offset = kWarpSize / 2; offset > 0; offset /= 2) {
      const float other_v = __shfl_xor_sync(kFullMask, v, offset);
      const int other_src = __shfl_xor_sync(kFullMask, src, offset);
      if (other_v > v || (other_v == v && other_src < src)) v = other_v, src = other_src;
    }
    if (lane == 0) out[r] = v;
    if (lane == src) {
#pragma unroll
      for (int i = 0; i + 1 < K; ++i) list[i] = list[i + 1];
      list[K - 1] = neg_inf();
    }
  }
}

// GEM's w_j, as gem_weight in the CPU reference (0.01: the official code's sigmoid slope).
__device__ __forceinline__ float gem_weight(GemWeight weight, float z, float z_target) {
  if (weight == GemWeight::kLinear) return 1.0f;
  return 1.0f / (1.0f + expf(-0.01f * (z - z_target)));
}

// ---- kernels: blockIdx.x is the token ----

template <typename T, int K>
__global__ void __launch_bounds__(kBlock)
    shard_topk_and_target_kernel(const T* __restrict__ logits, ShardView shard,
                                 const int64_t* __restrict__ local_target, int k, bool vec_ok,
                                 float* __restrict__ topk_out,
                                 float* __restrict__ target_logit_out) {
  const int64_t t = blockIdx.x;
  const T* row = logits + t * shard.row_stride;
  float best[K];
#pragma unroll
  for (int i = 0; i < K; ++i) best[i] = neg_inf();
  for_each_valid_col(row, static_cast<int>(shard.valid_cols), vec_ok,
                     [&](int, float z) { topk_insert(best, z); });

  // Each warp's top k, then warp 0 merges the kWarps lists. The block's top k lies within the
  // union of its warps' top k, as the global top-k lies within the shards' (objectives.md).
  __shared__ float warp_best[kWarps * K];
  const int warp = threadIdx.x / kWarpSize, lane = threadIdx.x % kWarpSize;
  warp_pop_topk(best, k, warp_best + warp * K);
  __syncthreads();
  if (warp == 0) {
#pragma unroll
    for (int i = 0; i < K; ++i)
      best[i] = (lane < kWarps && i < k) ? warp_best[lane * K + i] : neg_inf();
    warp_pop_topk(best, k, topk_out + t * k);
    if (lane == 0) {
      const int64_t y = local_target[t];
      target_logit_out[t] = (y >= 0 && y < shard.valid_cols) ? to_float(row[y]) : neg_inf();
    }
  }
}

template <typename T>
__global__ void __launch_bounds__(kBlock)
    shard_sum_exp_kernel(const T* __restrict__ logits, ShardView shard,
                         const float* __restrict__ global_max, bool vec_ok,
                         double* __restrict__ sum_out) {
  const int64_t t = blockIdx.x;
  const float m = global_max[t];
  double sum[1] = {0.0};
  for_each_valid_col(logits + t * shard.row_stride, static_cast<int>(shard.valid_cols), vec_ok,
                     [&](int, float z) { sum[0] += static_cast<double>(expf(z - m)); });
  __shared__ double smem[kWarps];
  block_sum(sum, smem);
  if (threadIdx.x == 0) sum_out[t] = sum[0];
}

template <typename T>
__global__ void __launch_bounds__(kBlock)
    shard_softmax_grad_kernel(const T* logits, ShardView shard, const float* __restrict__ lse,
                              const float* __restrict__ scale,
                              const int64_t* __restrict__ local_target, bool vec_ok,
                              float* grad_out) {
  const int64_t t = blockIdx.x;
  float* out = grad_out + t * shard.row_stride;  // may equal the logits row: in place
  const float s = scale[t];
  if (s == 0.0f) {  // ignored token: no gradient, and no exp to evaluate
    zero_row(out, static_cast<int>(shard.row_stride), vec_ok);
    return;
  }
  const float l = lse[t];
  const int64_t y = local_target[t];
  // __fmul_rn keeps s * p and the subtraction separately rounded, as on the CPU (no FMA).
  write_grad_row(logits + t * shard.row_stride, out, static_cast<int>(shard.valid_cols),
                 static_cast<int>(shard.row_stride), vec_ok, [&](int j, float z) {
                   const float g = __fmul_rn(s, expf(z - l));
                   return j == y ? g - s : g;
                 });
}

template <typename T>
__global__ void __launch_bounds__(kBlock)
    shard_gem_sums_kernel(const T* __restrict__ logits, ShardView shard,
                          const float* __restrict__ global_max,
                          const float* __restrict__ target_logit, float inv_beta, GemWeight weight,
                          bool vec_ok, double* __restrict__ sums_out) {
  const int64_t t = blockIdx.x;
  const float m = global_max[t], zy = target_logit[t];
  double acc[3] = {0.0, 0.0, 0.0};  // Q, A, B
  if (isfinite(zy)) {               // uniform over the block; no target: zeros
    for_each_valid_col(logits + t * shard.row_stride, static_cast<int>(shard.valid_cols), vec_ok,
                       [&](int, float z) {
                         const double e = static_cast<double>(expf((z - m) * inv_beta));
                         const double ew = e * static_cast<double>(gem_weight(weight, z, zy));
                         acc[0] += e;
                         acc[1] += ew * static_cast<double>(z - zy);
                         acc[2] += ew;
                       });
  }
  __shared__ double smem[3 * kWarps];
  block_sum(acc, smem);
  if (threadIdx.x == 0) {
    sums_out[3 * t] = acc[0];
    sums_out[3 * t + 1] = acc[1];
    sums_out[3 * t + 2] = acc[2];
  }
}

template <typename T>
__global__ void __launch_bounds__(kBlock)
    shard_gem_grad_kernel(const T* logits, ShardView shard, const float* __restrict__ global_max,
                          const float* __restrict__ target_logit, float inv_beta, GemWeight weight,
                          const float* __restrict__ scale, const float* __restrict__ target_coef,
                          const int64_t* __restrict__ local_target, bool vec_ok, float* grad_out) {
  const int64_t t = blockIdx.x;
  float* out = grad_out + t * shard.row_stride;  // may equal the logits row: in place
  const float s = scale[t];
  if (s == 0.0f) {
    zero_row(out, static_cast<int>(shard.row_stride), vec_ok);
    return;
  }
  const float m = global_max[t], zy = target_logit[t], coef = target_coef[t];
  const int64_t y = local_target[t];
  write_grad_row(logits + t * shard.row_stride, out, static_cast<int>(shard.valid_cols),
                 static_cast<int>(shard.row_stride), vec_ok, [&](int j, float z) {
                   const float g =
                       __fmul_rn(__fmul_rn(s, expf((z - m) * inv_beta)), gem_weight(weight, z, zy));
                   return j == y ? g - coef : g;
                 });
}

// ---- launchers ----

// Rows are indexed with int inside a block (a 2^30 bound leaves the strided loops room to step
// past the end); the grid has one block per token.
bool valid_view(ShardView shard) {
  return shard.tokens >= 0 && shard.tokens <= INT_MAX && shard.row_stride >= 0 &&
         shard.row_stride <= (int64_t{1} << 30) && shard.valid_cols >= 0 &&
         shard.valid_cols <= shard.row_stride;
}

bool aligned(const void* p, int64_t bytes) {
  return reinterpret_cast<std::uintptr_t>(p) % static_cast<std::uintptr_t>(bytes) == 0;
}

// Every row starts on a vec-element boundary when the base does and the stride is a multiple.
template <typename T>
bool rows_aligned(const T* base, ShardView shard, int vec) {
  return aligned(base, vec * static_cast<int64_t>(sizeof(T))) && shard.row_stride % vec == 0;
}

template <typename T, int K>
cudaError_t launch_topk(const T* logits, ShardView shard, const int64_t* local_target, int k,
                        float* topk_out, float* target_logit_out, cudaStream_t stream) {
  shard_topk_and_target_kernel<T, K><<<static_cast<unsigned>(shard.tokens), kBlock, 0, stream>>>(
      logits, shard, local_target, k, rows_aligned(logits, shard, kReadVec<T>), topk_out,
      target_logit_out);
  return cudaGetLastError();
}

}  // namespace

template <typename T>
cudaError_t shard_topk_and_target_cuda(const T* logits, ShardView shard,
                                       const int64_t* local_target, int k, float* topk_out,
                                       float* target_logit_out, cudaStream_t stream) {
  if (!valid_view(shard) || k < 1 || k > kMaxShardTopK) return cudaErrorInvalidValue;
  if (shard.tokens == 0) return cudaSuccess;
  // The per-thread list length is k rounded up to a power of two: a compile-time size keeps it in
  // registers, and the top K of a slice contains its top k.
  const auto launch = [&](auto list_len) {
    return launch_topk<T, decltype(list_len)::value>(logits, shard, local_target, k, topk_out,
                                                     target_logit_out, stream);
  };
  if (k <= 1) return launch(std::integral_constant<int, 1>{});
  if (k <= 2) return launch(std::integral_constant<int, 2>{});
  if (k <= 4) return launch(std::integral_constant<int, 4>{});
  if (k <= 8) return launch(std::integral_constant<int, 8>{});
  if (k <= 16) return launch(std::integral_constant<int, 16>{});
  if (k <= 32) return launch(std::integral_constant<int, 32>{});
  return launch(std::integral_constant<int, kMaxShardTopK>{});
}

template <typename T>
cudaError_t shard_sum_exp_cuda(const T* logits, ShardView shard, const float* global_max,
                               double* sum_out, cudaStream_t stream) {
  if (!valid_view(shard)) return cudaErrorInvalidValue;
  if (shard.tokens == 0) return cudaSuccess;
  shard_sum_exp_kernel<T><<<static_cast<unsigned>(shard.tokens), kBlock, 0, stream>>>(
      logits, shard, global_max, rows_aligned(logits, shard, kReadVec<T>), sum_out);
  return cudaGetLastError();
}

template <typename T>
cudaError_t shard_softmax_grad_cuda(const T* logits, ShardView shard, const float* lse,
                                    const float* scale, const int64_t* local_target,
                                    float* grad_out, cudaStream_t stream) {
  if (!valid_view(shard)) return cudaErrorInvalidValue;
  if (shard.tokens == 0) return cudaSuccess;
  const bool vec_ok =
      rows_aligned(logits, shard, kGradVec) && rows_aligned(grad_out, shard, kGradVec);
  shard_softmax_grad_kernel<T><<<static_cast<unsigned>(shard.tokens), kBlock, 0, stream>>>(
      logits, shard, lse, scale, local_target, vec_ok, grad_out);
  return cudaGetLastError();
}

cudaError_t shard_softmax_grad_inplace_cuda(float* logits_to_grad, ShardView shard,
                                            const float* lse, const float* scale,
                                            const int64_t* local_target, cudaStream_t stream) {
  return shard_softmax_grad_cuda<float>(logits_to_grad, shard, lse, scale, local_target,
                                        logits_to_grad, stream);
}

template <typename T>
cudaError_t shard_gem_sums_cuda(const T* logits, ShardView shard, const float* global_max,
                                const float* target_logit, float beta, GemWeight weight,
                                double* sums_out, cudaStream_t stream) {
  if (!valid_view(shard)) return cudaErrorInvalidValue;
  if (shard.tokens == 0) return cudaSuccess;
  shard_gem_sums_kernel<T><<<static_cast<unsigned>(shard.tokens), kBlock, 0, stream>>>(
      logits, shard, global_max, target_logit, 1.0f / beta, weight,
      rows_aligned(logits, shard, kReadVec<T>), sums_out);
  return cudaGetLastError();
}

template <typename T>
cudaError_t shard_gem_grad_cuda(const T* logits, ShardView shard, const float* global_max,
                                const float* target_logit, float beta, GemWeight weight,
                                const float* scale, const float* target_coef,
                                const int64_t* local_target, float* grad_out, cudaStream_t stream) {
  if (!valid_view(shard)) return cudaErrorInvalidValue;
  if (shard.tokens == 0) return cudaSuccess;
  const bool vec_ok =
      rows_aligned(logits, shard, kGradVec) && rows_aligned(grad_out, shard, kGradVec);
  shard_gem_grad_kernel<T><<<static_cast<unsigned>(shard.tokens), kBlock, 0, stream>>>(
      logits, shard, global_max, target_logit, 1.0f / beta, weight, scale, target_coef,
      local_target, vec_ok, grad_out);
  return cudaGetLastError();
}

cudaError_t shard_gem_grad_inplace_cuda(float* logits_to_grad, ShardView shard,
                                        const float* global_max, const float* target_logit,
                                        float beta, GemWeight weight, const float* scale,
                                        const float* target_coef, const int64_t* local_target,
                                        cudaStream_t stream) {
  return shard_gem_grad_cuda<float>(logits_to_grad, shard, global_max, target_logit, beta, weight,
                                    scale, target_coef, local_target, logits_to_grad, stream);
}

// The two logits types; the header documents both.
#define MEGASFT_INSTANTIATE(T)                                                                     \
  template cudaError_t shard_topk_and_target_cuda<T>(const T*, ShardView, const int64_t*, int,     \
                                                     float*, float*, cudaStream_t);                \
  template cudaError_t shard_sum_exp_cuda<T>(const T*, ShardView, const float*, double*,           \
                                             cudaStream_t);                                        \
  template cudaError_t shard_softmax_grad_cuda<T>(const T*, ShardView, const float*, const float*, \
                                                  const int64_t*, float*, cudaStream_t);           \
  template cudaError_t shard_gem_sums_cuda<T>(const T*, ShardView, const float*, const float*,     \
                                              float, GemWeight, double*, cudaStream_t);            \
  template cudaError_t shard_gem_grad_cuda<T>(const T*, ShardView, const float*, const float*,     \
                                              float, GemWeight, const float*, const float*,        \
                                              const int64_t*, float*, cudaStream_t);
MEGASFT_INSTANTIATE(float)
MEGASFT_INSTANTIATE(__nv_bfloat16)
#undef MEGASFT_INSTANTIATE

}  // namespace megasft::kernels
