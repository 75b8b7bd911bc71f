// A Llama-architecture causal LM on one tensor-parallel group: embedding, decoder stack, final norm and
// the vocab-parallel LM head (tied to the embedding or not). Its logits stay sharded by vocabulary.
#pragma once

#include <ATen/ATen.h>

#include <memory>
#include <vector>

#include "megasft/model/llama_layers.h"
#include "megasft/model/model_config.h"
#include "megasft/model/vocab_shard.h"
#include "parallel/layers.h"

namespace megasft::model {

class LlamaModel {
 public:
  LlamaModel(const ModelConfig& config, const parallel::CommunicatorPtr& tp);

  // Deterministic from the seed and identical at every TP size: full weights are drawn, then sliced.
  void initialize(uint64_t seed);

  at::Tensor forward(const at::Tensor& input_ids) const;         // [B,S] -> final hidden [B,S,H]
  at::Tensor lm_head_logits(const at::Tensor& hidden) const;     // [*,H] -> [*, V_local]
  // The head shard [V_local, H]: the embedding's when tied. The fused head+objective multiplies by it.
  const at::Tensor& lm_head_weight() const;
  const parallel::CommunicatorPtr& tensor_group() const { return tp_; }
  VocabShard vocab_shard() const;
  const ModelConfig& config() const { return config_; }
  const parallel::ParameterList& parameters() const { return parameters_; }

 private:
  ModelConfig config_;
  parallel::CommunicatorPtr tp_;
  parallel::VocabParallelEmbedding embed_tokens_;
  std::vector<DecoderLayer> layers_;
  RMSNorm norm_;
  std::unique_ptr<parallel::ColumnParallelLinear> lm_head_;  // absent when tied to embed_tokens_
  RotaryEmbedding rope_;
  parallel::ParameterList parameters_;
};

}  // namespace megasft::model
