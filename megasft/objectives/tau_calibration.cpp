// Tau calibration: the same vocab-parallel top-k statistics as the loss, on a held-out sample.
#include "megasft/objectives/tau_calibration.h"

#include <algorithm>
#include <cmath>

#include "kernels/check.h"
#include "kernels/nvtx_range.h"
#include "megasft/objectives/vocab_parallel_loss.h"

namespace megasft::objectives {

double tau_from_topk_sums(std::vector<float> sums, double ratio) {
  const auto count = static_cast<int64_t>(std::floor(ratio * static_cast<double>(sums.size())));
  MEGASFT_CHECK(count >= 1, "tau calibration needs floor(r * positions) >= 1, got r = ", ratio,
                " and ", sums.size(), " positions: use more calibration samples");
  std::sort(sums.begin(), sums.end());
  return sums[sums.size() - count];
}

TauCalibration calibrate_tau(const model::LlamaModel& model, const data::TokenDataset& heldout,
                             int64_t samples, const std::string& positions_mode, int top_k,
                             double ratio, int64_t seq_len, const parallel::CommunicatorPtr& tp) {
  NvtxRange range("calibrate_tau");
  MEGASFT_CHECK(positions_mode == "all" || positions_mode == "supervised",
                "calibration positions '", positions_mode, "' must be all or supervised");
  MEGASFT_CHECK(heldout.num_samples() > 0, "calibration data '", heldout.path(), "' has no samples");
  at::NoGradGuard no_grad;
  TauCalibration result;
  result.top_k = top_k;
  result.ratio = ratio;
  result.positions_mode = positions_mode;
  result.data_path = heldout.path();
  result.samples = std::min(samples, heldout.num_samples());

  std::vector<float> sums;
  for (int64_t i = 0; i < result.samples; ++i) {
    auto tokens = heldout.tokens(i);
    auto mask = heldout.loss_mask(i);
    const int64_t n = std::min<int64_t>(static_cast<int64_t>(tokens.size()), seq_len);
    if (n == 0) continue;
    auto ids = at::empty({1, n}, at::kLong);
    for (int64_t t = 0; t < n; ++t) ids[0][t] = static_cast<int64_t>(tokens[t]);
    auto hidden = model.forward(ids).reshape({n, -1});
    auto s = vocab_parallel_topk_sum(model.lm_head_logits(hidden), model.vocab_shard(), tp, top_k);
    auto values = s.accessor<float, 1>();
    for (int64_t t = 0; t < n; ++t) {
      const bool supervised = t + 1 < static_cast<int64_t>(mask.size()) && mask[t + 1] == 1;
      if (positions_mode == "all" || supervised) sums.push_back(values[t]);
    }
  }
  result.positions = static_cast<int64_t>(sums.size());
  result.tau = tau_from_topk_sums(std::move(sums), ratio);
  return result;
}

}  // namespace megasft::objectives
