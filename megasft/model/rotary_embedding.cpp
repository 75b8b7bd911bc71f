// RoPE frequencies and their application. Python's `scalar / tensor` is reciprocal() times the
// scalar and comparisons with a Python float happen in float32: the ATen calls below are those same
// operations.
#include "megasft/model/rotary_embedding.h"

#include <cmath>

namespace megasft::model {
namespace {

// transformers' _compute_llama3_parameters: long wavelengths are divided by `factor`, short ones
// kept, the band between interpolated smoothly.
at::Tensor llama3_scaled(const at::Tensor& inv_freq, const RopeScaling& s) {
  const double old_context_len = static_cast<double>(s.original_max_position_embeddings);
  const double low_freq_wavelen = old_context_len / s.low_freq_factor;
  const double high_freq_wavelen = old_context_len / s.high_freq_factor;
  auto wavelen = inv_freq.reciprocal() * (2 * M_PI);
  auto inv_freq_llama = at::where(wavelen > low_freq_wavelen, inv_freq / s.factor, inv_freq);
  auto smooth_factor = (wavelen.reciprocal() * old_context_len - s.low_freq_factor) /
                       (s.high_freq_factor - s.low_freq_factor);
  auto smoothed_inv_freq =
      (1 - smooth_factor) * inv_freq_llama / s.factor + smooth_factor * inv_freq_llama;
  auto is_medium_freq =
      (wavelen < high_freq_wavelen).logical_not() * (wavelen > low_freq_wavelen).logical_not();
  return at::where(is_medium_freq, smoothed_inv_freq, inv_freq_llama);
}

}  // namespace

at::Tensor rope_inverse_frequencies(const ModelConfig& config) {
  const int64_t dim = config.head_dim();
  // 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
  auto exponents = at::arange(0, dim, 2, at::kLong).to(at::kFloat) / static_cast<double>(dim);
  auto inv_freq = at::pow(at::Scalar(config.rope_theta), exponents).reciprocal();
  if (config.rope_scaling.type == "llama3") inv_freq = llama3_scaled(inv_freq, config.rope_scaling);
  return inv_freq.contiguous();
}

RotaryEmbedding::RotaryEmbedding(const ModelConfig& config)
    : inv_freq_(rope_inverse_frequencies(config)) {}

at::Tensor RotaryEmbedding::apply(const at::Tensor& x, const at::Tensor& positions) const {
  const int64_t seq = x.size(2), half = x.size(3) / 2;
  at::Tensor freqs;
  if (positions.defined())  // [B, 1, S, D/2]: one row of positions per sequence, broadcast over heads
    freqs = (positions.to(at::kFloat).unsqueeze(-1) * inv_freq_).unsqueeze(1);
  else
    freqs = at::outer(at::arange(seq, at::kFloat), inv_freq_);  // [S, D/2]
  auto angles = at::cat({freqs, freqs}, -1);  // [..., S, D]
  auto cos = angles.cos().to(x.scalar_type()), sin = angles.sin().to(x.scalar_type());
  auto x1 = x.narrow(-1, 0, half), x2 = x.narrow(-1, half, half);
  auto rotated = at::cat({-x2, x1}, -1);
  return x * cos + rotated * sin;
}

}  // namespace megasft::model
