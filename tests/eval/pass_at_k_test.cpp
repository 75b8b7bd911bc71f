// pass@k against brute-force enumeration of every k-subset, and Avg@k against a direct count.
#include <gtest/gtest.h>

#include <functional>

#include "kernels/check.h"
#include "megasft/eval/pass_at_k.h"

namespace megasft::eval {
namespace {

// Fraction of the k-subsets of n samples (the first c correct) that contain a correct one.
double enumerate_pass_at_k(int n, int c, int k) {
  int64_t subsets = 0, hits = 0;
  for (uint32_t mask = 0; mask < (1u << n); ++mask) {
    if (__builtin_popcount(mask) != k) continue;
    ++subsets;
    hits += (mask & ((1u << c) - 1)) != 0;
  }
  return static_cast<double>(hits) / static_cast<double>(subsets);
}

TEST(PassAtK, EqualsEnumerationOfSubsets) {
  for (int n = 1; n <= 10; ++n)
    for (int c = 0; c <= n; ++c)
      for (int k = 1; k <= n; ++k)
        EXPECT_NEAR(unbiased_pass_at_k(n, c, k), enumerate_pass_at_k(n, c, k), 1e-12) << n << " " << c << " " << k;
}

TEST(PassAtK, PassAtOneIsTheAccuracy) { EXPECT_NEAR(unbiased_pass_at_k(8, 3, 1), 3.0 / 8.0, 1e-15); }

TEST(PassAtK, AverageAccuracyCountsEverySample) {
  std::vector<ProblemOutcome> problems = {{8, 2}, {8, 8}, {1, 0}};
  EXPECT_DOUBLE_EQ(average_accuracy(problems), 10.0 / 17.0);
  EXPECT_NEAR(mean_pass_at_k({{8, 2}, {8, 0}}, 1), (0.25 + 0.0) / 2, 1e-15);
}

TEST(PassAtK, RejectsImpossibleCounts) {
  EXPECT_THROW(unbiased_pass_at_k(4, 5, 1), megasft::Error);
  EXPECT_THROW(unbiased_pass_at_k(4, 2, 5), megasft::Error);
}

}  // namespace
}  // namespace megasft::eval
