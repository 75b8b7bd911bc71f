// config.json parsing: the fields of Llama 3.x and Qwen2.5 configs, transformers' defaults, and a
// clear error (file, field, value) for everything megasft does not implement. Also the relaxed
// TP/KV-head rule.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "kernels/check.h"
#include "megasft/model/hf_config.h"

namespace megasft::model {
namespace {

using nlohmann::json;

// Llama-3.2-3B-Instruct's config.json, shortened to the fields that matter.
json llama32_3b() {
  return json::parse(R"({
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "attention_bias": false, "mlp_bias": false,
    "hidden_act": "silu", "hidden_size": 3072, "intermediate_size": 8192, "num_hidden_layers": 28,
    "num_attention_heads": 24, "num_key_value_heads": 8, "head_dim": 128, "max_position_embeddings": 131072,
    "rms_norm_eps": 1e-05, "rope_theta": 500000.0, "tie_word_embeddings": true, "vocab_size": 128256,
    "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                     "original_max_position_embeddings": 8192, "rope_type": "llama3"},
    "torch_dtype": "bfloat16", "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009]})");
}

// Qwen2.5-Math-7B-Instruct's config.json, shortened.
json qwen25_math_7b() {
  return json::parse(R"({
    "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_act": "silu", "hidden_size": 3584,
    "intermediate_size": 18944, "num_hidden_layers": 28, "num_attention_heads": 28, "num_key_value_heads": 4,
    "max_position_embeddings": 4096, "max_window_layers": 28, "rms_norm_eps": 1e-06, "rope_theta": 10000.0,
    "sliding_window": 4096, "use_sliding_window": false, "tie_word_embeddings": false, "vocab_size": 152064,
    "rope_scaling": null, "torch_dtype": "bfloat16"})");
}

std::string error_of(const json& j) {
  try {
    parse_hf_config(j, "/models/x/config.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

void expect_error(const json& j, const std::vector<std::string>& parts) {
  const auto message = error_of(j);
  ASSERT_FALSE(message.empty()) << "accepted: " << j.dump();
  EXPECT_NE(message.find("/models/x/config.json"), std::string::npos) << message;
  for (const auto& part : parts) EXPECT_NE(message.find(part), std::string::npos) << message;
}

TEST(HfConfig, Llama32) {
  auto c = parse_hf_config(llama32_3b(), "config.json");
  EXPECT_EQ(c.architecture, "LlamaForCausalLM");
  EXPECT_EQ(c.hidden_size, 3072);
  EXPECT_EQ(c.num_layers, 28);
  EXPECT_EQ(c.num_key_value_heads, 8);
  EXPECT_EQ(c.head_dim(), 128);
  EXPECT_EQ(c.vocab_size, 128256);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_FALSE(c.qkv_bias);
  EXPECT_EQ(c.rope_scaling.type, "llama3");
  EXPECT_EQ(c.rope_scaling.factor, 32.0);
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 8192);
  EXPECT_EQ(c.rope_theta, 500000.0);
  EXPECT_EQ(c.rms_norm_eps, 1e-5);
  EXPECT_EQ(c.padded_vocab_size(8), 128256 + 768);  // a multiple of 128 x 8
  EXPECT_EQ(c.num_parameters(), 3212749824);        // Llama-3.2-3B's 3.21 B (tied)
}

TEST(HfConfig, Qwen25Math7B) {
  auto c = parse_hf_config(qwen25_math_7b(), "config.json");
  EXPECT_EQ(c.architecture, "Qwen2ForCausalLM");
  EXPECT_TRUE(c.qkv_bias);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_EQ(c.rope_scaling.type, "default");
  EXPECT_EQ(c.head_dim(), 128);
  EXPECT_EQ(c.vocab_size, 152064);
  EXPECT_EQ(c.num_parameters(), 7615616512);  // Qwen2.5-7B's 7.62 B
  c.validate(4);                              // 7 query heads and one KV head per rank
}

TEST(HfConfig, DefaultsFollowTransformers) {
  auto j = qwen25_math_7b();
  for (const char* key :
       {"num_key_value_heads", "rms_norm_eps", "rope_theta", "tie_word_embeddings", "hidden_act",
        "max_position_embeddings", "use_sliding_window", "rope_scaling"})
    j.erase(key);
  auto c = parse_hf_config(j, "config.json");
  EXPECT_EQ(c.num_key_value_heads, 28);
  EXPECT_EQ(c.rms_norm_eps, 1e-6);
  EXPECT_EQ(c.rope_theta, 10000.0);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_EQ(c.max_position_embeddings, 32768);
}

TEST(HfConfig, UnsupportedFieldsAreNamed) {
  auto j = llama32_3b();
  j["architectures"] = {"MistralForCausalLM"};
  expect_error(j, {"architecture 'MistralForCausalLM'"});
  j = llama32_3b();
  j["rope_scaling"]["rope_type"] = "yarn";
  expect_error(j, {"rope_scaling.rope_type 'yarn'"});
  j = llama32_3b();
  j["rope_scaling"].erase("factor");
  expect_error(j, {"rope_scaling.factor", "missing"});
  j = llama32_3b();
  j["hidden_act"] = "gelu";
  expect_error(j, {"hidden_act 'gelu'"});
  j = llama32_3b();
  j["attention_bias"] = true;
  expect_error(j, {"attention_bias"});
  j = llama32_3b();
  j["mlp_bias"] = true;
  expect_error(j, {"mlp_bias"});
  j = llama32_3b();
  j.erase("hidden_size");
  expect_error(j, {"'hidden_size' is missing"});
  j = llama32_3b();
  j["num_attention_heads"] = "24";
  expect_error(j, {"'num_attention_heads' must be an integer"});
  j = llama32_3b();
  j["model_type"] = "qwen2";
  expect_error(j, {"model_type 'qwen2'"});
  j = qwen25_math_7b();
  j["use_sliding_window"] = true;
  expect_error(j, {"use_sliding_window"});
  j = qwen25_math_7b();
  j["quantization_config"] = {{"quant_method", "gptq"}};
  expect_error(j, {"quantization_config"});
}

TEST(HfConfig, TensorParallelKvHeadRule) {
  auto c = parse_hf_config(qwen25_math_7b(), "config.json");  // 28 query heads, 4 KV heads
  c.validate(4);
  c.validate(2);
  c.num_attention_heads = 24;
  c.attention_head_dim = 128;
  c.num_key_value_heads = 6;
  c.validate(2);
  c.num_key_value_heads = 2;
  c.validate(4);  // each KV head shared by two ranks
  c.num_key_value_heads = 6;
  try {
    c.validate(4);  // 4 neither divides 6 nor is a multiple of it
    FAIL() << "tp 4 with 6 KV heads accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("num-key-value-heads 6"), std::string::npos) << e.what();
  }
}

TEST(HfConfig, WrittenConfigReadsBackTheSame) {
  for (const auto& j : {llama32_3b(), qwen25_math_7b()}) {
    auto c = parse_hf_config(j, "config.json");
    auto back = parse_hf_config(hf_config_json(c, "bfloat16"), "written config.json");
    EXPECT_EQ(back.architecture, c.architecture);
    EXPECT_EQ(back.num_parameters(), c.num_parameters());
    EXPECT_EQ(back.head_dim(), c.head_dim());
    EXPECT_EQ(back.rope_scaling.type, c.rope_scaling.type);
    EXPECT_EQ(back.rope_scaling.factor, c.rope_scaling.factor);
    EXPECT_EQ(back.rope_theta, c.rope_theta);
    EXPECT_EQ(back.rms_norm_eps, c.rms_norm_eps);
    EXPECT_EQ(back.tie_word_embeddings, c.tie_word_embeddings);
    EXPECT_EQ(back.max_position_embeddings, c.max_position_embeddings);
  }
}

}  // namespace
}  // namespace megasft::model
