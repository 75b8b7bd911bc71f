// ModelConfig from a Hugging Face config.json (LlamaForCausalLM, Qwen2ForCausalLM) and back.
// Anything that would change the architecture's math and that megasft does not implement is an
// error naming the field.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "megasft/model/model_config.h"

namespace megasft::model {

// Reads `path` (a config.json). Fields missing from the file take transformers' defaults for the
// architecture; the shape fields (vocab_size, hidden_size, intermediate_size, num_hidden_layers,
// num_attention_heads) are required. Errors name the file, the field and the value.
ModelConfig read_hf_config(const std::string& path);
ModelConfig parse_hf_config(const nlohmann::json& config, const std::string& path);

// A config.json that transformers loads as the same architecture. torch_dtype: "bfloat16",
// "float32", ...
nlohmann::json hf_config_json(const ModelConfig& config, const std::string& torch_dtype);

}  // namespace megasft::model
