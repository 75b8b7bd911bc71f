// Where a model for generation or RL comes from: a Hugging Face folder (config.json + safetensors) or
// a megasft training checkpoint (a root or one iter_N), its config and tokenizer found either way.
#pragma once

#include <memory>
#include <string>

#include "megasft/model/llama_model.h"
#include "parallel/parallel_state.h"

namespace megasft::checkpoint {

struct ModelSource {
  std::string path;
  bool is_checkpoint = false;  // a megasft checkpoint, else a Hugging Face folder
  model::ModelConfig config;
  // The folder holding tokenizer.json: the HF folder itself, or the HF folder a checkpoint's run
  // started from (--model-dir), or the tokenizer a GRPO run recorded ("char" for the demo's); empty
  // when there is none.
  std::string tokenizer_dir;
};

// Throws naming the path when it is neither (no config.json, no metadata.json / latest), or when a
// checkpoint records no model config.
ModelSource resolve_model_source(const std::string& path);

// The tokenizer a command uses: `given` (--tokenizer: a folder or "char") when set, else the source's
// tokenizer_dir. Neither is an error naming the model: guessing the demo's characters for a real model
// would decode nonsense.
std::string resolve_tokenizer(const std::string& given, const ModelSource& source);

// Collective over the world when the source is a checkpoint (its loader checks all ranks agree).
// Loads weights only; no optimizer state is read.
void load_model_weights(model::LlamaModel& model, const ModelSource& source, const parallel::ParallelState& state);

// This rank's pipeline stage of the source's model (an even split over the layout's stages), its weights
// loaded as above and its parameters cast to `params_dtype` ("fp32" or "bf16"). Collective like the load.
std::unique_ptr<model::LlamaModel> load_model(const ModelSource& source, const parallel::ParallelState& state,
                                              const std::string& params_dtype);

}  // namespace megasft::checkpoint
