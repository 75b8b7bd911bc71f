// The shape of a Llama-architecture decoder (Llama 3.x, and Qwen2 with qkv_bias), independent of layout.
// Filled from a config file's [model] section or a Hugging Face config.json (hf_config.h); validate() names bad fields.
#pragma once

#include <cstdint>
#include <string>

namespace megasft::model {

// Hugging Face's rope_scaling. Only "llama3" changes the frequencies (_compute_llama3_parameters).
struct RopeScaling {
  std::string type = "default";  // default | llama3
  double factor = 8.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position_embeddings = 8192;
};

struct ModelConfig {
  // Hugging Face's name for the architecture: LlamaForCausalLM or Qwen2ForCausalLM ("" from a [model] section,
  // which exports as Qwen2 when qkv_bias is set and as Llama otherwise).
  std::string architecture;
  int64_t vocab_size = 0;  // rows of the checkpoint's embedding: real logits, even past the tokenizer's tokens
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;
  int64_t attention_head_dim = 0;  // config.json's head_dim; 0 = hidden_size / num_attention_heads
  int64_t max_position_embeddings = 2048;
  double rope_theta = 500000.0;
  RopeScaling rope_scaling;
  double rms_norm_eps = 1e-5;
  bool tie_word_embeddings = false;
  bool qkv_bias = false;  // Qwen2 has biases on q, k and v
  double init_std = 0.02;
  // Megatron pads the vocabulary to a multiple of this times the TP size so shards are equal.
  int64_t make_vocab_size_divisible_by = 128;

  int64_t head_dim() const {
    return attention_head_dim > 0 ? attention_head_dim : hidden_size / num_attention_heads;
  }
  int64_t padded_vocab_size(int tp) const;
  // Fewer KV heads than TP ranks: each rank computes with the one KV head its query heads use, the
  // head's weights stay sharded over the ranks that share it (see Attention in llama_layers.h).
  bool replicates_kv_heads(int tp) const { return tp > num_key_value_heads; }
  // Every field in range and every size divisible by the TP size; errors name the option and value.
  void validate(int tp) const;
  // Parameters of the full (unsharded) model, counting a tied embedding once.
  int64_t num_parameters() const;
};

}  // namespace megasft::model
