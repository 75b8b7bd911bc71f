// The before/after comparison: counts by hand, McNemar's exact p against worked binomial sums and, for
// large counts, against the binomial pmf built by its recurrence (an independent route to the tail).
#include <gtest/gtest.h>

#include <cmath>

#include "kernels/check.h"
#include "megasft/rl/paired_accuracy.h"

namespace megasft::rl {
namespace {

TEST(McNemarExact, SmallCountsWorkedByHand) {
  // The sum runs through lgamma, so it is exact to a few ulps, not bit for bit.
  EXPECT_NEAR(mcnemar_exact_p_value(0, 5), 2.0 / 32, 1e-14);           // 2 * C(5,0) / 2^5
  EXPECT_NEAR(mcnemar_exact_p_value(1, 9), 2.0 * 11 / 1024, 1e-14);    // 2 * (C(10,0) + C(10,1)) / 2^10
  EXPECT_NEAR(mcnemar_exact_p_value(10, 0), 2.0 / 1024, 1e-14);        // symmetric in its arguments
  EXPECT_DOUBLE_EQ(mcnemar_exact_p_value(3, 3), 1.0);                 // 2 * P(X <= 3) > 1 is capped
  EXPECT_DOUBLE_EQ(mcnemar_exact_p_value(0, 0), 1.0);                 // no discordant pair: no evidence
  EXPECT_THROW(mcnemar_exact_p_value(-1, 2), megasft::Error);
}

TEST(McNemarExact, LargeCountsMatchTheBinomialRecurrence) {
  for (auto [a, b] : std::vector<std::pair<int64_t, int64_t>>{{17, 45}, {400, 480}, {90, 60}, {500, 501}}) {
    const int64_t n = a + b, k = std::min(a, b);
    double pmf = std::pow(0.5, static_cast<double>(n)), tail = 0;  // P(X = 0), then P(X = i + 1) from P(X = i)
    for (int64_t i = 0; i <= k; ++i) {
      tail += pmf;
      pmf *= static_cast<double>(n - i) / static_cast<double>(i + 1);
    }
    EXPECT_NEAR(mcnemar_exact_p_value(a, b), std::min(1.0, 2 * tail), 1e-12 * std::max(1.0, tail)) << a << " " << b;
  }
}

TEST(PairedAccuracy, CountsEachKindOfPair) {
  // problems:       0     1      2      3     4      5
  std::vector<bool> before{true, true, false, false, true, false};
  std::vector<bool> after{true, false, true, true, true, false};
  auto r = compare_paired(before, after);
  EXPECT_EQ(r.problems, 6);
  EXPECT_EQ(r.correct_before, 3);
  EXPECT_EQ(r.correct_after, 4);
  EXPECT_EQ(r.gained, 2);  // problems 2 and 3
  EXPECT_EQ(r.lost, 1);    // problem 1
  EXPECT_DOUBLE_EQ(r.p_value, 1.0);  // 2 * (1 + 3) / 8 capped
  EXPECT_EQ(r.describe(), "+1 (2 gained, 1 lost; McNemar exact p = 1)");
  EXPECT_THROW(compare_paired(before, {true}), megasft::Error);
}

}  // namespace
}  // namespace megasft::rl
