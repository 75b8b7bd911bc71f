// The model `megasft plan` plans for: a Hugging Face config.json, or a config file with a [model]
// section (configs/models/*.cfg, or a whole recipe such as configs/demo/sed-sft-tiny.cfg).
#pragma once

#include <string>

#include "megasft/model/model_config.h"

namespace megasft::plan {

// A path ending in .json is read as config.json (model/hf_config.h); anything else as a config file
// under `megasft train`'s own rules, so the two cannot disagree about a key. Errors name the file.
model::ModelConfig read_model_source(const std::string& path);

}  // namespace megasft::plan
