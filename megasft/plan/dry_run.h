// `megasft plan --dry-run TP,PP,DP`: builds each pipeline stage of one rank's shard of the real
// model (model::LlamaModel) on the meta device, where tensors have shapes but no storage, and
// counts it.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include "megasft/model/model_config.h"
#include "megasft/model/pipeline_stage.h"
#include "megasft/plan/layout.h"
#include "megasft/plan/parameter_count.h"

namespace megasft::plan {

struct DryRunStage {
  int stage = 0;
  model::PipelineStage range;
  std::vector<ShardParameter> parameters;  // name and element count, in the model's order
  int64_t elements = 0;
  int64_t bytes = 0;  // in the parameters' dtype, as the trainer converts them (--params-dtype)
};

// One entry per stage, for TP rank `tp_rank` (every TP rank holds the same count; a test checks
// all). The layout's DP size does not change a rank's shard (ZeRO-1 shards only the optimizer's
// state).
std::vector<DryRunStage> dry_run(const model::ModelConfig& config, const Layout& layout,
                                 at::ScalarType params_dtype, int tp_rank = 0);

// "2,4,8" -> TP 2, PP 4, DP 8, the layers split as the planner splits them. Errors name the text.
Layout parse_layout(const std::string& text, int64_t num_layers);

}  // namespace megasft::plan
