// The math benchmarks of `megasft eval`, read in the layout of Qwen2.5-Math's evaluation data
// (evaluation/data/<name>/test.jsonl): each loader knows which fields hold the question and the
// gold.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace megasft::eval {

struct MathProblem {
  std::string id;  // the row's `idx`, `id` or `unique_id`, else its 0-based position in the file
  std::string question;  // the user turn, as Qwen2.5-Math's parse_question builds it
  std::string
      answer;  // the gold answer, `$` delimiters stripped; empty in a few real rows (gaokao2023en
               // has two): such a problem can never be solved, as in Qwen2.5-Math's toolkit
  int64_t line = 0;  // 1-based line in the file
};

// Per loader (Qwen2.5-Math's parse_question / parse_ground_truth):
//   question: the first of `question`, `problem`, `Question`, `input`, trimmed; " (True or False)"
//   or
//             " (Yes or No)" appended when the gold answer is one of those words.
//   gold:     aime24, aime25, amc23, math, math500, gaokao2023en, college_math, generic: `answer`
//             (a string, or a number: amc23 stores 27.0, written "27"); math and math500 fall back
//             to the last \boxed{} of `solution` (the MATH layout without `answer`); gsm8k: the
//             text after `####` in `answer`, thousands separators removed; olympiadbench:
//             `final_answer[0]`.
// "generic" is the fallback layout for files of other benchmarks (see BenchmarkSpec).
const std::vector<std::string>& known_math_loaders();

// Every non-blank line of `path` through loader `loader`. Throws megasft::Error "<path>:<line>:
// ..." for invalid JSON, a row that is not an object, a missing or empty question, a missing or
// mistyped gold field, a gsm8k answer without exactly one `####`; an unknown loader names the known
// ones. An empty file is an error too.
std::vector<MathProblem> load_math_benchmark(const std::string& loader, const std::string& path);

// `--benchmark NAME=FILE` (NAME a known loader) or `LOADER:NAME=FILE` (a file of another benchmark
// in a known loader's layout, shown as NAME). Throws naming the text and the known loaders.
struct BenchmarkSpec {
  std::string name;    // the table's column
  std::string loader;  // one of known_math_loaders()
  std::string path;
};
BenchmarkSpec parse_benchmark_spec(const std::string& text);

// Removes `\$` (a dollar sign as a unit) and `$` (math delimiters), then surrounding whitespace.
std::string strip_dollars(std::string_view answer);

// The paper's evaluation settings (`--preset paper`): 8 samples at temperature 0.7 on the small
// competition sets (aime24, aime25, amc23), where one sample is too noisy; 1 sample at 1.0
// elsewhere.
struct SamplingPreset {
  int64_t samples = 1;
  double temperature = 1.0;
};
SamplingPreset paper_preset(std::string_view benchmark_name);

}  // namespace megasft::eval
