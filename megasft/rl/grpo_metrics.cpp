#include "megasft/rl/grpo_metrics.h"

#include <cstdio>

#include "megasft/train/metrics_logger.h"

namespace megasft::rl {
namespace {

enum RolloutSum { kReward, kCorrect, kSamples, kResponseTokens, kStopped, kGroups, kAllCorrect, kAllWrong, kRolloutSums };
enum UpdateSum { kClipped, kDualClipped, kEntropy, kKl, kTokens, kPolicyLoss, kUpdateSums };

}  // namespace

GrpoStepMetrics::GrpoStepMetrics(bool has_kl)
    : rollout_(at::zeros({kRolloutSums}, at::kDouble)), update_(at::zeros({kUpdateSums}, at::kDouble)), has_kl_(has_kl) {}

void GrpoStepMetrics::add_rollouts(const std::vector<GradedRollout>& graded, const at::Tensor& rewards,
                                   int64_t group_size) {
  auto r = rollout_.accessor<double, 1>();
  for (const auto& g : graded) {
    r[kCorrect] += g.grade.correct ? 1 : 0;
    r[kSamples] += 1;
    r[kResponseTokens] += static_cast<double>(g.rollout.response.size());
    r[kStopped] += g.rollout.stopped ? 1 : 0;
  }
  r[kReward] += rewards.sum().item<double>();
  for (size_t start = 0; start + static_cast<size_t>(group_size) <= graded.size(); start += static_cast<size_t>(group_size)) {
    int64_t correct = 0;
    for (int64_t g = 0; g < group_size; ++g) correct += graded[start + static_cast<size_t>(g)].grade.correct ? 1 : 0;
    r[kGroups] += 1;
    r[kAllCorrect] += correct == group_size ? 1 : 0;
    r[kAllWrong] += correct == 0 ? 1 : 0;
  }
}

void GrpoStepMetrics::add_update(const SurrogateTerms& terms, const at::Tensor& mask, const at::Tensor& entropy,
                                 const at::Tensor& kl, const at::Tensor& weighted_loss) {
  auto sums = at::stack({(terms.clipped.to(at::kDouble) * mask).sum(), (terms.dual_clipped.to(at::kDouble) * mask).sum(),
                         (entropy * mask).sum(), kl.defined() ? (kl * mask).sum() : at::zeros({}, at::kDouble),
                         mask.sum(), weighted_loss.to(at::kDouble)});
  update_ += sums;
}

nlohmann::json GrpoStepMetrics::reduce(const parallel::ParallelState& state) const {
  auto rollout = rollout_.clone(), update = update_.clone();
  state.data()->all_reduce(rollout, parallel::ReduceOp::kSum);
  state.data()->all_reduce(update, parallel::ReduceOp::kSum);
  state.pipeline()->all_reduce(update, parallel::ReduceOp::kSum);  // only the last stage has them
  auto r = rollout.accessor<double, 1>();
  auto u = update.accessor<double, 1>();
  auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
  nlohmann::json record;
  record["reward_mean"] = ratio(r[kReward], r[kSamples]);
  record["accuracy"] = ratio(r[kCorrect], r[kSamples]);
  record["all_correct_fraction"] = ratio(r[kAllCorrect], r[kGroups]);
  record["all_wrong_fraction"] = ratio(r[kAllWrong], r[kGroups]);
  record["response_length"] = ratio(r[kResponseTokens], r[kSamples]);
  record["stopped_fraction"] = ratio(r[kStopped], r[kSamples]);
  record["response_tokens"] = r[kResponseTokens];
  record["clip_fraction"] = ratio(u[kClipped], u[kTokens]);
  record["dual_clip_fraction"] = ratio(u[kDualClipped], u[kTokens]);
  record["entropy"] = ratio(u[kEntropy], u[kTokens]);
  record["kl"] = has_kl_ ? nlohmann::json(ratio(u[kKl], u[kTokens])) : nlohmann::json(nullptr);
  record["policy_loss"] = u[kPolicyLoss] / static_cast<double>(mini_batches_);
  return record;
}

std::string format_grpo_progress_line(const nlohmann::json& r, int64_t max_steps, double eta_s) {
  char buffer[400];
  std::snprintf(buffer, sizeof buffer,
                "[step %ld/%ld] reward %.3f | acc %.3f | all-correct %.2f all-wrong %.2f | clip %.3f | entropy %.3f | "
                "len %.0f | gnorm %.3f | rollout %.0f tok/s train %.0f tok/s | ETA %s",
                r["step"].get<int64_t>(), max_steps, r["reward_mean"].get<double>(), r["accuracy"].get<double>(),
                r["all_correct_fraction"].get<double>(), r["all_wrong_fraction"].get<double>(),
                r["clip_fraction"].get<double>(), r["entropy"].get<double>(), r["response_length"].get<double>(),
                r["grad_norm"].get<double>(), r["rollout_tokens_per_s"].get<double>(),
                r["train_tokens_per_s"].get<double>(), train::format_duration(eta_s).c_str());
  return buffer;
}

}  // namespace megasft::rl
