// Export of a (tensor- and pipeline-parallel) LlamaModel to a Hugging Face folder that transformers
// loads: HF tensor names and shapes, vocabulary padding removed, lm_head left out when tied,
// config.json beside.
#pragma once

#include <ATen/ATen.h>

#include <string>

#include "megasft/checkpoint/hf_checkpoint.h"
#include "megasft/model/llama_model.h"
#include "parallel/communicator.h"

namespace megasft::checkpoint {

struct HfExportOptions {
  std::string dir;                       // created if missing
  at::ScalarType dtype = at::kBFloat16;  // of every tensor written...
  const HfCheckpoint* dtypes_from =
      nullptr;  // ...unless given: each tensor keeps its dtype there (convert)
  // config.json (with torch_dtype updated), generation_config.json and tokenizer files are copied
  // from here when set; otherwise config.json is written from the model's config.
  std::string source_dir;
};

// Collective over the model's TP group and `pipeline` (the stages of this data-parallel replica):
// call it on one replica only. Each stage writes one file (model.safetensors, or
// model-0000s-of-0000P.safetensors and model.safetensors.index.json); TP shards are assembled
// exactly (bit for bit) before writing.
void export_hf(const model::LlamaModel& model, const parallel::CommunicatorPtr& pipeline,
               const HfExportOptions& options);

// "bf16" | "fp16" | "fp32" -> dtype; anything else is an error naming `option` and the value.
at::ScalarType parse_export_dtype(const std::string& name, const std::string& option);
std::string torch_dtype_name(at::ScalarType type);  // transformers' spelling: "bfloat16", ...

}  // namespace megasft::checkpoint
