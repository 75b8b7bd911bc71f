// A generations JSONL grouped by prompt, for diversity metrics (Self-BLEU): a row holds all samples
// of a prompt, or one sample as `megasft eval` writes them. Bad rows are errors naming file:line.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace megasft::eval {

struct PromptGenerations {
  // What grouped the rows, as a JSON array: ["problem_index", benchmark, index],
  // ["problem_id", benchmark, id], ["prompt_id", id] or ["prompt", prompt].
  std::string key;
  int64_t first_line = 0;  // 1-based line of the group's first row
  std::vector<std::string>
      samples;  // sorted by sample_index when every row has one, else file order
};

// Reads every non-blank line of `path` as a JSON object of one of two forms:
//   {"prompt": ..., "samples": ["...", ...]}   all samples of a prompt
//   {"prompt": ..., "response": "..."}         one sample (`megasft eval` rows also carry
//                                              "benchmark", "problem_id", "sample_index", ...)
// Rows are grouped by (benchmark, problem_index) when "problem_index" is present, else by
// (benchmark, problem_id), else by "prompt_id", else by the "prompt" value; groups keep the order
// of their first row. Throws megasft::Error
// "<path>:<line>: ..." for invalid JSON, a non-object row, no grouping field, both or neither of
// samples/response, a non-string sample, or a sample_index repeated within a group; an unreadable
// or empty file is an error too.
std::vector<PromptGenerations> read_generations_file(const std::string& path);

}  // namespace megasft::eval
