#include "megasft/eval/pass_at_k.h"

#include "kernels/check.h"

namespace megasft::eval {

double unbiased_pass_at_k(int64_t n, int64_t c, int64_t k) {
  MEGASFT_CHECK(n >= 1 && c >= 0 && c <= n && k >= 1 && k <= n, "pass@k needs 0 <= correct <= samples and "
                "1 <= k <= samples, got samples ", n, ", correct ", c, ", k ", k);
  if (n - c < k) return 1.0;  // every k-subset holds a correct sample
  // C(n-c, k) / C(n, k) = prod_{i = n-c+1}^{n} (1 - k / i)
  double all_wrong = 1.0;
  for (int64_t i = n - c + 1; i <= n; ++i) all_wrong *= 1.0 - static_cast<double>(k) / static_cast<double>(i);
  return 1.0 - all_wrong;
}

double average_accuracy(const std::vector<ProblemOutcome>& problems) {
  int64_t samples = 0, correct = 0;
  for (const auto& p : problems) {
    samples += p.samples;
    correct += p.correct;
  }
  return samples > 0 ? static_cast<double>(correct) / static_cast<double>(samples) : 0.0;
}

double mean_pass_at_k(const std::vector<ProblemOutcome>& problems, int64_t k) {
  if (problems.empty()) return 0.0;
  double sum = 0;
  for (const auto& p : problems) sum += unbiased_pass_at_k(p.samples, p.correct, k);
  return sum / static_cast<double>(problems.size());
}

}  // namespace megasft::eval
