// The GRPO loop: rollouts on the policy's own shards, rewards from the math grader, group-normalised
// advantages, old log-probs recomputed by the actor, then clipped-surrogate updates per mini-batch.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "megasft/rl/grpo_options.h"
#include "megasft/rl/paired_accuracy.h"
#include "parallel/parallel_state.h"

namespace megasft::rl {

struct GrpoSummary {
  int64_t first_step = 0;
  int64_t steps = 0;
  double first_reward = 0, last_reward = 0;
  double eval_before = -1, eval_after = -1;  // held-out greedy accuracy; -1 when not measured
  std::optional<PairedAccuracy> eval_change;  // after vs before, problem by problem, when both are known
  double elapsed_s = 0;
  std::string metrics_path;
};

GrpoSummary run_grpo(const GrpoOptions& options, const std::shared_ptr<parallel::ParallelState>& state);

}  // namespace megasft::rl
