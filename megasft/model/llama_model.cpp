// The model's stack and head. The tied head reuses the embedding shard as a column-parallel weight:
// both are split by vocabulary rows, so no extra communication is needed.
#include "megasft/model/llama_model.h"

#include "kernels/check.h"
#include "parallel/mappings.h"

namespace megasft::model {

LlamaModel::LlamaModel(const ModelConfig& config, const parallel::CommunicatorPtr& tp)
    : config_(config),
      tp_(tp),
      embed_tokens_((config.validate(tp->size()), "model.embed_tokens.weight"),
                    config.padded_vocab_size(tp->size()), config.hidden_size, tp),
      norm_("model.norm.weight", config.hidden_size, config.rms_norm_eps),
      rope_(config.head_dim(), config.rope_theta) {
  for (int64_t i = 0; i < config.num_layers; ++i) layers_.emplace_back(i, config, tp);
  if (!config.tie_word_embeddings)
    lm_head_ = std::make_unique<parallel::ColumnParallelLinear>(
        "lm_head", config.hidden_size, std::vector<int64_t>{config.padded_vocab_size(tp->size())}, false, tp);

  parameters_.push_back(embed_tokens_.parameter());
  for (const auto& layer : layers_) layer.append_parameters(parameters_);
  parameters_.push_back(norm_.parameter());
  if (lm_head_) lm_head_->append_parameters(parameters_);
}

void LlamaModel::initialize(uint64_t seed) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  embed_tokens_.load_full(init_normal(gen, {config_.vocab_size, config_.hidden_size}, config_.init_std));
  for (auto& layer : layers_) layer.initialize(gen, config_);
  if (lm_head_) {
    auto head = at::zeros({config_.padded_vocab_size(tp_->size()), config_.hidden_size});
    head.narrow(0, 0, config_.vocab_size)
        .copy_(init_normal(gen, {config_.vocab_size, config_.hidden_size}, config_.init_std));
    lm_head_->load_full({head});
  }
}

at::Tensor LlamaModel::forward(const at::Tensor& input_ids) const {
  MEGASFT_CHECK(input_ids.dim() == 2, "input_ids must be [batch, seq], got ", input_ids.sizes());
  MEGASFT_CHECK(input_ids.size(1) <= config_.max_position_embeddings, "sequence length ",
                input_ids.size(1), " exceeds model.max-position-embeddings ",
                config_.max_position_embeddings);
  auto h = embed_tokens_.forward(input_ids);
  for (const auto& layer : layers_) h = layer.forward(h, rope_);
  return norm_.forward(h);
}

at::Tensor LlamaModel::lm_head_logits(const at::Tensor& hidden) const {
  if (lm_head_) return lm_head_->forward(hidden);
  return at::linear(parallel::copy_to_tensor_parallel_region(hidden, tp_), embed_tokens_.weight());
}

const at::Tensor& LlamaModel::lm_head_weight() const {
  return lm_head_ ? lm_head_->weight() : embed_tokens_.weight();
}

VocabShard LlamaModel::vocab_shard() const {
  VocabShard shard;
  shard.start = embed_tokens_.vocab_start();
  shard.local_cols = embed_tokens_.rows_local();
  shard.valid_cols = std::clamp<int64_t>(config_.vocab_size - shard.start, 0, shard.local_cols);
  shard.vocab_size = config_.vocab_size;
  return shard;
}

}  // namespace megasft::model
