// The two communication rounds of objectives.md around the framework-free shard kernels. Every global
// top-k element lies in its shard's local top-k, so the top-k of the gathered candidates is exact.
#include "megasft/objectives/token_statistics.h"

#include "kernels/check.h"
#include "kernels/vocab_parallel_stats.h"

namespace megasft::objectives {

at::Tensor local_target_columns(const at::Tensor& targets, const model::VocabShard& shard) {
  auto local = targets - shard.start;
  auto here = targets.ge(0).logical_and(local >= 0).logical_and(local < shard.valid_cols);
  return at::where(here, local, at::full_like(local, -1)).contiguous();
}

TokenStatistics gather_token_statistics(const at::Tensor& logits32, const at::Tensor& local_target,
                                        const model::VocabShard& shard,
                                        const parallel::CommunicatorPtr& tp,
                                        const ObjectiveOptions& options) {
  MEGASFT_CHECK(logits32.scalar_type() == at::kFloat && logits32.is_contiguous() && logits32.dim() == 2,
                "shard statistics need contiguous float32 [tokens, V_local] logits");
  const int k = options.top_k;
  const int64_t tokens = logits32.size(0);
  const kernels::ShardView view{tokens, logits32.size(1), shard.valid_cols};

  // Round 1: [T, k local top-k | target logit], all-gathered: k + 1 floats per token per rank.
  auto topk_local = at::empty({tokens, k}, at::kFloat);
  auto target_local = at::empty({tokens}, at::kFloat);
  kernels::shard_topk_and_target_cpu(logits32.data_ptr<float>(), view, local_target.data_ptr<int64_t>(),
                                     k, topk_local.data_ptr<float>(), target_local.data_ptr<float>());
  auto gathered = tp->all_gather(at::cat({topk_local, target_local.unsqueeze(1)}, 1));  // [tp, T, k+1]
  auto candidates = gathered.narrow(2, 0, k).permute({1, 0, 2}).reshape({tokens, -1});
  auto topk = std::get<0>(candidates.topk(k, /*dim=*/1)).to(at::kDouble);  // [T, k], descending
  auto max32 = topk.select(1, 0).to(at::kFloat).contiguous();
  auto target32 = std::get<0>(gathered.select(2, k).max(0)).contiguous();

  // Round 2: all-reduce of sum exp(z - m) (and GEM's Q, A, B): one or four doubles per token.
  const bool gem = options.kind == ObjectiveKind::kGem;
  auto sums = at::empty({tokens, gem ? 4 : 1}, at::kDouble);
  auto sum_exp = at::empty({tokens}, at::kDouble);
  kernels::shard_sum_exp_cpu(logits32.data_ptr<float>(), view, max32.data_ptr<float>(),
                             sum_exp.data_ptr<double>());
  sums.select(1, 0).copy_(sum_exp);
  if (gem) {
    auto qab = at::empty({tokens, 3}, at::kDouble);
    kernels::shard_gem_sums_cpu(logits32.data_ptr<float>(), view, max32.data_ptr<float>(),
                                target32.data_ptr<float>(), static_cast<float>(options.gem_beta),
                                options.gem_h, qab.data_ptr<double>());
    sums.narrow(1, 1, 3).copy_(qab);
  }
  tp->all_reduce(sums, parallel::ReduceOp::kSum);

  TokenStatistics stats;
  stats.max = max32.to(at::kDouble);
  stats.target_logit = target32.to(at::kDouble);
  stats.lse = stats.max + sums.select(1, 0).log();
  stats.topk_probs = (topk - stats.lse.unsqueeze(1)).exp();  // exp(-inf) = 0 for missing entries
  stats.topk_sum = stats.topk_probs.sum(1);
  if (gem) {
    stats.gem_q = sums.select(1, 1).contiguous();
    stats.gem_a = sums.select(1, 2).contiguous();
    stats.gem_b = sums.select(1, 3).contiguous();
  }
  return stats;
}

}  // namespace megasft::objectives
