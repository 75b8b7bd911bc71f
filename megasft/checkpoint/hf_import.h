// Loading a Hugging Face checkpoint into a LlamaModel: each tensor-parallel rank reads only the
// rows or columns of each tensor that its shard holds, converting bf16/fp16/fp32 on disk to the
// parameters' dtype.
#pragma once

#include <cstdint>
#include <string>

#include "megasft/checkpoint/hf_checkpoint.h"
#include "megasft/model/llama_model.h"

namespace megasft::checkpoint {

// Every parameter of this rank's stage from `checkpoint`, whose config.json the model was built
// from. Shapes must match config.json; tensors the architecture does not have are an error naming
// them (transformers' old rotary_emb.inv_freq buffers, and lm_head.weight next to tied embeddings,
// are skipped). Vocabulary padding rows are set to zero.
void load_hf_weights(const model::LlamaModel& model, const HfCheckpoint& checkpoint);

// The run's starting weights: seeded initialisation when `model_dir` is empty, else the checkpoint
// there.
void load_initial_weights(model::LlamaModel& model, const std::string& model_dir, uint64_t seed);

}  // namespace megasft::checkpoint
