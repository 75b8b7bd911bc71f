// config.json <-> ModelConfig. The defaults are those of transformers' LlamaConfig and Qwen2Config;
// the checks refuse what would otherwise be silently computed differently (biases, activations,
// windows, ...).
#include "megasft/model/hf_config.h"

#include <fstream>

#include "kernels/check.h"

namespace megasft::model {
namespace {

using nlohmann::json;

// Typed access to one field, with the file and field named in every error.
class Fields {
 public:
  Fields(const json& j, std::string path, std::string prefix = "")
      : j_(j), path_(std::move(path)), prefix_(std::move(prefix)) {}

  bool has(const char* name) const { return j_.contains(name) && !j_[name].is_null(); }

  template <typename T>
  T get(const char* name) const {
    MEGASFT_CHECK(has(name), "'", path_, "': field '", prefix_, name, "' is missing");
    return as<T>(j_[name], name);
  }
  template <typename T>
  T get(const char* name, T fallback) const {
    return has(name) ? as<T>(j_[name], name) : fallback;
  }
  const std::string& path() const { return path_; }

 private:
  template <typename T>
  T as(const json& value, const char* name) const {
    try {
      if constexpr (std::is_same_v<T, int64_t>) {
        MEGASFT_CHECK(value.is_number_integer(), "'", path_, "': field '", prefix_, name,
                      "' must be an integer, got ", value.dump());
      } else if constexpr (std::is_same_v<T, double>) {
        MEGASFT_CHECK(value.is_number(), "'", path_, "': field '", prefix_, name,
                      "' must be a number, got ", value.dump());
      } else if constexpr (std::is_same_v<T, bool>) {
        MEGASFT_CHECK(value.is_boolean(), "'", path_, "': field '", prefix_, name,
                      "' must be true or false, got ", value.dump());
      } else {
        MEGASFT_CHECK(value.is_string(), "'", path_, "': field '", prefix_, name,
                      "' must be a string, got ", value.dump());
      }
      return value.get<T>();
    } catch (const json::exception& e) {
      MEGASFT_FAIL("'", path_, "': field '", prefix_, name, "': ", e.what());
    }
  }

  const json& j_;
  std::string path_, prefix_;  // prefix: the enclosing object's name, as in rope_scaling.factor
};

RopeScaling parse_rope_scaling(const json& j, const std::string& path) {
  RopeScaling s;
  if (!j.contains("rope_scaling") || j["rope_scaling"].is_null()) return s;
  MEGASFT_CHECK(j["rope_scaling"].is_object(), "'", path,
                "': field 'rope_scaling' must be an object or null, got ",
                j["rope_scaling"].dump());
  Fields f(j["rope_scaling"], path, "rope_scaling.");
  // transformers reads rope_type, and type as its older spelling.
  const std::string type =
      f.has("rope_type") ? f.get<std::string>("rope_type") : f.get<std::string>("type", "default");
  MEGASFT_CHECK(type == "default" || type == "llama3", "'", path, "': rope_scaling.rope_type '",
                type, "' is not supported (megasft implements default and llama3)");
  s.type = type;
  if (type == "llama3") {
    s.factor = f.get<double>("factor");
    s.low_freq_factor = f.get<double>("low_freq_factor");
    s.high_freq_factor = f.get<double>("high_freq_factor");
    s.original_max_position_embeddings = f.get<int64_t>("original_max_position_embeddings");
  }
  return s;
}

}  // namespace

ModelConfig parse_hf_config(const json& j, const std::string& path) {
  MEGASFT_CHECK(j.is_object(), "'", path, "' is not a JSON object");
  Fields f(j, path);
  ModelConfig c;
  std::string architecture;
  if (f.has("architectures")) {
    const auto& list = j["architectures"];
    MEGASFT_CHECK(list.is_array() && list.size() == 1 && list[0].is_string(), "'", path,
                  "': field 'architectures' must list one architecture, got ", list.dump());
    architecture = list[0].get<std::string>();
  } else {
    const std::string type = f.get<std::string>("model_type");
    architecture = type == "llama"   ? "LlamaForCausalLM"
                   : type == "qwen2" ? "Qwen2ForCausalLM"
                                     : type;
  }
  MEGASFT_CHECK(architecture == "LlamaForCausalLM" || architecture == "Qwen2ForCausalLM", "'", path,
                "': architecture '", architecture,
                "' is not supported (LlamaForCausalLM, Qwen2ForCausalLM)");
  const bool qwen = architecture == "Qwen2ForCausalLM";
  if (f.has("model_type")) {
    const auto type = f.get<std::string>("model_type");
    MEGASFT_CHECK(type == (qwen ? "qwen2" : "llama"), "'", path, "': model_type '", type,
                  "' does not match architectures ", architecture);
  }
  c.architecture = architecture;

  c.vocab_size = f.get<int64_t>("vocab_size");
  c.hidden_size = f.get<int64_t>("hidden_size");
  c.intermediate_size = f.get<int64_t>("intermediate_size");
  c.num_layers = f.get<int64_t>("num_hidden_layers");
  c.num_attention_heads = f.get<int64_t>("num_attention_heads");
  c.num_key_value_heads = f.get<int64_t>("num_key_value_heads", c.num_attention_heads);
  c.attention_head_dim = f.get<int64_t>("head_dim", int64_t{0});
  c.max_position_embeddings =
      f.get<int64_t>("max_position_embeddings", qwen ? int64_t{32768} : int64_t{2048});
  c.rms_norm_eps = f.get<double>("rms_norm_eps", 1e-6);
  c.rope_theta = f.get<double>("rope_theta", 10000.0);
  c.rope_scaling = parse_rope_scaling(j, path);
  c.tie_word_embeddings = f.get<bool>("tie_word_embeddings", false);
  c.init_std = f.get<double>("initializer_range", 0.02);
  c.qkv_bias = qwen;

  const auto act = f.get<std::string>("hidden_act", "silu");
  MEGASFT_CHECK(act == "silu", "'", path, "': hidden_act '", act, "' is not supported (silu)");
  if (!qwen) {
    MEGASFT_CHECK(
        !f.get<bool>("attention_bias", false), "'", path,
        "': attention_bias true (biases on q, k, v and o) is not supported for LlamaForCausalLM");
    MEGASFT_CHECK(!f.get<bool>("mlp_bias", false), "'", path, "': mlp_bias true is not supported");
  } else {
    MEGASFT_CHECK(
        !f.get<bool>("use_sliding_window", false), "'", path,
        "': use_sliding_window true is not supported (megasft attends to the whole sequence)");
    if (f.has("layer_types")) {
      for (const auto& type : j["layer_types"])
        MEGASFT_CHECK(type == "full_attention", "'", path, "': layer_types has ", type.dump(),
                      ": only full_attention is supported");
    }
  }
  MEGASFT_CHECK(!f.has("quantization_config"), "'", path,
                "': quantized checkpoints (quantization_config) are not supported");
  const double rotary_fraction = f.get<double>("partial_rotary_factor", 1.0);
  MEGASFT_CHECK(rotary_fraction == 1.0, "'", path, "': partial_rotary_factor ", rotary_fraction,
                " is not supported (1.0)");
  try {
    c.validate(1);
  } catch (const Error& e) {
    MEGASFT_FAIL("'", path, "': ", e.what());
  }
  return c;
}

ModelConfig read_hf_config(const std::string& path) {
  std::ifstream in(path);
  MEGASFT_CHECK(in.good(), "cannot open Hugging Face config '", path, "'");
  json j;
  try {
    j = json::parse(in);
  } catch (const json::exception& e) {
    MEGASFT_FAIL("'", path, "' is not valid JSON: ", e.what());
  }
  return parse_hf_config(j, path);
}

json hf_config_json(const ModelConfig& c, const std::string& torch_dtype) {
  const bool qwen = c.architecture == "Qwen2ForCausalLM" || (c.architecture.empty() && c.qkv_bias);
  MEGASFT_CHECK(qwen || !c.qkv_bias, "a ", c.architecture,
                " model with qkv_bias has no Hugging Face architecture");
  json j;
  j["architectures"] = {qwen ? "Qwen2ForCausalLM" : "LlamaForCausalLM"};
  j["model_type"] = qwen ? "qwen2" : "llama";
  j["vocab_size"] = c.vocab_size;
  j["hidden_size"] = c.hidden_size;
  j["intermediate_size"] = c.intermediate_size;
  j["num_hidden_layers"] = c.num_layers;
  j["num_attention_heads"] = c.num_attention_heads;
  j["num_key_value_heads"] = c.num_key_value_heads;
  j["head_dim"] = c.head_dim();
  j["hidden_act"] = "silu";
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["rms_norm_eps"] = c.rms_norm_eps;
  j["rope_theta"] = c.rope_theta;
  if (c.rope_scaling.type == "llama3")
    j["rope_scaling"] = {
        {"rope_type", "llama3"},
        {"factor", c.rope_scaling.factor},
        {"low_freq_factor", c.rope_scaling.low_freq_factor},
        {"high_freq_factor", c.rope_scaling.high_freq_factor},
        {"original_max_position_embeddings", c.rope_scaling.original_max_position_embeddings}};
  else
    j["rope_scaling"] = nullptr;
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  j["initializer_range"] = c.init_std;
  if (qwen) {
    j["use_sliding_window"] = false;
  } else {
    j["attention_bias"] = false;
    j["mlp_bias"] = false;
  }
  j["torch_dtype"] = torch_dtype;
  return j;
}

}  // namespace megasft::model
