// GRPO's per-token math against values worked out by hand (each comment shows the arithmetic).
#include <gtest/gtest.h>

#include <cmath>

#include "kernels/check.h"
#include "megasft/rl/policy_loss.h"

namespace megasft::rl {
namespace {

at::Tensor d(std::vector<double> v) { return at::tensor(v, at::kDouble); }

TEST(GroupAdvantages, NormalisedByTheUnbiasedStdOfEachGroup) {
  // Group 1: rewards 1,-1,-1,1: mean 0, unbiased std sqrt(4/3). Group 2: all 1: std 0, advantage 0.
  auto a = group_advantages(d({1, -1, -1, 1, 1, 1, 1, 1}), 4, true);
  const double s = std::sqrt(4.0 / 3.0) + 1e-6;
  const std::vector<double> expected = {1 / s, -1 / s, -1 / s, 1 / s, 0, 0, 0, 0};
  for (int i = 0; i < 8; ++i) EXPECT_NEAR(a[i].item<double>(), expected[i], 1e-12) << i;
}

TEST(GroupAdvantages, DrGrpoKeepsTheCentredReward) {
  // 1, -1, -1, -1: mean -0.5 -> 1.5, -0.5, -0.5, -0.5
  auto a = group_advantages(d({1, -1, -1, -1}), 4, false);
  EXPECT_NEAR(a[0].item<double>(), 1.5, 1e-15);
  EXPECT_NEAR(a[3].item<double>(), -0.5, 1e-15);
}

TEST(GroupAdvantages, OneSampleGroupsKeepTheReward) {
  auto a = group_advantages(d({1, -1}), 1, true);
  EXPECT_EQ(a[0].item<double>(), 1.0);
  EXPECT_EQ(a[1].item<double>(), -1.0);
  EXPECT_THROW(group_advantages(d({1, -1, 1}), 2, true), megasft::Error);
}

TEST(ClippedSurrogate, BothSidesAndDualClip) {
  const ClipOptions clip{0.2, 0.28, 3.0};
  // ratios 1.5, 1.5, 5, 0.5, 0.5 with advantages +1, -1, -1, +1, -1
  auto old = d({0, 0, 0, 0, 0});
  auto logp = d({std::log(1.5), std::log(1.5), std::log(5.0), std::log(0.5), std::log(0.5)}).requires_grad_(true);
  auto adv = d({1, -1, -1, 1, -1});
  auto t = clipped_surrogate(logp, old, adv, clip);
  // 1: max(-1.5, -1.28) = -1.28, clipped.   2: max(1.5, 1.28) = 1.5; dual min(1.5, 3) = 1.5.
  // 3: max(5, 1.28) = 5, dual min(5, 3) = 3. 4: max(-0.5, -0.8) = -0.5.  5: max(0.5, 0.8) = 0.8, clipped.
  const std::vector<double> loss = {-1.28, 1.5, 3.0, -0.5, 0.8};
  const std::vector<bool> clipped = {true, false, false, false, true};
  const std::vector<bool> dual = {false, false, true, false, false};
  for (int i = 0; i < 5; ++i) {
    EXPECT_NEAR(t.loss[i].item<double>(), loss[i], 1e-12) << i;
    EXPECT_EQ(t.clipped[i].item<bool>(), clipped[i]) << i;
    EXPECT_EQ(t.dual_clipped[i].item<bool>(), dual[i]) << i;
  }
  // d loss / d logp = -A * ratio on the unclipped branch, 0 where a clip is active.
  t.loss.sum().backward();
  const std::vector<double> grad = {0.0, 1.5, 0.0, -0.5, 0.0};
  for (int i = 0; i < 5; ++i) EXPECT_NEAR(logp.grad()[i].item<double>(), grad[i], 1e-12) << i;
}

TEST(ClippedSurrogate, RatioClampedAtTwentyNats) {
  auto t = clipped_surrogate(d({30.0}), d({0.0}), d({-1.0}), {0.2, 0.28, 0.0});  // dual clip off
  EXPECT_NEAR(t.ratio[0].item<double>(), std::exp(20.0), 1e-3);
  EXPECT_NEAR(t.loss[0].item<double>(), std::exp(20.0), 1e-3);
}

TEST(KlEstimators, K1K2K3) {
  // log pi = -1, log ref = -1.5: log ratio 0.5.
  auto logp = d({-1.0}), ref = d({-1.5});
  EXPECT_NEAR(kl_estimate(logp, ref, KlEstimator::kK1).item<double>(), 0.5, 1e-15);
  EXPECT_NEAR(kl_estimate(logp, ref, KlEstimator::kK2).item<double>(), 0.125, 1e-15);
  // k3 = exp(-0.5) + 0.5 - 1
  EXPECT_NEAR(kl_estimate(logp, ref, KlEstimator::kK3).item<double>(), std::exp(-0.5) - 0.5, 1e-15);
  EXPECT_EQ(kl_estimate(ref, ref, KlEstimator::kK3).item<double>(), 0.0);
  EXPECT_THROW(parse_kl_estimator("k4"), megasft::Error);
}

TEST(LossAggregation, EveryModeOnAMiniBatch) {
  // Two sequences with 3 and 1 response tokens; token losses 1, 2, 3 and 4.
  auto mask = d({1, 1, 1, 0, 1, 0, 0, 0}).reshape({2, 4});
  auto loss = d({1, 2, 3, 99, 4, 99, 99, 99}).reshape({2, 4});
  auto total = [&](LossAggregation a) { return (aggregation_weights(mask, a, 4, 2) * loss).sum().item<double>(); };
  EXPECT_NEAR(total(LossAggregation::kTokenMean), (1 + 2 + 3 + 4) / 4.0, 1e-15);          // 2.5
  EXPECT_NEAR(total(LossAggregation::kSeqMeanTokenMean), (6.0 / 3 + 4.0 / 1) / 2, 1e-15);  // 3
  EXPECT_NEAR(total(LossAggregation::kSeqMeanTokenSum), (6.0 + 4.0) / 2, 1e-15);           // 5
  // On a data-parallel rank holding half of a mini-batch, the totals are the whole mini-batch's.
  EXPECT_NEAR((aggregation_weights(mask, LossAggregation::kTokenMean, 8, 4) * loss).sum().item<double>(), 10.0 / 8, 1e-15);
  EXPECT_THROW(parse_loss_aggregation("token-sum"), megasft::Error);
}

}  // namespace
}  // namespace megasft::rl
