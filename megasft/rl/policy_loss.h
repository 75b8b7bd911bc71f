// GRPO's per-token pieces on plain tensors: group-normalised advantages, the clipped (and dual-clipped)
// surrogate, KL estimators against a reference policy, and the weights of each loss aggregation.
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <string_view>

namespace megasft::rl {

// rewards [P * G] grouped by prompt (G consecutive samples each) -> advantages [P * G] in float64:
// (r - mean) / (std + eps) with the unbiased std over the group, or r - mean without std (Dr. GRPO).
// A group of one sample has mean 0 and std 1, as verl does.
at::Tensor group_advantages(const at::Tensor& rewards, int64_t group_size, bool normalize_std, double eps = 1e-6);

struct ClipOptions {
  double clip_low = 0.2;   // ratio floor 1 - clip_low
  double clip_high = 0.28;  // ratio ceiling 1 + clip_high (DAPO's clip-higher)
  double clip_c = 3.0;     // dual-clip bound on -A * ratio for A < 0; <= 1 disables it
};

struct SurrogateTerms {
  at::Tensor loss;        // [T] per-token policy-gradient loss
  at::Tensor ratio;       // [T] exp(clamp(logp - old_logp, -20, 20))
  at::Tensor clipped;     // [T] bool: the clipped branch was taken (its gradient is zero)
  at::Tensor dual_clipped;  // [T] bool: the dual-clip bound was taken
};

// Per token: max(-A r, -A clip(r, 1 - low, 1 + high)), and for A < 0 also min(that, -A c).
SurrogateTerms clipped_surrogate(const at::Tensor& logprobs, const at::Tensor& old_logprobs,
                                 const at::Tensor& advantages, const ClipOptions& options);

// k1 = log(pi / ref); k2 = (log pi - log ref)^2 / 2; k3 = ref/pi - log(ref/pi) - 1 (Schulman's
// low-variance estimator, clamped to [-10, 10] as verl does).
enum class KlEstimator { kK1, kK2, kK3 };
KlEstimator parse_kl_estimator(std::string_view name);  // "k1" | "k2" | "k3"
at::Tensor kl_estimate(const at::Tensor& logprobs, const at::Tensor& ref_logprobs, KlEstimator estimator);

// How token losses become a mini-batch loss: token-mean (every response token of the mini-batch
// weighs the same), seq-mean-token-mean (per sequence the token mean, then the mean over sequences),
// seq-mean-token-sum (per sequence the token sum, then the mean over sequences).
enum class LossAggregation { kTokenMean, kSeqMeanTokenMean, kSeqMeanTokenSum };
LossAggregation parse_loss_aggregation(std::string_view name);
const char* loss_aggregation_name(LossAggregation aggregation);

// mask: [B, S] (1 on response tokens) of this rank's part of a mini-batch; the totals are over the
// whole mini-batch (all data-parallel ranks). Returns [B, S] float64 weights w with
// loss = sum w * token_loss giving the aggregation exactly.
at::Tensor aggregation_weights(const at::Tensor& mask, LossAggregation aggregation, double total_tokens,
                               double total_sequences);

}  // namespace megasft::rl
