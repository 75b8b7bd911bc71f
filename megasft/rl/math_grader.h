// The math answer grader of GRPO's reward and of evaluation: the last \boxed{...} of a response
// (balanced braces) compared with the gold answer, strictly or up to mathematical equivalence.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace megasft::rl {

// strict: the paper's RL reward (the boxed string equals the gold after one normalisation);
// equivalent: LaTeX fractions, \left/\right, spaces, units, degrees, percentages, trailing .0,
// numbers within 1e-4 relative, tuples and intervals element-wise.
enum class GradingMode { kStrict, kEquivalent };

// "strict" | "equivalent"; anything else throws megasft::Error naming the accepted values.
GradingMode parse_grading_mode(std::string_view name);
const char* grading_mode_name(GradingMode mode);

// The content of the last \boxed{...} in `response`, braces balanced; nullopt when there is none
// (or the last one is never closed: no falling back to an earlier box). verl's math_dapo rule.
std::optional<std::string> last_boxed_answer(std::string_view response);

// The answer `mode` reads from a response. strict: last_boxed_answer. equivalent: also \fbox{...}
// and the brace-less "\boxed 5" (up to the next '$' or line end), whichever starts last.
std::optional<std::string> extract_answer(std::string_view response, GradingMode mode);

// The normalisation both sides go through in strict mode: math_dapo's normalize_final_answer
// (the Minerva rules), its quirks included, so the reward is the one the paper trained with.
std::string strict_normalize(std::string_view answer);

// Whether `predicted` and `gold` (both already extracted: no \boxed) are the same answer in
// equivalent mode; every strict match is one too. An answer that normalises to "" never matches.
bool answers_equivalent(std::string_view predicted, std::string_view gold);

struct Grade {
  bool correct = false;
  std::optional<std::string> extracted;  // the last boxed answer, if any
};

// The response's answer (extract_answer) against the gold answer: a response without one is wrong,
// and so is one that normalises to "" (an empty box).
Grade grade_response(std::string_view response, std::string_view gold, GradingMode mode);

}  // namespace megasft::rl
