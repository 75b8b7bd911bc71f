// kernels/vocab_parallel_stats_cuda.h against the CPU references of kernels/vocab_parallel_stats.h,
// on fresh random rows (seed printed; MEGASFT_TEST_SEED replays one), fp32 and bf16 logits. Shapes
// cover widths that do not divide the block or the vector width, misaligned rows, k = 1..64, and
// padding columns (valid_cols < row_stride) holding +inf, 3e38 and NaN so any leak shows. bf16
// inputs are compared with the CPU reference run on the same bf16-rounded values. Needs a GPU.
#include "kernels/vocab_parallel_stats_cuda.h"

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels/cuda_check.h"
#include "kernels/vocab_parallel_stats.h"

namespace megasft::kernels {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

// ---- device memory and streams (RAII) ----

class DeviceBuffer {
 public:
  // `misalign` bytes past cudaMalloc's (256-byte aligned) start: rows that are not 16-byte aligned.
  explicit DeviceBuffer(size_t bytes, size_t misalign = 0) : bytes_(bytes) {
    MEGASFT_CUDA_CHECK(cudaMalloc(&base_, bytes + misalign + 1));
    data_ = static_cast<char*>(base_) + misalign;
  }
  ~DeviceBuffer() { cudaFree(base_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  template <typename T>
  T* as() const {
    return reinterpret_cast<T*>(data_);
  }
  template <typename T>
  void upload(const std::vector<T>& host) {
    ASSERT_LE(host.size() * sizeof(T), bytes_);
    MEGASFT_CUDA_CHECK(
        cudaMemcpy(data_, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice));
  }
  template <typename T>
  std::vector<T> download(size_t count) const {
    std::vector<T> host(count);
    MEGASFT_CUDA_CHECK(cudaMemcpy(host.data(), data_, count * sizeof(T), cudaMemcpyDeviceToHost));
    return host;
  }
  // Every byte 0xff: a float NaN, so an output the kernel forgets to write fails the comparison.
  void poison() { MEGASFT_CUDA_CHECK(cudaMemset(data_, 0xff, bytes_)); }

 private:
  void* base_ = nullptr;
  char* data_ = nullptr;
  size_t bytes_ = 0;
};

template <typename T>
std::unique_ptr<DeviceBuffer> to_device(const std::vector<T>& host) {
  auto buffer = std::make_unique<DeviceBuffer>(std::max<size_t>(1, host.size()) * sizeof(T));
  buffer->upload(host);
  return buffer;
}

class Stream {
 public:
  Stream() { MEGASFT_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking)); }
  ~Stream() { cudaStreamDestroy(stream_); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  operator cudaStream_t() const { return stream_; }
  void sync() const { MEGASFT_CUDA_CHECK(cudaStreamSynchronize(stream_)); }

 private:
  cudaStream_t stream_ = nullptr;
};

// ---- bf16 on the host: round to nearest even, as __float2bfloat16 does ----

uint16_t bf16_bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  if (std::isnan(x)) return 0x7fc0;
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}
float bf16_value(uint16_t bits) {
  const uint32_t u = static_cast<uint32_t>(bits) << 16;
  float x;
  std::memcpy(&x, &u, 4);
  return x;
}

enum class Dtype { kFloat, kBFloat16 };
const char* name(Dtype d) { return d == Dtype::kFloat ? "fp32" : "bf16"; }

// ---- random inputs ----

struct Case {
  ShardView view;
  bool misaligned;  // rows start off the 16-byte grid: the scalar path
};

// Widths below, at and above the block (256 threads) and the vector widths (4, 8), a real
// Llama-3 TP=8 shard (16032), a whole 128256 vocabulary, an empty shard.
std::vector<Case> cases() {
  return {{{1, 1, 1}, false},         {{3, 7, 7}, false},         {{4, 8, 0}, false},
          {{5, 257, 250}, false},     {{33, 300, 297}, false},    {{4, 1024, 1000}, false},
          {{6, 4099, 4093}, false},   {{3, 4096, 4096}, true},    {{4, 2056, 2051}, true},
          {{2, 16032, 16032}, false}, {{3, 32064, 32061}, false}, {{2, 128256, 128256}, false}};
}

std::string describe(const Case& c, Dtype d) {
  return std::string(name(d)) + " tokens " + std::to_string(c.view.tokens) + " row_stride " +
         std::to_string(c.view.row_stride) + " valid_cols " + std::to_string(c.view.valid_cols) +
         (c.misaligned ? " misaligned" : "");
}

uint64_t test_seed() {
  if (const char* s = std::getenv("MEGASFT_TEST_SEED")) return std::strtoull(s, nullptr, 10);
  return std::random_device{}();
}

// The values the device sees, widened to float (bf16-rounded for bf16), with padding that must
// never be read. Row 0 is all ties (one repeated value); elsewhere some columns repeat their left
// neighbour, so the top-k merge meets ties across threads and warps.
std::vector<float> random_logits(std::mt19937_64& rng, const ShardView& v, Dtype dtype) {
  std::normal_distribution<float> normal(0.0f, 4.0f);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  const float padding[3] = {kInf, 3e38f, std::numeric_limits<float>::quiet_NaN()};
  std::vector<float> rows(v.tokens * v.row_stride);
  for (int64_t t = 0; t < v.tokens; ++t) {
    float* row = rows.data() + t * v.row_stride;
    for (int64_t j = 0; j < v.row_stride; ++j) {
      if (j >= v.valid_cols) {
        row[j] = padding[j % 3];
      } else if (t == 0 && v.tokens > 1) {
        row[j] = 1.5f;
      } else {
        row[j] = (j > 0 && unit(rng) < 0.05f) ? row[j - 1] : normal(rng);
        if (dtype == Dtype::kBFloat16) row[j] = bf16_value(bf16_bits(row[j]));
      }
    }
  }
  return rows;
}

// Logits in the dtype under test, `misaligned` by one element.
std::unique_ptr<DeviceBuffer> logits_to_device(const std::vector<float>& rows, Dtype dtype,
                                               bool misaligned) {
  const size_t n = std::max<size_t>(1, rows.size());
  if (dtype == Dtype::kFloat) {
    auto buffer = std::make_unique<DeviceBuffer>(n * sizeof(float), misaligned ? sizeof(float) : 0);
    buffer->upload(rows);
    return buffer;
  }
  std::vector<uint16_t> bits(rows.size());
  std::transform(rows.begin(), rows.end(), bits.begin(), bf16_bits);
  auto buffer = std::make_unique<DeviceBuffer>(n * sizeof(uint16_t), misaligned ? 2 : 0);
  buffer->upload(bits);
  return buffer;
}

// Calls f(const T* logits) with the buffer typed as the dtype under test.
template <typename F>
cudaError_t with_logits(Dtype dtype, const DeviceBuffer& logits, F&& f) {
  if (dtype == Dtype::kFloat) return f(logits.as<const float>());
  return f(logits.as<const __nv_bfloat16>());
}

// Local targets: in range (first and last columns included), -1 (another shard) and one past
// the valid columns (into the padding, which also means "not here").
std::vector<int64_t> random_targets(std::mt19937_64& rng, const ShardView& v) {
  std::vector<int64_t> y(v.tokens);
  std::uniform_int_distribution<int64_t> col(0, std::max<int64_t>(0, v.valid_cols - 1));
  for (int64_t t = 0; t < v.tokens; ++t) {
    switch (t % 5) {
      case 1:
        y[t] = -1;
        break;
      case 2:
        y[t] = v.valid_cols;
        break;
      case 3:
        y[t] = v.valid_cols - 1;
        break;
      default:
        y[t] = v.valid_cols > 0 ? col(rng) : -1;
    }
  }
  return y;
}

// The row maxima over valid columns, raised by up to 3 on some rows (the global max is elsewhere).
std::vector<float> global_max_of(std::mt19937_64& rng, const std::vector<float>& rows,
                                 ShardView v) {
  std::uniform_real_distribution<float> raise(0.0f, 3.0f);
  std::vector<float> m(v.tokens, 0.0f);
  for (int64_t t = 0; t < v.tokens; ++t) {
    if (v.valid_cols == 0) continue;
    const float* row = rows.data() + t * v.row_stride;
    m[t] = *std::max_element(row, row + v.valid_cols) + (t % 2 ? raise(rng) : 0.0f);
  }
  return m;
}

// Per-token scales in [-2, 2], 0 (an ignored token) on every fourth.
std::vector<float> random_scales(std::mt19937_64& rng, int64_t tokens) {
  std::uniform_real_distribution<float> u(-2.0f, 2.0f);
  std::vector<float> s(tokens);
  for (int64_t t = 0; t < tokens; ++t) s[t] = (t % 4 == 2) ? 0.0f : u(rng);
  return s;
}

// |got - want| within atol + rtol |want|, NaNs never equal; reports the first few misses.
template <typename T>
void expect_close(const std::vector<T>& got, const std::vector<T>& want,
                  const std::vector<double>& atol, double rtol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  int misses = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double g = got[i], w = want[i];
    const bool ok = (g == w) || std::fabs(g - w) <= atol[i] + rtol * std::fabs(w);
    if (!ok && ++misses <= 5)
      ADD_FAILURE() << what << ": element " << i << " got " << g << " want " << w;
  }
  EXPECT_EQ(misses, 0) << what << ": " << misses << " of " << got.size() << " elements differ";
}

class VocabParallelStatsCuda : public ::testing::Test {
 protected:
  void SetUp() override {
    int devices = 0;
    MEGASFT_CUDA_CHECK(cudaGetDeviceCount(&devices));
    ASSERT_GT(devices, 0) << "test_kernels_cuda needs a GPU";
    seed_ = test_seed();
    rng_.seed(seed_);
    RecordProperty("seed", std::to_string(seed_));
  }
  std::string trace(const Case& c, Dtype d) const {
    return describe(c, d) + " seed " + std::to_string(seed_) + " (MEGASFT_TEST_SEED replays it)";
  }

  uint64_t seed_ = 0;
  std::mt19937_64 rng_;
  Stream stream_;
};

TEST_F(VocabParallelStatsCuda, TopkAndTargetAreBitExact) {
  for (Dtype dtype : {Dtype::kFloat, Dtype::kBFloat16}) {
    for (const Case& c : cases()) {
      SCOPED_TRACE(trace(c, dtype));
      const ShardView v = c.view;
      const auto rows = random_logits(rng_, v, dtype);
      const auto y = random_targets(rng_, v);
      const auto logits = logits_to_device(rows, dtype, c.misaligned);
      const auto y_dev = to_device(y);
      for (int k : {1, 2, 3, 5, 8, 17, kMaxShardTopK}) {
        std::vector<float> topk(v.tokens * k), target(v.tokens);
        shard_topk_and_target_cpu(rows.data(), v, y.data(), k, topk.data(), target.data());
        DeviceBuffer topk_dev(topk.size() * sizeof(float)),
            target_dev(target.size() * sizeof(float));
        topk_dev.poison();
        target_dev.poison();
        MEGASFT_CUDA_CHECK(with_logits(dtype, *logits, [&](auto* z) {
          return shard_topk_and_target_cuda(z, v, y_dev->as<const int64_t>(), k,
                                            topk_dev.as<float>(), target_dev.as<float>(), stream_);
        }));
        stream_.sync();
        const std::vector<double> exact_top(topk.size(), 0.0), exact_target(target.size(), 0.0);
        expect_close(topk_dev.download<float>(topk.size()), topk, exact_top, 0.0,
                     "top-k, k = " + std::to_string(k));
        expect_close(target_dev.download<float>(target.size()), target, exact_target, 0.0,
                     "target logit");
      }
    }
  }
}

TEST_F(VocabParallelStatsCuda, SumExpMatchesToOnePartInAMillion) {
  for (Dtype dtype : {Dtype::kFloat, Dtype::kBFloat16}) {
    for (const Case& c : cases()) {
      SCOPED_TRACE(trace(c, dtype));
      const ShardView v = c.view;
      const auto rows = random_logits(rng_, v, dtype);
      const auto m = global_max_of(rng_, rows, v);
      std::vector<double> sum(v.tokens);
      shard_sum_exp_cpu(rows.data(), v, m.data(), sum.data());
      const auto logits = logits_to_device(rows, dtype, c.misaligned);
      const auto m_dev = to_device(m);
      DeviceBuffer sum_dev(std::max<size_t>(1, sum.size()) * sizeof(double));
      sum_dev.poison();
      MEGASFT_CUDA_CHECK(with_logits(dtype, *logits, [&](auto* z) {
        return shard_sum_exp_cuda(z, v, m_dev->as<const float>(), sum_dev.as<double>(), stream_);
      }));
      stream_.sync();
      expect_close(sum_dev.download<double>(sum.size()), sum, std::vector<double>(sum.size(), 0.0),
                   1e-6, "sum of exp");
    }
  }
}

// The gradient check shared by softmax and GEM: padding and ignored rows exactly 0, the rest
// within rtol of the reference or atol_row[t] (cancellation at the target column).
void expect_grad_close(const std::vector<float>& got, const std::vector<float>& want, ShardView v,
                       const std::vector<float>& scale, const std::vector<double>& atol_row,
                       const std::string& what) {
  std::vector<double> atol(got.size(), 0.0);
  for (int64_t t = 0; t < v.tokens; ++t)
    for (int64_t j = 0; j < v.valid_cols; ++j) atol[t * v.row_stride + j] = atol_row[t];
  expect_close(got, want, atol, 2e-6, what);
  for (int64_t t = 0; t < v.tokens; ++t) {
    for (int64_t j = 0; j < v.row_stride; ++j) {
      if (j >= v.valid_cols || scale[t] == 0.0f) {
        ASSERT_EQ(got[t * v.row_stride + j], 0.0f) << what << ": token " << t << " column " << j;
      }
    }
  }
}

TEST_F(VocabParallelStatsCuda, SoftmaxGradMatchesInPlaceAndOutOfPlace) {
  for (Dtype dtype : {Dtype::kFloat, Dtype::kBFloat16}) {
    for (const Case& c : cases()) {
      SCOPED_TRACE(trace(c, dtype));
      const ShardView v = c.view;
      const auto rows = random_logits(rng_, v, dtype);
      const auto y = random_targets(rng_, v);
      const auto m = global_max_of(rng_, rows, v);
      std::vector<double> sum(v.tokens);
      shard_sum_exp_cpu(rows.data(), v, m.data(), sum.data());
      std::vector<float> lse(v.tokens), scale = random_scales(rng_, v.tokens);
      for (int64_t t = 0; t < v.tokens; ++t)  // a global lse: this shard's plus other shards' mass
        lse[t] = m[t] + static_cast<float>(std::log(sum[t] + (t % 3 ? 5.0 : 0.0)));
      auto want = rows;
      shard_softmax_grad_inplace_cpu(want.data(), v, lse.data(), scale.data(), y.data());
      std::vector<double> atol(v.tokens);
      for (int64_t t = 0; t < v.tokens; ++t) atol[t] = 1e-6 * std::fabs(scale[t]);

      const auto lse_dev = to_device(lse), scale_dev = to_device(scale), y_dev = to_device(y);
      const auto logits = logits_to_device(rows, dtype, c.misaligned);
      DeviceBuffer grad(std::max<size_t>(1, rows.size()) * sizeof(float));
      grad.poison();
      MEGASFT_CUDA_CHECK(with_logits(dtype, *logits, [&](auto* z) {
        return shard_softmax_grad_cuda(z, v, lse_dev->as<const float>(),
                                       scale_dev->as<const float>(), y_dev->as<const int64_t>(),
                                       grad.as<float>(), stream_);
      }));
      stream_.sync();
      expect_grad_close(grad.download<float>(rows.size()), want, v, scale, atol, "out of place");

      if (dtype == Dtype::kFloat) {  // in place: the logits buffer becomes the gradient
        MEGASFT_CUDA_CHECK(shard_softmax_grad_inplace_cuda(
            logits->as<float>(), v, lse_dev->as<const float>(), scale_dev->as<const float>(),
            y_dev->as<const int64_t>(), stream_));
        stream_.sync();
        expect_grad_close(logits->download<float>(rows.size()), want, v, scale, atol, "in place");
      }
    }
  }
}

// The target logit per row: the local one, another shard's (a random finite value), or -inf on
// rows that must sum to zero.
std::vector<float> gem_targets(std::mt19937_64& rng, const std::vector<float>& rows, ShardView v,
                               const std::vector<int64_t>& y, bool allow_missing) {
  std::normal_distribution<float> normal(0.0f, 4.0f);
  std::vector<float> zy(v.tokens);
  for (int64_t t = 0; t < v.tokens; ++t) {
    if (y[t] >= 0 && y[t] < v.valid_cols)
      zy[t] = rows[t * v.row_stride + y[t]];
    else
      zy[t] = (allow_missing && t % 2) ? -kInf : normal(rng);
  }
  return zy;
}

TEST_F(VocabParallelStatsCuda, GemSumsMatchForBothWeights) {
  for (Dtype dtype : {Dtype::kFloat, Dtype::kBFloat16}) {
    for (GemWeight weight : {GemWeight::kLinear, GemWeight::kLogSigmoid}) {
      for (const Case& c : cases()) {
        SCOPED_TRACE(trace(c, dtype) + (weight == GemWeight::kLinear ? " linear" : " logsigmoid"));
        const ShardView v = c.view;
        const float beta = weight == GemWeight::kLinear ? 0.7f : 1.3f;
        const auto rows = random_logits(rng_, v, dtype);
        const auto y = random_targets(rng_, v);
        const auto m = global_max_of(rng_, rows, v);
        const auto zy = gem_targets(rng_, rows, v, y, /*allow_missing=*/true);
        std::vector<double> sums(3 * v.tokens);
        shard_gem_sums_cpu(rows.data(), v, m.data(), zy.data(), beta, weight, sums.data());
        // A's terms change sign: its tolerance is relative to the sum of their magnitudes.
        std::vector<double> atol(sums.size(), 0.0);
        for (int64_t t = 0; t < v.tokens; ++t) {
          if (!std::isfinite(zy[t])) continue;
          double magnitude = 0.0;
          for (int64_t j = 0; j < v.valid_cols; ++j) {
            const float z = rows[t * v.row_stride + j];
            magnitude += std::exp(static_cast<double>((z - m[t]) / beta)) * std::fabs(z - zy[t]);
          }
          atol[3 * t + 1] = 1e-6 * magnitude;
        }
        const auto logits = logits_to_device(rows, dtype, c.misaligned);
        const auto m_dev = to_device(m), zy_dev = to_device(zy);
        DeviceBuffer sums_dev(std::max<size_t>(1, sums.size()) * sizeof(double));
        sums_dev.poison();
        MEGASFT_CUDA_CHECK(with_logits(dtype, *logits, [&](auto* z) {
          return shard_gem_sums_cuda(z, v, m_dev->as<const float>(), zy_dev->as<const float>(),
                                     beta, weight, sums_dev.as<double>(), stream_);
        }));
        stream_.sync();
        expect_close(sums_dev.download<double>(sums.size()), sums, atol, 1e-6, "GEM sums Q, A, B");
      }
    }
  }
}

TEST_F(VocabParallelStatsCuda, GemGradMatchesInPlaceAndOutOfPlace) {
  for (Dtype dtype : {Dtype::kFloat, Dtype::kBFloat16}) {
    for (GemWeight weight : {GemWeight::kLinear, GemWeight::kLogSigmoid}) {
      for (const Case& c : cases()) {
        SCOPED_TRACE(trace(c, dtype) + (weight == GemWeight::kLinear ? " linear" : " logsigmoid"));
        const ShardView v = c.view;
        const float beta = 0.7f;
        const auto rows = random_logits(rng_, v, dtype);
        const auto y = random_targets(rng_, v);
        const auto m = global_max_of(rng_, rows, v);
        const auto zy = gem_targets(rng_, rows, v, y, /*allow_missing=*/false);
        const auto scale = random_scales(rng_, v.tokens);
        std::uniform_real_distribution<float> u(0.0f, 2.0f);
        std::vector<float> coef(v.tokens);
        for (auto& x : coef) x = u(rng_);
        auto want = rows;
        shard_gem_grad_inplace_cpu(want.data(), v, m.data(), zy.data(), beta, weight, scale.data(),
                                   coef.data(), y.data());
        std::vector<double> atol(v.tokens);
        for (int64_t t = 0; t < v.tokens; ++t)
          atol[t] = 1e-6 * (std::fabs(scale[t]) + std::fabs(coef[t]));

        const auto m_dev = to_device(m), zy_dev = to_device(zy), y_dev = to_device(y);
        const auto scale_dev = to_device(scale), coef_dev = to_device(coef);
        const auto logits = logits_to_device(rows, dtype, c.misaligned);
        DeviceBuffer grad(std::max<size_t>(1, rows.size()) * sizeof(float));
        grad.poison();
        MEGASFT_CUDA_CHECK(with_logits(dtype, *logits, [&](auto* z) {
          return shard_gem_grad_cuda(z, v, m_dev->as<const float>(), zy_dev->as<const float>(),
                                     beta, weight, scale_dev->as<const float>(),
                                     coef_dev->as<const float>(), y_dev->as<const int64_t>(),
                                     grad.as<float>(), stream_);
        }));
        stream_.sync();
        expect_grad_close(grad.download<float>(rows.size()), want, v, scale, atol, "out of place");

        if (dtype == Dtype::kFloat) {
          MEGASFT_CUDA_CHECK(shard_gem_grad_inplace_cuda(
              logits->as<float>(), v, m_dev->as<const float>(), zy_dev->as<const float>(), beta,
              weight, scale_dev->as<const float>(), coef_dev->as<const float>(),
              y_dev->as<const int64_t>(), stream_));
          stream_.sync();
          expect_grad_close(logits->download<float>(rows.size()), want, v, scale, atol, "in place");
        }
      }
    }
  }
}

TEST_F(VocabParallelStatsCuda, RejectsBadArgumentsAndSkipsEmptyShards) {
  DeviceBuffer out(64 * sizeof(float));
  out.poison();
  const float* z = out.as<const float>();
  const int64_t* y = out.as<const int64_t>();
  float* f = out.as<float>();
  EXPECT_EQ(shard_topk_and_target_cuda(z, ShardView{2, 8, 8}, y, 0, f, f, stream_),
            cudaErrorInvalidValue);
  EXPECT_EQ(shard_topk_and_target_cuda(z, ShardView{2, 8, 8}, y, kMaxShardTopK + 1, f, f, stream_),
            cudaErrorInvalidValue);
  EXPECT_EQ(shard_sum_exp_cuda(z, ShardView{2, 8, 9}, z, out.as<double>(), stream_),
            cudaErrorInvalidValue);
  EXPECT_EQ(shard_softmax_grad_cuda(z, ShardView{-1, 8, 8}, z, z, y, f, stream_),
            cudaErrorInvalidValue);
  // tokens == 0: nothing launched, nothing written.
  EXPECT_EQ(shard_topk_and_target_cuda(z, ShardView{0, 8, 8}, y, 2, f, f, stream_), cudaSuccess);
  EXPECT_EQ(shard_sum_exp_cuda(z, ShardView{0, 8, 8}, z, out.as<double>(), stream_), cudaSuccess);
  EXPECT_EQ(shard_softmax_grad_inplace_cuda(f, ShardView{0, 8, 8}, z, z, y, stream_), cudaSuccess);
  EXPECT_EQ(shard_gem_sums_cuda(z, ShardView{0, 8, 8}, z, z, 0.7f, GemWeight::kLinear,
                                out.as<double>(), stream_),
            cudaSuccess);
  EXPECT_EQ(shard_gem_grad_inplace_cuda(f, ShardView{0, 8, 8}, z, z, 0.7f, GemWeight::kLinear, z, z,
                                        y, stream_),
            cudaSuccess);
  stream_.sync();
  for (float x : out.download<float>(64)) EXPECT_TRUE(std::isnan(x));
}

}  // namespace
}  // namespace megasft::kernels
