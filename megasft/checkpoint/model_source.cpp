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
  const std::string start = progress.options.is_object() ? progress.options.value("model_dir", "") : "";
  if (!start.empty() && fs::exists(fs::path(start) / "tokenizer.json")) source.tokenizer_dir = start;
  return source;
}

void load_model_weights(model::LlamaModel& model, const ModelSource& source, const parallel::ParallelState& state) {
  if (source.is_checkpoint)
    DistributedCheckpointer(state, 1).load_weights(source.path, model.parameters());
  else
    load_hf_weights(model, HfCheckpoint(source.path));
}

}  // namespace megasft::checkpoint
