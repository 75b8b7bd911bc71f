// Validation of the model shape against a tensor-parallel size, with option names in every message.
#include "megasft/model/model_config.h"

#include "kernels/check.h"

namespace megasft::model {

int64_t ModelConfig::padded_vocab_size(int tp) const {
  const int64_t multiple = make_vocab_size_divisible_by * tp;
  return (vocab_size + multiple - 1) / multiple * multiple;
}

void ModelConfig::validate(int tp) const {
  auto positive = [](int64_t v, const char* name) {
    MEGASFT_CHECK(v > 0, "model option ", name, " must be positive, got ", v);
  };
  positive(vocab_size, "model.vocab-size");
  positive(hidden_size, "model.hidden-size");
  positive(intermediate_size, "model.intermediate-size");
  positive(num_layers, "model.num-layers");
  positive(num_attention_heads, "model.num-attention-heads");
  positive(num_key_value_heads, "model.num-key-value-heads");
  positive(max_position_embeddings, "model.max-position-embeddings");
  positive(make_vocab_size_divisible_by, "model.make-vocab-size-divisible-by");
  MEGASFT_CHECK(rope_theta > 0, "model.rope-theta must be positive, got ", rope_theta);
  MEGASFT_CHECK(rms_norm_eps > 0, "model.rms-norm-eps must be positive, got ", rms_norm_eps);
  MEGASFT_CHECK(attention_head_dim >= 0, "head_dim must not be negative, got ", attention_head_dim);
  MEGASFT_CHECK(attention_head_dim > 0 || hidden_size % num_attention_heads == 0, "model.hidden-size ",
                hidden_size, " is not divisible by model.num-attention-heads ", num_attention_heads);
  if (rope_scaling.type == "llama3") {
    MEGASFT_CHECK(rope_scaling.factor > 0 && rope_scaling.original_max_position_embeddings > 0 &&
                      rope_scaling.high_freq_factor > rope_scaling.low_freq_factor && rope_scaling.low_freq_factor > 0,
                  "rope_scaling (llama3) needs factor > 0, original_max_position_embeddings > 0 and "
                  "high_freq_factor > low_freq_factor > 0; got factor ", rope_scaling.factor,
                  ", original_max_position_embeddings ", rope_scaling.original_max_position_embeddings,
                  ", low_freq_factor ", rope_scaling.low_freq_factor, ", high_freq_factor ",
                  rope_scaling.high_freq_factor);
  } else {
    MEGASFT_CHECK(rope_scaling.type == "default", "rope_scaling type '", rope_scaling.type,
                  "' is not supported (default or llama3)");
  }
  MEGASFT_CHECK(head_dim() % 2 == 0, "head dimension ", head_dim(), " must be even for RoPE");
  MEGASFT_CHECK(num_attention_heads % num_key_value_heads == 0, "model.num-attention-heads ",
                num_attention_heads, " is not a multiple of model.num-key-value-heads ",
                num_key_value_heads);
  MEGASFT_CHECK(tp >= 1, "--tp must be at least 1, got ", tp);
  MEGASFT_CHECK(num_attention_heads % tp == 0, "--tp ", tp,
                " does not divide model.num-attention-heads ", num_attention_heads);
  // Either TP splits the KV heads, or each KV head is shared by tp / kv ranks, which split its weight rows.
  MEGASFT_CHECK(num_key_value_heads % tp == 0 || tp % num_key_value_heads == 0, "--tp ", tp,
                " neither divides nor is a multiple of model.num-key-value-heads ", num_key_value_heads);
  if (replicates_kv_heads(tp))
    MEGASFT_CHECK(head_dim() % (tp / num_key_value_heads) == 0, "--tp ", tp, " shares each of the ",
                  num_key_value_heads, " KV heads over ", tp / num_key_value_heads,
                  " ranks, which must divide the head dimension ", head_dim());
  MEGASFT_CHECK(intermediate_size % tp == 0, "--tp ", tp,
                " does not divide model.intermediate-size ", intermediate_size);
}

int64_t ModelConfig::num_parameters() const {
  const int64_t q = num_attention_heads * head_dim(), kv = num_key_value_heads * head_dim();
  int64_t attention = hidden_size * (q + 2 * kv) + q * hidden_size;
  if (qkv_bias) attention += q + 2 * kv;
  const int64_t mlp = 3 * hidden_size * intermediate_size;
  const int64_t per_layer = attention + mlp + 2 * hidden_size;
  const int64_t embeddings = vocab_size * hidden_size * (tie_word_embeddings ? 1 : 2);
  return num_layers * per_layer + embeddings + hidden_size;
}

}  // namespace megasft::model
