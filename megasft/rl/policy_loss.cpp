// The formulas follow verl's core_algos (GRPO outcome advantages, dual-clip PPO, kl_penalty) and the
// DAPO paper's clip-higher; every case is checked against hand-computed values in tests/rl.
#include "megasft/rl/policy_loss.h"

#include "kernels/check.h"

namespace megasft::rl {

at::Tensor group_advantages(const at::Tensor& rewards, int64_t group_size, bool normalize_std, double eps) {
  MEGASFT_CHECK(group_size >= 1 && rewards.dim() == 1 && rewards.size(0) % group_size == 0, "advantages: ",
                rewards.size(0), " rewards do not split into groups of ", group_size);
  auto r = rewards.to(at::kDouble).reshape({-1, group_size});
  if (group_size == 1) return r.flatten().clone();  // mean 0, std 1
  auto mean = r.mean(1, /*keepdim=*/true);
  auto centred = r - mean;
  if (!normalize_std) return centred.flatten();
  auto std = r.std(1, /*unbiased=*/true, /*keepdim=*/true);
  return (centred / (std + eps)).flatten();
}

SurrogateTerms clipped_surrogate(const at::Tensor& logprobs, const at::Tensor& old_logprobs,
                                 const at::Tensor& advantages, const ClipOptions& options) {
  MEGASFT_CHECK(options.clip_low >= 0 && options.clip_low < 1 && options.clip_high >= 0,
                "--clip-low must be in [0, 1) and --clip-high >= 0, got ", options.clip_low, " and ", options.clip_high);
  SurrogateTerms t;
  t.ratio = at::exp(at::clamp(logprobs - old_logprobs, -20.0, 20.0));
  auto unclipped = -advantages * t.ratio;
  auto clipped = -advantages * at::clamp(t.ratio, 1.0 - options.clip_low, 1.0 + options.clip_high);
  auto loss = at::maximum(unclipped, clipped);
  t.clipped = clipped.gt(unclipped);
  t.dual_clipped = at::zeros_like(t.clipped);
  if (options.clip_c > 1.0) {
    auto bound = -advantages * options.clip_c;  // positive where A < 0
    t.dual_clipped = advantages.lt(0).logical_and(loss.gt(bound));
    loss = at::where(advantages.lt(0), at::minimum(loss, bound), loss);
  }
  t.loss = loss;
  return t;
}

KlEstimator parse_kl_estimator(std::string_view name) {
  if (name == "k1") return KlEstimator::kK1;
  if (name == "k2") return KlEstimator::kK2;
  if (name == "k3") return KlEstimator::kK3;
  MEGASFT_FAIL("--kl-estimator '", name, "' is not one of k1, k2, k3");
}

at::Tensor kl_estimate(const at::Tensor& logprobs, const at::Tensor& ref_logprobs, KlEstimator estimator) {
  auto log_ratio = logprobs - ref_logprobs;  // log pi / ref
  switch (estimator) {
    case KlEstimator::kK1: return log_ratio;
    case KlEstimator::kK2: return 0.5 * log_ratio.square();
    case KlEstimator::kK3: {
      auto neg = -log_ratio;  // log ref / pi
      return at::clamp(at::exp(neg) - neg - 1.0, -10.0, 10.0);
    }
  }
  MEGASFT_FAIL("unknown KL estimator");
}

LossAggregation parse_loss_aggregation(std::string_view name) {
  if (name == "token-mean") return LossAggregation::kTokenMean;
  if (name == "seq-mean-token-mean") return LossAggregation::kSeqMeanTokenMean;
  if (name == "seq-mean-token-sum") return LossAggregation::kSeqMeanTokenSum;
  MEGASFT_FAIL("--loss-agg '", name, "' is not one of token-mean, seq-mean-token-mean, seq-mean-token-sum");
}

const char* loss_aggregation_name(LossAggregation aggregation) {
  switch (aggregation) {
    case LossAggregation::kTokenMean: return "token-mean";
    case LossAggregation::kSeqMeanTokenMean: return "seq-mean-token-mean";
    case LossAggregation::kSeqMeanTokenSum: return "seq-mean-token-sum";
  }
  return "?";
}

at::Tensor aggregation_weights(const at::Tensor& mask, LossAggregation aggregation, double total_tokens,
                               double total_sequences) {
  MEGASFT_CHECK(mask.dim() == 2, "aggregation weights need a [batch, seq] mask, got ", mask.sizes());
  auto m = mask.to(at::kDouble);
  switch (aggregation) {
    case LossAggregation::kTokenMean:
      MEGASFT_CHECK(total_tokens > 0, "token-mean over a mini-batch without response tokens");
      return m / total_tokens;
    case LossAggregation::kSeqMeanTokenMean: {
      MEGASFT_CHECK(total_sequences > 0, "seq-mean over a mini-batch without sequences");
      auto length = m.sum(1, /*keepdim=*/true).clamp_min(1.0);  // an empty response contributes 0
      return m / length / total_sequences;
    }
    case LossAggregation::kSeqMeanTokenSum:
      MEGASFT_CHECK(total_sequences > 0, "seq-mean over a mini-batch without sequences");
      return m / total_sequences;
  }
  MEGASFT_FAIL("unknown loss aggregation");
}

}  // namespace megasft::rl
