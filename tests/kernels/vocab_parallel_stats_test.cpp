// kernels/vocab_parallel_stats.h against naive double loops written here, on random rows with
// padding columns (valid_cols < row_stride) that hold huge values so any leak shows up.
#include "kernels/vocab_parallel_stats.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <vector>

namespace megasft::kernels {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// tokens x row_stride random logits; padding columns get +1e30 so that using them is visible.
std::vector<float> random_rows(std::mt19937_64& rng, ShardView v) {
  std::normal_distribution<float> normal(0.0f, 3.0f);
  std::vector<float> rows(v.tokens * v.row_stride);
  for (int64_t t = 0; t < v.tokens; ++t)
    for (int64_t j = 0; j < v.row_stride; ++j)
      rows[t * v.row_stride + j] = j < v.valid_cols ? normal(rng) : 1e30f;
  return rows;
}

// Targets: some local ids in [0, valid_cols), some -1 (another shard's token).
std::vector<int64_t> random_targets(std::mt19937_64& rng, ShardView v) {
  std::vector<int64_t> y(v.tokens);
  std::uniform_int_distribution<int64_t> col(0, std::max<int64_t>(0, v.valid_cols - 1));
  for (int64_t t = 0; t < v.tokens; ++t) y[t] = (t % 3 == 1 || v.valid_cols == 0) ? -1 : col(rng);
  return y;
}

struct Case {
  ShardView view;
  int k;
};

// Shapes: no padding, padding, k above valid_cols, an all-padding shard.
std::vector<Case> cases() {
  return {{{7, 13, 13}, 2}, {{9, 16, 11}, 3}, {{5, 8, 3}, 5}, {{4, 6, 1}, 2}, {{3, 5, 0}, 2},
          {{6, 40, 33}, 1}};
}

TEST(ShardTopkAndTarget, MatchesSortedValidColumns) {
  std::mt19937_64 rng(1234);
  for (const Case& c : cases()) {
    const ShardView v = c.view;
    auto rows = random_rows(rng, v);
    auto y = random_targets(rng, v);
    std::vector<float> topk(v.tokens * c.k, 123.0f), target(v.tokens, 123.0f);
    shard_topk_and_target_cpu(rows.data(), v, y.data(), c.k, topk.data(), target.data());
    for (int64_t t = 0; t < v.tokens; ++t) {
      // Reference: sort the valid columns in descending order, pad with -inf up to k.
      std::vector<float> valid(rows.begin() + t * v.row_stride,
                               rows.begin() + t * v.row_stride + v.valid_cols);
      std::sort(valid.begin(), valid.end(), std::greater<float>());
      for (int i = 0; i < c.k; ++i) {
        const float expected = i < static_cast<int>(valid.size()) ? valid[i] : kNegInf;
        EXPECT_EQ(topk[t * c.k + i], expected)
            << "token " << t << " rank " << i << " valid_cols " << v.valid_cols << " k " << c.k;
      }
      const float expected_target = y[t] >= 0 ? rows[t * v.row_stride + y[t]] : kNegInf;
      EXPECT_EQ(target[t], expected_target) << "token " << t;
    }
  }
}

TEST(ShardTopkAndTarget, KeepsDuplicatesOfTheMaximum) {
  // Ties must each occupy a top-k slot (the global top-k sums probabilities of k entries).
  const ShardView v{1, 6, 5};
  const std::vector<float> row = {1.0f, 4.0f, 4.0f, -2.0f, 4.0f, 1e30f};
  const std::vector<int64_t> y = {3};
  std::vector<float> topk(4), target(1);
  shard_topk_and_target_cpu(row.data(), v, y.data(), 4, topk.data(), target.data());
  EXPECT_EQ(topk, (std::vector<float>{4.0f, 4.0f, 4.0f, 1.0f}));
  EXPECT_EQ(target[0], -2.0f);
}

TEST(ShardSumExp, MatchesDoubleLoopOverValidColumns) {
  std::mt19937_64 rng(99);
  for (const Case& c : cases()) {
    const ShardView v = c.view;
    auto rows = random_rows(rng, v);
    std::vector<float> max(v.tokens);
    std::uniform_real_distribution<float> shift(-1.0f, 4.0f);
    for (auto& m : max) m = shift(rng);  // any reference point, not necessarily the local max
    std::vector<double> sum(v.tokens, -1.0);
    shard_sum_exp_cpu(rows.data(), v, max.data(), sum.data());
    for (int64_t t = 0; t < v.tokens; ++t) {
      double expected = 0.0;
      for (int64_t j = 0; j < v.valid_cols; ++j)
        expected += std::exp(static_cast<double>(rows[t * v.row_stride + j]) - max[t]);
      EXPECT_NEAR(sum[t], expected, 1e-6 * expected + 1e-300) << "token " << t;
      if (v.valid_cols == 0) {
        EXPECT_EQ(sum[t], 0.0);
      }
    }
  }
}

TEST(ShardSoftmaxGradInplace, MatchesScaledSoftmaxMinusOneHot) {
  std::mt19937_64 rng(7);
  for (const Case& c : cases()) {
    const ShardView v = c.view;
    auto rows = random_rows(rng, v);
    auto y = random_targets(rng, v);
    std::vector<float> lse(v.tokens), scale(v.tokens);
    std::uniform_real_distribution<float> uniform(-2.0f, 2.0f);
    for (int64_t t = 0; t < v.tokens; ++t) {
      // A per-row lse as the global one would be: logsumexp of the valid row plus extra mass elsewhere.
      double s = 0.0;
      for (int64_t j = 0; j < v.valid_cols; ++j) s += std::exp(static_cast<double>(rows[t * v.row_stride + j]));
      s += std::exp(static_cast<double>(uniform(rng)));
      lse[t] = static_cast<float>(std::log(s));
      scale[t] = (t % 4 == 2) ? 0.0f : uniform(rng);  // scale 0: an ignored token
    }
    auto grad = rows;
    shard_softmax_grad_inplace_cpu(grad.data(), v, lse.data(), scale.data(), y.data());
    for (int64_t t = 0; t < v.tokens; ++t) {
      for (int64_t j = 0; j < v.row_stride; ++j) {
        const float got = grad[t * v.row_stride + j];
        if (j >= v.valid_cols || scale[t] == 0.0f) {
          EXPECT_EQ(got, 0.0f) << "token " << t << " col " << j << " must be zeroed";
          continue;
        }
        const double z = rows[t * v.row_stride + j];
        const double expected = scale[t] * (std::exp(z - lse[t]) - (j == y[t] ? 1.0 : 0.0));
        EXPECT_NEAR(got, expected, 1e-5 * std::abs(expected) + 1e-7) << "token " << t << " col " << j;
      }
    }
  }
}

TEST(ShardSoftmaxGradInplace, ScaleZeroRowWithInfinitePaddingBecomesZero) {
  // Even a row of non-finite values must come out as zeros when its scale is 0.
  const ShardView v{1, 4, 2};
  std::vector<float> row = {std::numeric_limits<float>::infinity(), 1.0f, kNegInf,
                            std::numeric_limits<float>::quiet_NaN()};
  const float lse = 0.0f, scale = 0.0f;
  const int64_t y = 1;
  shard_softmax_grad_inplace_cpu(row.data(), v, &lse, &scale, &y);
  for (float g : row) EXPECT_EQ(g, 0.0f);
}

}  // namespace
}  // namespace megasft::kernels
