// Synthetic arithmetic word problems with step-by-step answers: the demo fine-tuning task.
// Generation is a pure function of the seed, bit-identical across platforms and compilers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace megasft::data {

struct ChatExample {
  std::string prompt;
  std::string answer;  // ends with "The answer is \boxed{N}."
};

// One sequential stream per seed: the first k problems of (seed, n) equal those of (seed, k) for
// k <= n, so a caller can ask for more without changing what it already has.
std::vector<ChatExample> generate_arithmetic_problems(uint64_t seed, int64_t count);

}  // namespace megasft::data
