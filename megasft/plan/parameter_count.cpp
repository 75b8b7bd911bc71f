// Shard shapes follow parallel/layers.cpp: column-parallel weights split their output rows (each
// block of q|k|v and gate|up separately), row-parallel weights their input columns, norms are
// replicated and the vocabulary is padded to a multiple of make_vocab_size_divisible_by x TP.
#include "megasft/plan/parameter_count.h"

#include <algorithm>

#include "kernels/check.h"

namespace megasft::plan {

std::vector<ShardParameter> stage_parameters(const model::ModelConfig& c, int tp,
                                             const model::PipelineStage& stage) {
  c.validate(tp);
  const int64_t h = c.hidden_size, d = c.head_dim();
  const int64_t vocab_rows = vocab_rows_per_rank(c, tp);
  const int64_t qkv_rows = (c.num_attention_heads * d + 2 * c.num_key_value_heads * d) / tp;
  std::vector<ShardParameter> out;
  if (stage.is_first || (stage.is_last && c.tie_word_embeddings))
    out.push_back({"model.embed_tokens.weight", vocab_rows * h});
  for (int64_t i = stage.first_layer; i < stage.first_layer + stage.num_layers; ++i) {
    const std::string prefix = "model.layers." + std::to_string(i) + ".";
    out.push_back({prefix + "input_layernorm.weight", h});
    out.push_back({prefix + "self_attn.qkv_proj.weight", qkv_rows * h});
    if (c.qkv_bias) out.push_back({prefix + "self_attn.qkv_proj.bias", qkv_rows});
    out.push_back({prefix + "self_attn.o_proj.weight", h * (c.num_attention_heads * d / tp)});
    out.push_back({prefix + "post_attention_layernorm.weight", h});
    out.push_back({prefix + "mlp.gate_up_proj.weight", 2 * (c.intermediate_size / tp) * h});
    out.push_back({prefix + "mlp.down_proj.weight", h * (c.intermediate_size / tp)});
  }
  if (stage.is_last) {
    out.push_back({"model.norm.weight", h});
    if (!c.tie_word_embeddings) out.push_back({"lm_head.weight", vocab_rows * h});
  }
  return out;
}

int64_t vocab_rows_per_rank(const model::ModelConfig& c, int tp) {
  return c.padded_vocab_size(tp) / tp;
}

int64_t total_numel(const std::vector<ShardParameter>& parameters) {
  int64_t n = 0;
  for (const auto& p : parameters) n += p.numel;
  return n;
}

OptimizerShard distributed_optimizer_shard(const std::vector<ShardParameter>& parameters, int dp,
                                           double bucket_mb) {
  MEGASFT_CHECK(dp >= 1 && bucket_mb > 0, "distributed optimizer shard: dp ", dp, ", bucket ",
                bucket_mb, " MiB");
  // The same walk as DistributedOptimizer's constructor: a bucket closes once it holds bucket_mb
  // (or at the last parameter) and is padded up to a multiple of DP.
  const auto bucket_elements =
      std::max<int64_t>(1, static_cast<int64_t>(bucket_mb * (1 << 20) / 4));
  OptimizerShard shard;
  int64_t cursor = 0, open = 0;
  for (size_t i = 0; i < parameters.size(); ++i) {
    cursor += parameters[i].numel;
    if (cursor - open >= bucket_elements || i + 1 == parameters.size()) {
      const int64_t end = open + (cursor - open + dp - 1) / dp * dp;
      shard.owned_elements += (end - open) / dp;
      shard.largest_bucket = std::max(shard.largest_bucket, end - open);
      cursor = open = end;
    }
  }
  shard.flat_elements = cursor;
  return shard;
}

}  // namespace megasft::plan
