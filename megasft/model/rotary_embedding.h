// Rotary position embeddings as Hugging Face computes them, including Llama 3's frequency scaling.
// The inverse frequencies follow transformers' float32 operations step by step, so they match its
// values.
#pragma once

#include <ATen/ATen.h>

#include "megasft/model/model_config.h"

namespace megasft::model {

// [head_dim / 2] float32: _compute_default_rope_parameters, then _compute_llama3_parameters when
// config.rope_scaling.type is "llama3".
at::Tensor rope_inverse_frequencies(const ModelConfig& config);

// Hugging Face's rotate-half convention: the two halves of each head are the rotated pairs.
class RotaryEmbedding {
 public:
  explicit RotaryEmbedding(const ModelConfig& config);
  // x: [B, heads, S, head_dim] at positions 0..S-1, or at `positions` [B, S] int64 when defined
  at::Tensor apply(const at::Tensor& x, const at::Tensor& positions = {}) const;

 private:
  at::Tensor inv_freq_;  // [head_dim/2] float32
};

}  // namespace megasft::model
