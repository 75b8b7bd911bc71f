// The model's stack and head. The tied head reuses the embedding shard as a column-parallel weight:
// both are split by vocabulary rows, so no extra communication is needed. Under pipeline parallelism
// the last stage holds its own copy of that shard, kept equal to the first stage's by the optimizer.
#include "megasft/model/llama_model.h"

#include "kernels/check.h"
#include "megasft/model/activation_recompute.h"
#include "parallel/mappings.h"

namespace megasft::model {
namespace {

// Each component draws from its own generator, so a stage can initialise its layers without
// drawing everyone else's: the same numbers at every pipeline split.
at::Generator component_generator(uint64_t seed, uint64_t component) {
  return at::make_generator<at::CPUGeneratorImpl>(seed * 1000003ULL + component);
}
constexpr uint64_t kEmbeddingComponent = 0, kHeadComponent = 1, kFirstLayerComponent = 2;

}  // namespace

LlamaModel::LlamaModel(const ModelConfig& config, const parallel::CommunicatorPtr& tp, const PipelineStage& stage,
                       bool sequence_parallel)
    : config_((config.validate(tp->size()), config)),
      stage_(stage),
      tp_(tp),
      rope_(config),
      sequence_parallel_(sequence_parallel && tp->size() > 1) {
  MEGASFT_CHECK(stage.first_layer >= 0 && stage.num_layers >= 0 &&
                    stage.first_layer + stage.num_layers <= config.num_layers,
                "pipeline stage ", stage.to_string(), " is outside the model's ", config.num_layers, " layers");
  const bool tied = config.tie_word_embeddings;
  if (stage.is_first || (stage.is_last && tied))
    embed_tokens_ = std::make_unique<parallel::VocabParallelEmbedding>(
        "model.embed_tokens.weight", config.padded_vocab_size(tp->size()), config.hidden_size, tp, sequence_parallel_);
  if (embed_tokens_) embed_tokens_->set_vocab_size(config.vocab_size);
  for (int64_t i = stage.first_layer; i < stage.first_layer + stage.num_layers; ++i)
    layers_.emplace_back(i, config, tp, sequence_parallel_);
  if (stage.is_last) {
    norm_ = std::make_unique<RMSNorm>("model.norm.weight", config.hidden_size, config.rms_norm_eps, sequence_parallel_);
    if (!tied)
      lm_head_ = std::make_unique<parallel::ColumnParallelLinear>(
          "lm_head", config.hidden_size, std::vector<int64_t>{config.padded_vocab_size(tp->size())}, false, tp);
    if (lm_head_) lm_head_->set_logical_output_size(config.vocab_size);
  }

  if (embed_tokens_) {
    parameters_.push_back(embed_tokens_->parameter());
    auto& embedding = parameters_.back();
    embedding.tied_across_stages = tied && !(stage.is_first && stage.is_last);
    embedding.is_duplicate = embedding.tied_across_stages && !stage.is_first;
  }
  for (const auto& layer : layers_) layer.append_parameters(parameters_);
  if (norm_) parameters_.push_back(norm_->parameter());
  if (lm_head_) lm_head_->append_parameters(parameters_);
}

void LlamaModel::initialize(uint64_t seed) {
  if (embed_tokens_) {
    auto gen = component_generator(seed, kEmbeddingComponent);
    embed_tokens_->load_full(init_normal(gen, {config_.vocab_size, config_.hidden_size}, config_.init_std));
  }
  for (size_t i = 0; i < layers_.size(); ++i) {
    auto gen = component_generator(seed, kFirstLayerComponent + stage_.first_layer + i);
    layers_[i].initialize(gen, config_);
  }
  if (lm_head_) {
    auto gen = component_generator(seed, kHeadComponent);
    auto head = at::zeros({config_.padded_vocab_size(tp_->size()), config_.hidden_size});
    head.narrow(0, 0, config_.vocab_size)
        .copy_(init_normal(gen, {config_.vocab_size, config_.hidden_size}, config_.init_std));
    lm_head_->load_full({head});
  }
}

at::Tensor LlamaModel::forward(const at::Tensor& input, const at::Tensor& position_ids) const {
  if (position_ids.defined()) {
    const int64_t seq = stage_.is_first ? input.size(1) : input.size(1) * sequence_multiple();
    MEGASFT_CHECK(position_ids.dim() == 2 && position_ids.scalar_type() == at::kLong &&
                      position_ids.size(0) == input.size(0) && position_ids.size(1) == seq,
                  "position_ids must be [batch, seq] = [", input.size(0), ", ", seq, "] int64, got ",
                  position_ids.sizes(), " ", position_ids.scalar_type());
  }
  at::Tensor h;
  if (stage_.is_first) {
    MEGASFT_CHECK(input.dim() == 2 && input.scalar_type() == at::kLong, "the first stage takes input_ids "
                  "[batch, seq] int64, got ", input.sizes());
    MEGASFT_CHECK(input.size(1) <= config_.max_position_embeddings, "sequence length ", input.size(1),
                  " exceeds model.max-position-embeddings ", config_.max_position_embeddings);
    h = embed_tokens_->forward(input);
  } else {
    MEGASFT_CHECK(input.dim() == 3 && input.size(2) == config_.hidden_size, "pipeline stage ", stage_.to_string(),
                  " takes hidden states [batch, seq, ", config_.hidden_size, "], got ", input.sizes());
    h = input;
  }
  for (const auto& layer : layers_) {
    if (recompute_)
      h = recompute_in_backward(
          [&layer, this, position_ids](const at::Tensor& x) { return layer.forward(x, rope_, position_ids); }, h);
    else
      h = layer.forward(h, rope_, position_ids);
  }
  return norm_ ? norm_->forward(h) : h;
}

at::Tensor LlamaModel::forward_cached(const at::Tensor& input, const at::Tensor& position_ids, KvCache& cache) const {
  MEGASFT_CHECK(!sequence_parallel_, "generation with a KV cache does not run under sequence parallelism");
  MEGASFT_CHECK(position_ids.dim() == 2 && position_ids.size(0) == input.size(0) && position_ids.size(1) == input.size(1),
                "position_ids must be [batch, new tokens] = [", input.size(0), ", ", input.size(1), "], got ",
                position_ids.sizes());
  at::Tensor h = stage_.is_first ? embed_tokens_->forward(input) : input;
  if (cache.layers.size() != layers_.size()) cache.layers.resize(layers_.size());
  for (size_t i = 0; i < layers_.size(); ++i) h = layers_[i].forward_cached(h, rope_, position_ids, cache, cache.layers[i]);
  cache.length += input.size(1);
  return norm_ ? norm_->forward(h) : h;
}

at::Tensor LlamaModel::head_input(const at::Tensor& hidden) const {
  auto full = sequence_parallel_ ? parallel::gather_from_sequence_parallel_region(hidden, tp_)
                                 : parallel::copy_to_tensor_parallel_region(hidden, tp_);
  return full.reshape({-1, full.size(-1)});
}

at::Tensor LlamaModel::lm_head_logits(const at::Tensor& head_input) const {
  return at::linear(head_input, lm_head_weight());
}

const at::Tensor& LlamaModel::lm_head_weight() const {
  MEGASFT_CHECK(stage_.is_last, "the LM head lives on the last pipeline stage, not on ", stage_.to_string());
  return lm_head_ ? lm_head_->weight() : embed_tokens_->weight();
}

VocabShard LlamaModel::vocab_shard() const {
  VocabShard shard;
  shard.local_cols = config_.padded_vocab_size(tp_->size()) / tp_->size();
  shard.start = shard.local_cols * tp_->rank();
  shard.valid_cols = std::clamp<int64_t>(config_.vocab_size - shard.start, 0, shard.local_cols);
  shard.vocab_size = config_.vocab_size;
  return shard;
}

}  // namespace megasft::model
