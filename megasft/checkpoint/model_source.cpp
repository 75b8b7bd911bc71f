// A folder with config.json is a Hugging Face model; one with metadata.json or `latest` is a megasft
// checkpoint, whose metadata records the model as a config.json and the folder the run started from.
#include "megasft/checkpoint/model_source.h"

#include <filesystem>

#include "kernels/check.h"
#include "megasft/checkpoint/distributed_checkpoint.h"
#include "megasft/checkpoint/hf_import.h"
#include "megasft/model/hf_config.h"

namespace megasft::checkpoint {
namespace fs = std::filesystem;

ModelSource resolve_model_source(const std::string& path) {
  ModelSource source;
  source.path = path;
  if (fs::exists(fs::path(path) / "config.json")) {
    source.config = model::read_hf_config((fs::path(path) / "config.json").string());
    if (fs::exists(fs::path(path) / "tokenizer.json")) source.tokenizer_dir = path;
    return source;
  }
  MEGASFT_CHECK(fs::exists(fs::path(path) / "metadata.json") || fs::exists(fs::path(path) / "latest"), "--model '",
                path, "' is neither a Hugging Face folder (config.json) nor a megasft checkpoint (metadata.json or latest)");
  const auto progress = read_checkpoint_metadata(path);
  MEGASFT_CHECK(progress.model_config.is_object(), "checkpoint '", path,
                "' records no model_config (saved by an older megasft): cannot rebuild its model");
  source.is_checkpoint = true;
  source.config = model::parse_hf_config(progress.model_config, path + "/metadata.json");
  // SFT runs record the folder they started from as model_dir; GRPO runs the tokenizer they used.
  for (const char* key : {"tokenizer", "model_dir", "model"}) {
    // (SFT's options also hold "model" as the [model] section, an object: only strings name folders.)
    const auto* value = progress.options.is_object() && progress.options.contains(key) ? &progress.options[key] : nullptr;
    const std::string dir = value && value->is_string() ? value->get<std::string>() : "";
    if (dir == "char" || (!dir.empty() && fs::exists(fs::path(dir) / "tokenizer.json"))) {
      source.tokenizer_dir = dir;
      break;
    }
  }
  return source;
}

std::string resolve_tokenizer(const std::string& given, const ModelSource& source) {
  if (!given.empty()) return given;
  MEGASFT_CHECK(!source.tokenizer_dir.empty(), "--model '", source.path, "': no tokenizer.json found (",
                source.is_checkpoint ? "the checkpoint's run recorded no folder with one" : "none in the folder",
                "); pass --tokenizer DIR, or --tokenizer char for a demo model");
  return source.tokenizer_dir;
}

void load_model_weights(model::LlamaModel& model, const ModelSource& source, const parallel::ParallelState& state) {
  if (source.is_checkpoint)
    DistributedCheckpointer(state, 1).load_weights(source.path, model.parameters());
  else
    load_hf_weights(model, HfCheckpoint(source.path));
}

std::unique_ptr<model::LlamaModel> load_model(const ModelSource& source, const parallel::ParallelState& state,
                                              const std::string& params_dtype) {
  MEGASFT_CHECK(params_dtype == "fp32" || params_dtype == "bf16", "--params-dtype '", params_dtype,
                "' is not fp32 or bf16");
  const auto stage = model::PipelineStage::split(source.config.num_layers, state.pp_rank(), state.layout().pp);
  auto m = std::make_unique<model::LlamaModel>(source.config, state.tensor(), stage);
  load_model_weights(*m, source, state);
  if (params_dtype == "bf16")
    for (const auto& p : m->parameters()) p.value.set_data(p.value.detach().to(at::kBFloat16));
  return m;
}

}  // namespace megasft::checkpoint
