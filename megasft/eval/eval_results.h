// What `megasft eval` writes: one JSONL row per generated sample, and the table over benchmarks
// (results.json for tools and `megasft report`, results.md laid out like the paper's Table 1).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "megasft/eval/pass_at_k.h"

namespace megasft::eval {

// One graded sample. JSON keys are the field names.
struct SampleResult {
  std::string benchmark;
  int64_t problem_index =
      0;  // position in the benchmark file: the key rows are merged and grouped by
  std::string problem_id;
  std::string prompt;  // the question as the user turn held it (before the chat template)
  int64_t sample_index = 0;
  std::string response;
  std::optional<std::string>
      extracted;  // the last \boxed{} answer; null when the response has none
  bool correct = false;
  std::string gold;
  bool stopped = false;  // ended at a stop token, not at --max-new-tokens
  int64_t response_tokens = 0;
};

std::string sample_to_json_line(const SampleResult& row);  // one line, no newline
// Throws "<path>:<line>: ..." naming a missing or mistyped field.
SampleResult sample_from_json_line(const std::string& text, const std::string& path, int64_t line);

// Rows one per line, written to path.tmp and renamed, so a reader never sees half a file.
void write_sample_rows(const std::string& path, const std::vector<SampleResult>& rows);
std::vector<SampleResult> read_sample_rows(const std::string& path);

struct BenchmarkSummary {
  std::string name;
  int64_t problems = 0;
  int64_t samples = 0;  // K, per problem
  double temperature = 0;
  double avg_at_k = 0;                                // mean accuracy over all problems x K samples
  std::vector<std::pair<int64_t, double>> pass_at_k;  // ascending k
};

// The k of the table: powers of two up to K, and K itself (1, 2, 4, 8 for K = 8; 1, 2, 4, 6 for 6).
std::vector<int64_t> pass_at_k_ks(int64_t samples);

// Groups `rows` of benchmark `name` by problem. Every problem 0..problems-1 must have exactly K
// rows with sample indices 0..K-1: a missing or repeated sample throws naming the problem, since a
// hole would bias the estimate silently.
BenchmarkSummary summarize_benchmark(const std::string& name, int64_t problems, int64_t samples,
                                     double temperature, const std::vector<SampleResult>& rows);

struct EvalReport {
  std::vector<BenchmarkSummary> benchmarks;
  std::string model;
  std::string grading = "equivalent";
  double mean_avg_at_k() const;  // unweighted over benchmarks, as the paper's Avg column
};

// {"benchmarks": [{"name", "problems", "samples", "temperature", "avg_at_k", "pass_at_k": {"1":
// ..}}],
//  "mean_avg_at_k", "model", "grading"}: fractions in [0, 1]. `megasft report` reads exactly this.
std::string results_json(const EvalReport& report);

// Table 1's layout: one row for the model with a column per benchmark (Avg@K) and the mean, then
// one row per k of pass@k ("-" where k > K); percentages with one decimal.
std::string results_markdown(const EvalReport& report);

// results.json and results.md under `dir` (created if missing), each via a temporary file.
void write_eval_report(const std::string& dir, const EvalReport& report);

}  // namespace megasft::eval
