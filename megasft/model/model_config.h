// The shape of a Llama-architecture decoder (Llama 3.x, and Qwen2 with qkv_bias), independent of layout.
// Filled from a config file now and from a Hugging Face config.json later; validate() names bad fields.
#pragma once

#include <cstdint>
#include <string>

namespace megasft::model {

struct ModelConfig {
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;
  int64_t max_position_embeddings = 2048;
  double rope_theta = 500000.0;
  double rms_norm_eps = 1e-5;
  bool tie_word_embeddings = false;
  bool qkv_bias = false;  // Qwen2 has biases on q, k and v
  double init_std = 0.02;
  // Megatron pads the vocabulary to a multiple of this times the TP size so shards are equal.
  int64_t make_vocab_size_divisible_by = 128;

  int64_t head_dim() const { return hidden_size / num_attention_heads; }
  int64_t padded_vocab_size(int tp) const;
  // Every field in range and every size divisible by the TP size; errors name the option and value.
  void validate(int tp) const;
  // Parameters of the full (unsharded) model, counting a tied embedding once.
  int64_t num_parameters() const;
};

}  // namespace megasft::model
