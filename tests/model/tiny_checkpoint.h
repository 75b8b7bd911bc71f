// Test helpers: tiny random Hugging Face checkpoints (config.json + safetensors written by
// megasft's writer) and the float64 values they hold, for comparing megasft's forward with
// tiny_reference.h.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <map>
#include <string>

namespace megasft::testing {

struct TinyModelSpec {
  std::string architecture = "LlamaForCausalLM";  // or Qwen2ForCausalLM (q/k/v biases)
  int64_t vocab_size = 45;
  int64_t hidden_size = 32;
  int64_t intermediate_size = 48;
  int64_t num_layers = 2;
  int64_t num_heads = 4;
  int64_t num_kv_heads = 2;
  int64_t head_dim = 8;  // written to config.json as head_dim (hidden / heads when equal)
  double rope_theta = 500000.0;
  bool llama3_rope = false;  // rope_scaling {rope_type llama3, factor 8, 1, 4, original 64}
  bool tied = false;
  double rms_norm_eps = 1e-5;
  int64_t max_position_embeddings = 128;
  at::ScalarType dtype = at::kBFloat16;  // on disk (norms are always float32, to mix dtypes)
  bool sharded = false;                  // two files and model.safetensors.index.json
  uint64_t seed = 1;
};

// Like Llama-3.2-3B: llama3 rope scaling, tied embeddings, GQA, bf16, sharded.
TinyModelSpec tiny_llama_spec();
// Like Qwen2.5: q/k/v biases, untied head, one KV head (so TP = 2 replicates it), fp32.
TinyModelSpec tiny_qwen2_spec();

// Writes `dir`/config.json, the safetensors file(s), a generation_config.json and a tokenizer.json
// stand-in; returns every tensor as float64, exactly the values stored.
std::map<std::string, at::Tensor> write_tiny_checkpoint(const std::string& dir,
                                                        const TinyModelSpec& spec);

}  // namespace megasft::testing
