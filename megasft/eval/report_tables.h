// The tables of `megasft report`: evaluation results (results.json of `megasft eval`), Self-BLEU
// (self_bleu.json) and a run's summary.json, each read strictly and rendered as an HTML table.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace megasft::eval {

// &, <, >, " and ' as HTML entities.
std::string html_escape(std::string_view text);

// Every regular file called `name` under the roots (a root may itself be such a file), searched
// recursively without following directory links; sorted, each file once.
std::vector<std::string> find_files_named(const std::vector<std::string>& roots,
                                          const std::string& name);

// One results.json: {"benchmarks": [{"name", "problems", "samples", "temperature", "avg_at_k",
// "pass_at_k": {"1": ...}}], "mean_avg_at_k", "model", "grading"} as a heading (`shown_as`, model,
// grading) and a table with a pass@k column per k found. Malformed files are errors naming the
// file and the field.
std::string eval_results_html(const std::string& path, const std::string& shown_as);

// self_bleu.json files of `megasft self-bleu` ({"self_bleu", "scale", "prompts", "samples",
// "order", "variant", "tokenization"}; only self_bleu is required), a row each, named by `shown_as`
// (same length as paths).
std::string self_bleu_html(const std::vector<std::string>& paths,
                           const std::vector<std::string>& shown_as);

// A flat JSON object (summary.json) as a two-column table; nested values are shown as JSON.
std::string json_object_html(const std::string& path);

// A number as every table shows it: integers in full, others with 4 significant digits, NaN as "-".
std::string format_number(double value);

}  // namespace megasft::eval
