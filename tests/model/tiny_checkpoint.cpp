// Random weights drawn in float64, rounded to the on-disk dtype; the float64 map holds the rounded
// values so the reference computes with exactly what the model loads.
#include "tests/model/tiny_checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "megasft/checkpoint/safetensors_writer.h"

namespace megasft::testing {

TinyModelSpec tiny_llama_spec() {
  TinyModelSpec s;
  s.llama3_rope = true;
  s.tied = true;
  s.sharded = true;
  s.head_dim =
      16;  // 4 heads x 16 = 64 != hidden 32: an explicit head_dim, as Llama configs may have
  s.seed = 11;
  return s;
}

TinyModelSpec tiny_qwen2_spec() {
  TinyModelSpec s;
  s.architecture = "Qwen2ForCausalLM";
  s.vocab_size =
      53;  // the "tokenizer" below has 40 tokens: rows 40..52 are real logits nonetheless
  s.num_kv_heads = 1;
  s.rope_theta = 10000.0;
  s.rms_norm_eps = 1e-6;
  s.dtype = at::kFloat;
  s.seed = 12;
  return s;
}

std::map<std::string, at::Tensor> write_tiny_checkpoint(const std::string& dir,
                                                        const TinyModelSpec& s) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(s.seed);
  const bool qwen = s.architecture == "Qwen2ForCausalLM";
  std::vector<std::pair<std::string, at::Tensor>> stored;  // in the on-disk dtype
  auto add = [&](const std::string& name, std::vector<int64_t> shape, double std, double mean,
                 at::ScalarType dtype) {
    auto values = at::normal(0.0, std, shape, gen, at::TensorOptions().dtype(at::kDouble)) + mean;
    stored.emplace_back(name, values.to(dtype));
  };
  const int64_t h = s.hidden_size, q = s.num_heads * s.head_dim, kv = s.num_kv_heads * s.head_dim;
  add("model.embed_tokens.weight", {s.vocab_size, h}, 0.5, 0, s.dtype);
  for (int64_t i = 0; i < s.num_layers; ++i) {
    const std::string l = "model.layers." + std::to_string(i) + ".";
    add(l + "input_layernorm.weight", {h}, 0.1, 1.0, at::kFloat);
    add(l + "self_attn.q_proj.weight", {q, h}, 0.3, 0, s.dtype);
    add(l + "self_attn.k_proj.weight", {kv, h}, 0.3, 0, s.dtype);
    add(l + "self_attn.v_proj.weight", {kv, h}, 0.3, 0, s.dtype);
    if (qwen) {
      add(l + "self_attn.q_proj.bias", {q}, 0.2, 0, s.dtype);
      add(l + "self_attn.k_proj.bias", {kv}, 0.2, 0, s.dtype);
      add(l + "self_attn.v_proj.bias", {kv}, 0.2, 0, s.dtype);
    }
    add(l + "self_attn.o_proj.weight", {h, q}, 0.2, 0, s.dtype);
    add(l + "post_attention_layernorm.weight", {h}, 0.1, 1.0, at::kFloat);
    add(l + "mlp.gate_proj.weight", {s.intermediate_size, h}, 0.3, 0, s.dtype);
    add(l + "mlp.up_proj.weight", {s.intermediate_size, h}, 0.3, 0, s.dtype);
    add(l + "mlp.down_proj.weight", {h, s.intermediate_size}, 0.2, 0, s.dtype);
  }
  add("model.norm.weight", {h}, 0.1, 1.0, at::kFloat);
  if (!s.tied) add("lm_head.weight", {s.vocab_size, h}, 0.5, 0, s.dtype);

  if (s.sharded) {
    const size_t half = stored.size() / 2;
    const std::vector<std::pair<std::string, at::Tensor>> first(stored.begin(),
                                                                stored.begin() + half),
        second(stored.begin() + half, stored.end());
    const std::string names[2] = {"model-00001-of-00002.safetensors",
                                  "model-00002-of-00002.safetensors"};
    checkpoint::write_safetensors(dir + "/" + names[0], first);
    checkpoint::write_safetensors(dir + "/" + names[1], second);
    nlohmann::json index;
    index["metadata"] = {{"total_size", 0}};
    for (size_t i = 0; i < stored.size(); ++i)
      index["weight_map"][stored[i].first] = names[i < half ? 0 : 1];
    std::ofstream(dir + "/model.safetensors.index.json") << index.dump(2);
  } else {
    checkpoint::write_safetensors(dir + "/model.safetensors", stored);
  }

  nlohmann::json config = {{"architectures", {s.architecture}},
                           {"model_type", qwen ? "qwen2" : "llama"},
                           {"vocab_size", s.vocab_size},
                           {"hidden_size", h},
                           {"intermediate_size", s.intermediate_size},
                           {"num_hidden_layers", s.num_layers},
                           {"num_attention_heads", s.num_heads},
                           {"num_key_value_heads", s.num_kv_heads},
                           {"hidden_act", "silu"},
                           {"max_position_embeddings", s.max_position_embeddings},
                           {"rms_norm_eps", s.rms_norm_eps},
                           {"rope_theta", s.rope_theta},
                           {"tie_word_embeddings", s.tied},
                           {"torch_dtype", s.dtype == at::kBFloat16 ? "bfloat16" : "float32"},
                           {"bos_token_id", 1},
                           {"eos_token_id", 2}};
  if (s.head_dim * s.num_heads != h) config["head_dim"] = s.head_dim;
  config["rope_scaling"] = nullptr;
  if (s.llama3_rope)
    config["rope_scaling"] = {{"rope_type", "llama3"},
                              {"factor", 8.0},
                              {"low_freq_factor", 1.0},
                              {"high_freq_factor", 4.0},
                              {"original_max_position_embeddings", 64}};
  if (qwen)
    config["use_sliding_window"] = false, config["sliding_window"] = 4096,
    config["max_window_layers"] = 2;
  std::ofstream(dir + "/config.json") << config.dump(2);
  std::ofstream(dir + "/generation_config.json") << R"({"bos_token_id": 1, "eos_token_id": 2})";
  std::ofstream(dir + "/tokenizer.json")
      << R"({"version": "1.0", "model": {"type": "BPE", "vocab": {}}})";

  std::map<std::string, at::Tensor> weights;
  for (const auto& [name, t] : stored) weights[name] = t.to(at::kDouble);
  return weights;
}

}  // namespace megasft::testing
