// An independent float64 forward of the Llama / Qwen2 architecture, written from Hugging Face's
// modeling code (embedding, RMSNorm, RoPE with llama3 scaling, causal GQA attention, SwiGLU, head),
// sharing nothing with megasft's model.
#pragma once

#include <ATen/ATen.h>

#include <map>
#include <string>

#include "tests/model/tiny_checkpoint.h"

namespace megasft::testing {

// ids: [S] int64 -> logits [S, vocab_size] float64, from the HF-named float64 weights.
at::Tensor reference_logits(const std::map<std::string, at::Tensor>& weights,
                            const TinyModelSpec& spec, const at::Tensor& ids);

// The inverse RoPE frequencies [head_dim / 2] in float64 (llama3 scaling when spec.llama3_rope).
at::Tensor reference_inv_freq(const TinyModelSpec& spec);

}  // namespace megasft::testing
