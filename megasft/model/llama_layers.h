// The pieces of a Llama decoder layer: RMSNorm, rotary embeddings, GQA attention sharded by heads and
// the SwiGLU MLP sharded column/row. They know the TP layer types they use, not the layout.
#pragma once

#include <ATen/ATen.h>

#include "megasft/model/model_config.h"
#include "parallel/layers.h"

namespace megasft::model {

// y = x / rms(x) * weight, computed in float32; the weight is replicated over TP.
class RMSNorm {
 public:
  // sequence_parallel: applied to a slice of the sequence, so its gradient is summed over TP.
  RMSNorm(std::string name, int64_t hidden, double eps, bool sequence_parallel = false);
  at::Tensor forward(const at::Tensor& x) const;
  const parallel::Parameter& parameter() const { return weight_; }

 private:
  double eps_;
  parallel::Parameter weight_;
};

// Hugging Face's rotate-half convention: the two halves of each head are the rotated pairs.
class RotaryEmbedding {
 public:
  RotaryEmbedding(int64_t head_dim, double theta);
  // x: [B, heads, S, head_dim] at positions 0..S-1
  at::Tensor apply(const at::Tensor& x) const;

 private:
  at::Tensor inv_freq_;  // [head_dim/2]
};

class Attention {
 public:
  Attention(const std::string& prefix, const ModelConfig& config, const parallel::CommunicatorPtr& tp,
            bool sequence_parallel = false);
  at::Tensor forward(const at::Tensor& x, const RotaryEmbedding& rope) const;  // [B,S,H] -> [B,S,H]
  void initialize(at::Generator& gen, const ModelConfig& config);
  void append_parameters(parallel::ParameterList& out) const;

 private:
  int64_t heads_local_, kv_heads_local_, head_dim_;
  parallel::ColumnParallelLinear qkv_proj_;  // blocks q | k | v, each split by heads
  parallel::RowParallelLinear o_proj_;
};

class SwiGLUMLP {
 public:
  SwiGLUMLP(const std::string& prefix, const ModelConfig& config, const parallel::CommunicatorPtr& tp,
            bool sequence_parallel = false);
  at::Tensor forward(const at::Tensor& x) const;  // down(silu(gate(x)) * up(x))
  void initialize(at::Generator& gen, const ModelConfig& config);
  void append_parameters(parallel::ParameterList& out) const;

 private:
  parallel::ColumnParallelLinear gate_up_proj_;  // blocks gate | up
  parallel::RowParallelLinear down_proj_;
};

class DecoderLayer {
 public:
  DecoderLayer(int64_t index, const ModelConfig& config, const parallel::CommunicatorPtr& tp,
               bool sequence_parallel = false);
  at::Tensor forward(const at::Tensor& x, const RotaryEmbedding& rope) const;
  void initialize(at::Generator& gen, const ModelConfig& config);
  void append_parameters(parallel::ParameterList& out) const;

 private:
  RMSNorm input_layernorm_;
  Attention self_attn_;
  RMSNorm post_attention_layernorm_;
  SwiGLUMLP mlp_;
};

// Normal(0, std) of a full (unsharded) shape from `gen`: the same numbers at every TP size.
at::Tensor init_normal(at::Generator& gen, at::IntArrayRef shape, double std);

}  // namespace megasft::model
