// The planner proper: every (TP, PP, DP, micro-batch, recompute, sequence parallel) layout of a
// model on N nodes, each either evaluated (memory per stage, step time) or rejected with its
// reason.
#pragma once

#include <string>
#include <vector>

#include "megasft/model/model_config.h"
#include "megasft/plan/cluster_spec.h"
#include "megasft/plan/layout.h"
#include "megasft/plan/memory_model.h"
#include "megasft/plan/plan_options.h"
#include "megasft/plan/time_model.h"

namespace megasft::plan {

struct PlanRequest {
  model::ModelConfig model;
  ClusterSpec cluster;
  int nodes = 1;
  PlanOptions options;
  std::vector<int64_t> micro_batches = {1, 2, 4, 8};
  std::vector<int>
      tp_sizes;  // empty: every divisor of the world up to twice a node (to show why not)
  std::vector<int> pp_sizes;  // empty: every divisor of world / TP
  std::vector<bool> recompute = {false, true};
  std::vector<bool> sequence_parallel = {false, true};  // SP is tried only with TP > 1
};

struct EvaluatedLayout {
  Layout layout;
  std::vector<StageMemory> stages;
  int worst_stage = 0;  // the stage with the highest peak
  double peak = 0;      // bytes, on the worst stage
  StepTime time;
};

struct RejectedLayout {
  Layout layout;
  std::string category;       // "TP crosses nodes", "model shape", "layout", "batch", "sequence
                              // parallel", "pipeline", "memory"
  std::string reason;         // the numbers
  EvaluatedLayout evaluated;  // "memory" only: its breakdown (stages empty otherwise)
};

struct PlanResult {
  double usable_bytes = 0;                // per GPU: memory x (1 - headroom)
  std::vector<EvaluatedLayout> feasible;  // fastest first
  std::vector<RejectedLayout> rejected;
};

// Memory and time of one layout (no fitting check).
EvaluatedLayout evaluate_layout(const model::ModelConfig& model, const Layout& layout,
                                const PlanOptions& options, const ClusterSpec& cluster);

PlanResult plan_layouts(const PlanRequest& request);

}  // namespace megasft::plan
