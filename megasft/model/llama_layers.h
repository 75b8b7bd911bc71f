// The pieces of a Llama decoder layer: RMSNorm, rotary embeddings, GQA attention sharded by heads and
// the SwiGLU MLP sharded column/row. They know the TP layer types they use, not the layout.
#pragma once

#include <ATen/ATen.h>

#include <array>

#include "megasft/model/kv_cache.h"
#include "megasft/model/model_config.h"
#include "megasft/model/rotary_embedding.h"
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

// Heads are split over TP. With fewer KV heads than ranks (tp % kv == 0), rank r's query heads all use
// KV head r / (tp / kv); the k and v weight rows of that head stay split over the tp / kv ranks sharing it
// (plain column-parallel rows, so norms, optimizers and checkpoints see an ordinary sharded tensor), and
// each rank all-gathers the head's k and v activations. The gather's adjoint is a reduce-scatter, which
// sums the gradients of every rank using the head before each rank takes its rows' part.
class Attention {
 public:
  Attention(const std::string& prefix, const ModelConfig& config, const parallel::CommunicatorPtr& tp,
            bool sequence_parallel = false);
  // [B,S,H] -> [B,S,H]. position_ids [B, S] (packed rows): RoPE at those positions, and attention only
  // among tokens of the same conversation (a new one starts where the position is 0).
  at::Tensor forward(const at::Tensor& x, const RotaryEmbedding& rope, const at::Tensor& position_ids = {}) const;
  // Generation: x [B, s, H] are the next s tokens at `position_ids` [B, s]; their keys and values go to
  // cache slots [cache.length, cache.length + s) (the caller advances cache.length after the last layer)
  // and each token attends to the valid slots up to its own. No sequence parallelism here.
  at::Tensor forward_cached(const at::Tensor& x, const RotaryEmbedding& rope, const at::Tensor& position_ids,
                            KvCache& cache, LayerKvCache& layer) const;
  void initialize(at::Generator& gen, const ModelConfig& config);
  void append_parameters(parallel::ParameterList& out) const;

 private:
  // q, k, v of x as [B, heads, S, D] (k and v with this rank's KV heads, before GQA repetition), rotated.
  std::array<at::Tensor, 3> project_qkv(const at::Tensor& x, const RotaryEmbedding& rope,
                                        const at::Tensor& position_ids) const;
  // softmax(q k^T / sqrt(D), masked) v, GQA-repeated, through o_proj: [B, heads, S, D] -> [B, S, H].
  at::Tensor attend(const at::Tensor& q, at::Tensor k, at::Tensor v, const at::Tensor& masked) const;
  // [B, S, kv_local] projections of this rank's rows of a shared KV head -> [B, S, head_dim] of the head.
  at::Tensor gather_shared_kv_head(const at::Tensor& rows) const;

  parallel::CommunicatorPtr tp_;
  int64_t heads_local_, kv_heads_local_, head_dim_;
  int64_t shared_kv_head_ = -1;  // the KV head this rank's queries use, when KV heads are shared; else -1
  parallel::ColumnParallelLinear qkv_proj_;  // blocks q | k | v, each split by rows (so by heads, or within one)
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
  at::Tensor forward(const at::Tensor& x, const RotaryEmbedding& rope, const at::Tensor& position_ids = {}) const;
  at::Tensor forward_cached(const at::Tensor& x, const RotaryEmbedding& rope, const at::Tensor& position_ids,
                            KvCache& cache, LayerKvCache& layer) const;
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
