// Avg@k and the unbiased pass@k estimator of Chen et al. (2021, "Evaluating Large Language Models
// Trained on Code"): from n samples of which c are correct, pass@k = 1 - C(n-c, k) / C(n, k).
#pragma once

#include <cstdint>
#include <vector>

namespace megasft::eval {

// 1 - C(n-c, k)/C(n, k), computed as a product so large n never overflows. Needs 0 <= c <= n, 1 <= k <= n.
double unbiased_pass_at_k(int64_t n, int64_t c, int64_t k);

// Per problem: the number of samples and how many were correct. Avg@k is the mean accuracy over every
// sample (the paper's Avg@8); pass@k the mean over problems of the unbiased estimator.
struct ProblemOutcome {
  int64_t samples = 0;
  int64_t correct = 0;
};
double average_accuracy(const std::vector<ProblemOutcome>& problems);
double mean_pass_at_k(const std::vector<ProblemOutcome>& problems, int64_t k);

}  // namespace megasft::eval
