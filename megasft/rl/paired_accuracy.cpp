#include "megasft/rl/paired_accuracy.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "kernels/check.h"

namespace megasft::rl {

double mcnemar_exact_p_value(int64_t a, int64_t b) {
  MEGASFT_CHECK(a >= 0 && b >= 0, "McNemar test: negative counts ", a, " and ", b);
  const int64_t n = a + b, k = std::min(a, b);
  if (n == 0) return 1.0;
  // Sum C(n, i) / 2^n for i <= k in log space: n reaches thousands, far past double's range of C(n, i).
  const double log_half_n = -static_cast<double>(n) * std::log(2.0);
  double tail = 0;
  for (int64_t i = 0; i <= k; ++i)
    tail += std::exp(std::lgamma(n + 1.0) - std::lgamma(i + 1.0) - std::lgamma(n - i + 1.0) + log_half_n);
  return std::min(1.0, 2.0 * tail);
}

PairedAccuracy compare_paired(const std::vector<bool>& before, const std::vector<bool>& after) {
  MEGASFT_CHECK(before.size() == after.size(), "paired accuracy: ", before.size(), " problems before but ",
                after.size(), " after");
  PairedAccuracy r;
  r.problems = static_cast<int64_t>(before.size());
  for (size_t i = 0; i < before.size(); ++i) {
    r.correct_before += before[i];
    r.correct_after += after[i];
    r.gained += !before[i] && after[i];
    r.lost += before[i] && !after[i];
  }
  r.p_value = mcnemar_exact_p_value(r.gained, r.lost);
  return r;
}

std::string PairedAccuracy::describe() const {
  char buffer[160];
  std::snprintf(buffer, sizeof buffer, "%+ld (%ld gained, %ld lost; McNemar exact p = %.2g)",
                static_cast<long>(correct_after - correct_before), static_cast<long>(gained),
                static_cast<long>(lost), p_value);
  return buffer;
}

}  // namespace megasft::rl
