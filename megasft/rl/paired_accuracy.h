// Greedy accuracy on the same problems before and after training, compared pair by pair: how many
// problems were gained and lost, and McNemar's exact test of whether the change is more than chance.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace megasft::rl {

struct PairedAccuracy {
  int64_t problems = 0;
  int64_t correct_before = 0, correct_after = 0;
  int64_t gained = 0;  // wrong before, right after
  int64_t lost = 0;    // right before, wrong after
  // Two-sided exact McNemar test: under "no change" each of the gained + lost discordant problems is
  // equally likely to go either way, so p = P(Binomial(gained + lost, 1/2) at least as far from even).
  double p_value = 1.0;

  std::string describe() const;  // "+28 (45 gained, 17 lost; McNemar exact p = 0.00051)"
};

// `before` and `after` hold one flag per problem, in the same order; their sizes must agree.
PairedAccuracy compare_paired(const std::vector<bool>& before, const std::vector<bool>& after);

// The two-sided exact binomial tail at probability 1/2: min(1, 2 * P(X <= min(a, b))), X ~ Bin(a + b, 1/2).
double mcnemar_exact_p_value(int64_t a, int64_t b);

}  // namespace megasft::rl
