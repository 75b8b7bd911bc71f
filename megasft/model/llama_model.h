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
  LlamaModel(const ModelConfig& config, const parallel::CommunicatorPtr& tp, const PipelineStage& stage);

  // Deterministic from the seed and identical at every TP and PP size: each component draws its full
  // weights from a generator of its own (seeded from the seed and its place), then keeps its slice.
  void initialize(uint64_t seed);

  // First stage: input_ids [B,S] int64; other stages: the previous stage's hidden [B,S,H]. Returns
  // [B,S,H]: the final (normed) hidden states on the last stage, the stage's activation elsewhere.
  at::Tensor forward(const at::Tensor& input) const;
  at::Tensor lm_head_logits(const at::Tensor& hidden) const;     // [*,H] -> [*, V_local]
  // The head shard [V_local, H]: the embedding's when tied. The fused head+objective multiplies by it.
  const at::Tensor& lm_head_weight() const;
  const parallel::CommunicatorPtr& tensor_group() const { return tp_; }
  VocabShard vocab_shard() const;
  const ModelConfig& config() const { return config_; }
  const PipelineStage& stage() const { return stage_; }
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
  parallel::ParameterList parameters_;
};

}  // namespace megasft::model
