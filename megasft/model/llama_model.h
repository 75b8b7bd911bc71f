// A Llama-architecture causal LM, or one pipeline stage of it, on one tensor-parallel group: embedding,
// decoder layers, final norm and the vocab-parallel LM head (tied or not). Logits stay sharded by vocabulary.
#pragma once

#include <ATen/ATen.h>

#include <memory>
#include <vector>

#include "megasft/model/llama_layers.h"
#include "megasft/model/model_config.h"
#include "megasft/model/pipeline_stage.h"
#include "megasft/model/vocab_shard.h"
#include "parallel/layers.h"

namespace megasft::model {

class LlamaModel {
 public:
  LlamaModel(const ModelConfig& config, const parallel::CommunicatorPtr& tp)
      : LlamaModel(config, tp, PipelineStage::whole(config.num_layers)) {}
  // sequence_parallel: activations between layers are split along the sequence over TP (Megatron's
  // sequence parallelism); stage inputs and outputs are then [B, S/tp, H].
  LlamaModel(const ModelConfig& config, const parallel::CommunicatorPtr& tp, const PipelineStage& stage,
             bool sequence_parallel = false);

  // Deterministic from the seed and identical at every TP and PP size: each component draws its full
  // weights from a generator of its own (seeded from the seed and its place), then keeps its slice.
  void initialize(uint64_t seed);

  // First stage: input_ids [B,S] int64; other stages: the previous stage's hidden [B,S,H]. Returns
  // [B,S,H]: the final (normed) hidden states on the last stage, the stage's activation elsewhere.
  // position_ids [B, S] int64 (packed rows, every stage gets them): RoPE positions restart at 0 where a
  // conversation starts and attention stays inside each conversation. Undefined: 0..S-1, one sequence.
  at::Tensor forward(const at::Tensor& input, const at::Tensor& position_ids = {}) const;
  // Generation with a KV cache: `input` is the next s tokens [B, s] (first stage) or the previous stage's
  // hidden [B, s, H], at `position_ids` [B, s]; cache.key_valid must already mark these s slots. Returns
  // [B, s, H] like forward() and advances cache.length by s. Never sequence-parallel.
  at::Tensor forward_cached(const at::Tensor& input, const at::Tensor& position_ids, KvCache& cache) const;
  // The last stage's hidden states [B, S(/tp), H] as the head's input inside the TP region: [B*S, H]
  // (copied in, or all-gathered along the sequence under sequence parallelism).
  at::Tensor head_input(const at::Tensor& hidden) const;
  at::Tensor lm_head_logits(const at::Tensor& head_input) const;  // [T, H] from head_input -> [T, V_local]
  // The head shard [V_local, H]: the embedding's when tied. The fused head+objective multiplies by it.
  const at::Tensor& lm_head_weight() const;
  const parallel::CommunicatorPtr& tensor_group() const { return tp_; }
  VocabShard vocab_shard() const;
  const ModelConfig& config() const { return config_; }
  const PipelineStage& stage() const { return stage_; }
  // Sequence lengths must be multiples of this (the TP size under sequence parallelism, else 1).
  int64_t sequence_multiple() const { return sequence_parallel_ ? tp_->size() : 1; }
  // What flows between pipeline stages for a [batch, seq] input.
  std::vector<int64_t> activation_shape(int64_t batch, int64_t seq) const {
    return {batch, seq / sequence_multiple(), config_.hidden_size};
  }
  // Recompute each decoder layer's activations in backward instead of keeping them.
  void set_activation_recompute(bool enabled) { recompute_ = enabled; }
  const parallel::ParameterList& parameters() const { return parameters_; }

 private:
  ModelConfig config_;
  PipelineStage stage_;
  parallel::CommunicatorPtr tp_;
  // On the first stage; on the last stage too when tied (there its weight is the head's).
  std::unique_ptr<parallel::VocabParallelEmbedding> embed_tokens_;
  std::vector<DecoderLayer> layers_;
  std::unique_ptr<RMSNorm> norm_;                             // last stage
  std::unique_ptr<parallel::ColumnParallelLinear> lm_head_;  // last stage, when not tied
  RotaryEmbedding rope_;
  bool recompute_ = false;
  bool sequence_parallel_ = false;
  parallel::ParameterList parameters_;
};

}  // namespace megasft::model
