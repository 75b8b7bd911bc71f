// tau_from_topk_sums against objectives.md: tau = sorted(S)[-floor(r * len(S))], so that about a
// fraction r of the positions have S_t >= tau (unpenalised); floor(r * len) == 0 is an error.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "kernels/check.h"
#include "megasft/objectives/tau_calibration.h"

namespace megasft::objectives {
namespace {

TEST(TauFromTopkSums, HandCheckedQuantile) {
  // Sorted: 0.1 0.2 ... 1.0; r = 0.7 -> floor(7) = 7 -> sorted[10 - 7] = sorted[3] = 0.4.
  std::vector<float> s = {0.9f, 0.3f, 0.1f, 1.0f, 0.5f, 0.7f, 0.2f, 0.8f, 0.4f, 0.6f};
  EXPECT_EQ(tau_from_topk_sums(s, 0.7), static_cast<double>(0.4f));
  // r = 0.25 -> floor(2.5) = 2 -> sorted[8] = 0.9; r = 0.99 -> floor(9.9) = 9 -> sorted[1] = 0.2.
  EXPECT_EQ(tau_from_topk_sums(s, 0.25), static_cast<double>(0.9f));
  EXPECT_EQ(tau_from_topk_sums(s, 0.99), static_cast<double>(0.2f));
  // r = 0.1 -> floor(1) = 1 -> the largest value.
  EXPECT_EQ(tau_from_topk_sums(s, 0.1), static_cast<double>(1.0f));
}

TEST(TauFromTopkSums, FractionAtOrAboveTauIsR) {
  // Distinct random values: exactly floor(r * n) of them are >= tau.
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<float> s(1000);
  for (auto& v : s) v = u(rng);
  for (double r : {0.3, 0.5, 0.7, 0.9}) {
    const double tau = tau_from_topk_sums(s, r);
    const auto at_or_above = std::count_if(s.begin(), s.end(), [&](float v) { return v >= tau; });
    EXPECT_EQ(at_or_above, static_cast<int64_t>(std::floor(r * 1000))) << "r " << r;
  }
}

TEST(TauFromTopkSums, TooFewPositionsIsAnError) {
  std::vector<float> s = {0.2f, 0.4f, 0.6f};
  EXPECT_THROW(tau_from_topk_sums(s, 0.3), Error);  // floor(0.9) == 0
  EXPECT_THROW(tau_from_topk_sums({}, 0.7), Error);
  try {
    tau_from_topk_sums(s, 0.3);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("floor(r * positions)"), std::string::npos) << e.what();
  }
  EXPECT_EQ(tau_from_topk_sums(s, 0.34), static_cast<double>(0.6f));  // floor(1.02) == 1
}

}  // namespace
}  // namespace megasft::objectives
