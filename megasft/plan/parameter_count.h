// The planner's own count of one rank's parameters, from the model shape alone: the same list, in
// the same order, as LlamaModel builds (a test checks it against a dry run of the real model).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "megasft/model/model_config.h"
#include "megasft/model/pipeline_stage.h"

namespace megasft::plan {

struct ShardParameter {
  std::string name;
  int64_t numel = 0;  // elements on one TP rank
};

// TP rank's parameters of `stage` (every TP rank holds the same number): embedding on the first
// stage, and on the last when tied; the decoder layers; final norm and LM head (unless tied) on the
// last.
std::vector<ShardParameter> stage_parameters(const model::ModelConfig& config, int tp,
                                             const model::PipelineStage& stage);
int64_t total_numel(const std::vector<ShardParameter>& parameters);
// Rows of the embedding (and LM head) shard on one TP rank: the padded vocabulary divides exactly.
int64_t vocab_rows_per_rank(const model::ModelConfig& config, int tp);

// The distributed optimizer's flat fp32 layout over these parameters
// (optim/distributed_optimizer.cpp): buckets of bucket_mb, each padded to a multiple of DP; each DP
// rank owns 1/DP of every bucket.
struct OptimizerShard {
  int64_t flat_elements = 0;   // main-gradient buffer, padding included
  int64_t owned_elements = 0;  // fp32 master weights, Adam moments and masks on each DP rank
  int64_t largest_bucket = 0;  // elements
};
OptimizerShard distributed_optimizer_shard(const std::vector<ShardParameter>& parameters, int dp,
                                           double bucket_mb);

}  // namespace megasft::plan
