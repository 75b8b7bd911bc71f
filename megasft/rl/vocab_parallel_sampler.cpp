// The sampler's three paths. Exactness of top-p: every token of the global top m lies in its shard's
// top m, so the first m of the sorted union of the shards' candidates are exactly the global top m; when
// their mass does not reach top_p for some row, every rank (seeing the same gathered numbers) doubles m.
#include "megasft/rl/vocab_parallel_sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "kernels/check.h"
#include "kernels/nvtx_range.h"
#include "kernels/vocab_parallel_sampling.h"

namespace megasft::rl {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();
constexpr int64_t kFirstNucleusCandidates = 64;

kernels::ShardView view_of(const at::Tensor& logits, const model::VocabShard& shard) {
  return {logits.size(0), logits.size(1), shard.valid_cols};
}

// log sum_j exp(z_j * inv_t) over the whole vocabulary: [B] double, on every TP rank.
at::Tensor global_log_normaliser(const at::Tensor& logits, const model::VocabShard& shard,
                                 const parallel::CommunicatorPtr& tp, double inv_t) {
  auto scaled = logits.narrow(1, 0, shard.valid_cols).to(at::kDouble) * inv_t;  // [B, V_valid]
  auto max = shard.valid_cols > 0 ? std::get<0>(scaled.max(1)) : at::full({logits.size(0)}, kNegInf, at::kDouble);
  tp->all_reduce(max, parallel::ReduceOp::kMax);
  auto sum = shard.valid_cols > 0 ? (scaled - max.unsqueeze(1)).exp().sum(1) : at::zeros({logits.size(0)}, at::kDouble);
  tp->all_reduce(sum, parallel::ReduceOp::kSum);
  return max + sum.log();
}

// Each row's m largest logits of every shard, merged: values [B, tp*m] sorted descending (ties to the
// lower id) as double, and their global ids (-1 for a missing candidate).
std::pair<at::Tensor, at::Tensor> gathered_candidates(const at::Tensor& logits, const model::VocabShard& shard,
                                                      const parallel::CommunicatorPtr& tp, int64_t m) {
  const int64_t rows = logits.size(0);
  auto values = at::empty({rows, m}, at::kFloat);
  auto columns = at::empty({rows, m}, at::kLong);
  kernels::shard_top_candidates_cpu(logits.data_ptr<float>(), view_of(logits, shard), static_cast<int>(m),
                                    values.data_ptr<float>(), columns.data_ptr<int64_t>());
  auto ids = at::where(columns.ge(0), columns + shard.start, columns);
  auto packed = at::stack({values.to(at::kDouble), ids.to(at::kDouble)});  // [2, B, m]; ids < 2^53 exactly
  auto all = tp->all_gather(packed);                                           // [tp, 2, B, m]
  auto all_values = all.select(1, 0).permute({1, 0, 2}).reshape({rows, -1});
  auto all_ids = all.select(1, 1).permute({1, 0, 2}).reshape({rows, -1}).to(at::kLong);
  // Descending by value, ties to the lower id: a stable sort by value of the id-sorted list.
  auto by_id = std::get<1>(at::sort(all_ids.masked_fill(all_ids.lt(0), std::numeric_limits<int64_t>::max()), 1));
  auto v = all_values.gather(1, by_id), i = all_ids.gather(1, by_id);
  auto order = std::get<1>(at::sort(v, /*stable=*/true, /*dim=*/1, /*descending=*/true));
  return {v.gather(1, order).contiguous(), i.gather(1, order).contiguous()};
}

SampledTokens greedy(const at::Tensor& logits, const model::VocabShard& shard, const parallel::CommunicatorPtr& tp) {
  auto [values, ids] = gathered_candidates(logits, shard, tp, 1);
  auto tokens = ids.select(1, 0).clone();
  auto lse = global_log_normaliser(logits, shard, tp, 1.0);
  return {tokens, values.select(1, 0) - lse};
}

SampledTokens gumbel_max(const at::Tensor& logits, const at::Tensor& row_seeds, const model::VocabShard& shard,
                         const parallel::CommunicatorPtr& tp, double inv_t) {
  const int64_t rows = logits.size(0);
  auto score = at::empty({rows}, at::kDouble);
  auto column = at::empty({rows}, at::kLong);
  auto logit = at::empty({rows}, at::kFloat);
  kernels::shard_gumbel_argmax_cpu(logits.data_ptr<float>(), view_of(logits, shard), shard.start, inv_t,
                                   reinterpret_cast<const uint64_t*>(row_seeds.data_ptr<int64_t>()),
                                   score.data_ptr<double>(), column.data_ptr<int64_t>(), logit.data_ptr<float>());
  auto id = at::where(column.ge(0), column + shard.start, column);
  auto all = tp->all_gather(at::stack({score, id.to(at::kDouble), logit.to(at::kDouble)}));  // [tp, 3, B]
  // The best score over shards (an exact tie of two double Gumbel scores has probability zero).
  auto winner = std::get<1>(all.select(1, 0).max(0, /*keepdim=*/true));  // [1, B]
  auto tokens = all.select(1, 1).gather(0, winner).squeeze(0).to(at::kLong);
  auto z = all.select(1, 2).gather(0, winner).squeeze(0);
  return {tokens, z * inv_t - global_log_normaliser(logits, shard, tp, inv_t)};
}

SampledTokens restricted(const at::Tensor& logits, const at::Tensor& row_seeds, const model::VocabShard& shard,
                         const parallel::CommunicatorPtr& tp, const SamplingParams& params) {
  const double inv_t = 1.0 / params.temperature;
  const int64_t rows = logits.size(0);
  auto lse = global_log_normaliser(logits, shard, tp, inv_t);
  int64_t m = params.top_k > 0 ? std::min(params.top_k, shard.local_cols) : std::min(kFirstNucleusCandidates, shard.local_cols);
  m = std::max<int64_t>(m, 1);
  for (;;) {
    auto [values, ids] = gathered_candidates(logits, shard, tp, m);
    // The first `exact` of the merged list are the global top in order; with top-k at most k of them.
    const int64_t exact = params.top_k > 0 ? std::min(params.top_k, values.size(1)) : m;
    auto top_values = values.narrow(1, 0, exact);
    auto top_ids = ids.narrow(1, 0, exact);
    auto log_p = params.top_k > 0 ? at::log_softmax(top_values * inv_t, 1) : top_values * inv_t - lse.unsqueeze(1);
    auto p = log_p.exp().masked_fill(top_ids.lt(0), 0.0);
    auto before = p.cumsum(1) - p;  // mass of the tokens ranked above each one
    if (params.top_k == 0 && params.top_p < 1.0 && m < shard.local_cols) {
      const bool covered = (p.sum(1) >= params.top_p).all().item<bool>();
      if (!covered) {
        m = std::min(2 * m, shard.local_cols);
        continue;
      }
    }
    auto keep = top_ids.ge(0).logical_and(before.lt(params.top_p));
    keep.select(1, 0).fill_(true);  // the most probable token is always kept
    auto seeds = row_seeds.accessor<int64_t, 1>();
    auto v = top_values.accessor<double, 2>();
    auto id = top_ids.accessor<int64_t, 2>();
    auto k = keep.accessor<bool, 2>();
    auto tokens = at::empty({rows}, at::kLong);
    auto logprobs = at::empty({rows}, at::kDouble);
    auto lse_a = lse.accessor<double, 1>();
    for (int64_t r = 0; r < rows; ++r) {
      double best = kNegInf;
      int64_t best_i = 0;
      for (int64_t i = 0; i < exact; ++i) {
        if (!k[r][i]) continue;
        const double score = v[r][i] * inv_t + kernels::gumbel_noise(static_cast<uint64_t>(seeds[r]), id[r][i]);
        if (score > best) {
          best = score;
          best_i = i;
        }
      }
      tokens[r] = id[r][best_i];
      logprobs[r] = v[r][best_i] * inv_t - lse_a[r];
    }
    return {tokens, logprobs};
  }
}

}  // namespace

model::VocabShard limit_vocabulary(model::VocabShard shard, int64_t vocab_limit) {
  if (vocab_limit <= 0 || vocab_limit >= shard.vocab_size) return shard;
  shard.valid_cols = std::clamp<int64_t>(vocab_limit - shard.start, 0, shard.valid_cols);
  shard.vocab_size = vocab_limit;
  return shard;
}

void SamplingParams::validate() const {
  MEGASFT_CHECK(std::isfinite(temperature) && temperature >= 0, "--temperature must be >= 0, got ", temperature);
  MEGASFT_CHECK(top_p > 0 && top_p <= 1, "--top-p must be in (0, 1], got ", top_p);
  MEGASFT_CHECK(top_k >= 0, "--top-k must be >= 0 (0: no limit), got ", top_k);
}

SampledTokens sample_vocab_parallel(const at::Tensor& logits, const at::Tensor& row_seeds,
                                    const model::VocabShard& shard, const parallel::CommunicatorPtr& tp,
                                    const SamplingParams& params) {
  NvtxRange range("sample_vocab_parallel");
  params.validate();
  MEGASFT_CHECK(logits.dim() == 2 && logits.scalar_type() == at::kFloat && logits.size(1) == shard.local_cols,
                "sampling needs float32 logits [batch, ", shard.local_cols, "], got ", logits.sizes(), " ",
                logits.scalar_type());
  MEGASFT_CHECK(row_seeds.dim() == 1 && row_seeds.size(0) == logits.size(0) && row_seeds.scalar_type() == at::kLong,
                "sampling needs one int64 seed per row");
  auto z = logits.contiguous();
  auto seeds = row_seeds.contiguous();
  if (params.temperature == 0) return greedy(z, shard, tp);
  if (params.top_k == 0 && params.top_p >= 1.0) return gumbel_max(z, seeds, shard, tp, 1.0 / params.temperature);
  return restricted(z, seeds, shard, tp, params);
}

}  // namespace megasft::rl
