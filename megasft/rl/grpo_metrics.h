// The numbers of one GRPO step: rollout sums (identical on every rank of a replica) and update sums
// (on the last pipeline stage), reduced over the world into the metrics.jsonl record.
#pragma once

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <vector>

#include "megasft/rl/policy_loss.h"
#include "megasft/rl/rollout_grading.h"
#include "parallel/parallel_state.h"

namespace megasft::rl {

class GrpoStepMetrics {
 public:
  explicit GrpoStepMetrics(bool has_kl);
  // rewards [N]: the graded rollouts' rewards; groups of G consecutive samples share a prompt.
  void add_rollouts(const std::vector<GradedRollout>& graded, const at::Tensor& rewards, int64_t group_size);
  // One micro-batch's tokens: the surrogate terms, [B, L] mask, entropy, KL (undefined without a
  // reference model) and its share of the mini-batch loss.
  void add_update(const SurrogateTerms& terms, const at::Tensor& mask, const at::Tensor& entropy, const at::Tensor& kl,
                  const at::Tensor& weighted_loss);
  // Collective over the world: sums over replicas (rollouts) and over replicas and stages (updates).
  // Fields: reward_mean, accuracy, all_correct_fraction, all_wrong_fraction, response_length,
  // stopped_fraction, response_tokens, clip_fraction, dual_clip_fraction, entropy, kl (null without a
  // reference), policy_loss (summed over the step's mini-batches, divided by their number).
  nlohmann::json reduce(const parallel::ParallelState& state) const;
  void set_mini_batches(int64_t count) { mini_batches_ = count; }

 private:
  at::Tensor rollout_;  // [kRolloutSums] float64
  at::Tensor update_;   // [kUpdateSums] float64
  int64_t mini_batches_ = 1;
  bool has_kl_;
};

// "[step 3/10] reward -0.412 | acc 0.294 | all-correct 0.06 all-wrong 0.50 | clip 0.012 | entropy 0.81 |
//  len 87 | gnorm 0.31 | rollout 1,200 tok/s train 4,100 tok/s | ETA 1m05s"
std::string format_grpo_progress_line(const nlohmann::json& record, int64_t max_steps, double eta_s);

}  // namespace megasft::rl
