// Sample rows as JSONL and the summary table. Rows are grouped by (benchmark, problem index), never
// by the order they arrive in, so the table does not depend on how data-parallel replicas split the
// work.
#include "megasft/eval/eval_results.h"

#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "kernels/check.h"

namespace megasft::eval {
namespace {

using json = nlohmann::ordered_json;  // keys in the order written, for people reading the files

template <typename T>
T field(const json& row, const char* name, const std::string& path, int64_t line) {
  const auto it = row.find(name);
  MEGASFT_CHECK(it != row.end(), path, ":", line, ": field '", name, "' is missing");
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    MEGASFT_FAIL(path, ":", line, ": field '", name, "' has the wrong type: ", it->dump());
  }
}

void write_atomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    MEGASFT_CHECK(out.good(), "cannot write '", tmp, "'");
    out << text;
    out.close();
    MEGASFT_CHECK(out.good(), "writing '", tmp, "' failed (disk full?)");
  }
  std::error_code error;
  std::filesystem::rename(tmp, path, error);
  MEGASFT_CHECK(!error, "cannot rename '", tmp, "' to '", path, "': ", error.message());
}

std::string percent(double fraction) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(1) << 100.0 * fraction;
  return out.str();
}

// A Markdown cell: a '|' in a model path would end the cell.
std::string cell(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

std::string sample_to_json_line(const SampleResult& row) {
  json out = {{"benchmark", row.benchmark},
              {"problem_index", row.problem_index},
              {"problem_id", row.problem_id},
              {"prompt", row.prompt},
              {"sample_index", row.sample_index},
              {"response", row.response},
              {"extracted", row.extracted ? json(*row.extracted) : json(nullptr)},
              {"correct", row.correct},
              {"gold", row.gold},
              {"stopped", row.stopped},
              {"response_tokens", row.response_tokens}};
  // Responses of a half-trained model can cut a UTF-8 character at --max-new-tokens: replace the
  // broken bytes rather than fail the whole evaluation at the end.
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

SampleResult sample_from_json_line(const std::string& text, const std::string& path, int64_t line) {
  json row;
  try {
    row = json::parse(text);
  } catch (const json::parse_error& e) {
    MEGASFT_FAIL(path, ":", line, ": invalid JSON: ", e.what());
  }
  MEGASFT_CHECK(row.is_object(), path, ":", line, ": a sample row should be a JSON object");
  SampleResult r;
  r.benchmark = field<std::string>(row, "benchmark", path, line);
  r.problem_index = field<int64_t>(row, "problem_index", path, line);
  r.problem_id = field<std::string>(row, "problem_id", path, line);
  r.prompt = field<std::string>(row, "prompt", path, line);
  r.sample_index = field<int64_t>(row, "sample_index", path, line);
  r.response = field<std::string>(row, "response", path, line);
  const auto extracted = row.find("extracted");
  MEGASFT_CHECK(extracted != row.end() && (extracted->is_null() || extracted->is_string()), path,
                ":", line, ": field 'extracted' should be a string or null");
  if (extracted->is_string()) r.extracted = extracted->get<std::string>();
  r.correct = field<bool>(row, "correct", path, line);
  r.gold = field<std::string>(row, "gold", path, line);
  r.stopped = field<bool>(row, "stopped", path, line);
  r.response_tokens = field<int64_t>(row, "response_tokens", path, line);
  return r;
}

void write_sample_rows(const std::string& path, const std::vector<SampleResult>& rows) {
  std::string text;
  for (const auto& row : rows) text += sample_to_json_line(row) + "\n";
  write_atomically(path, text);
}

std::vector<SampleResult> read_sample_rows(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  MEGASFT_CHECK(in.good(), "cannot open sample rows '", path, "'");
  std::vector<SampleResult> rows;
  std::string text;
  for (int64_t line = 1; std::getline(in, text); ++line)
    if (!text.empty()) rows.push_back(sample_from_json_line(text, path, line));
  return rows;
}

std::vector<int64_t> pass_at_k_ks(int64_t samples) {
  MEGASFT_CHECK(samples >= 1, "pass@k needs at least one sample per problem, got ", samples);
  std::vector<int64_t> ks;
  for (int64_t k = 1; k <= samples; k *= 2) ks.push_back(k);
  if (ks.back() != samples) ks.push_back(samples);
  return ks;
}

BenchmarkSummary summarize_benchmark(const std::string& name, int64_t problems, int64_t samples,
                                     double temperature, const std::vector<SampleResult>& rows) {
  MEGASFT_CHECK(problems >= 1, "benchmark ", name, ": no problems to summarize");
  std::vector<ProblemOutcome> outcomes(static_cast<size_t>(problems));
  std::vector<std::set<int64_t>> seen(static_cast<size_t>(problems));
  for (const auto& row : rows) {
    if (row.benchmark != name) continue;
    MEGASFT_CHECK(row.problem_index >= 0 && row.problem_index < problems, "benchmark ", name,
                  ": problem_index ", row.problem_index, " outside 0..", problems - 1);
    MEGASFT_CHECK(row.sample_index >= 0 && row.sample_index < samples, "benchmark ", name,
                  ", problem ", row.problem_index, ": sample_index ", row.sample_index,
                  " outside 0..", samples - 1);
    const auto p = static_cast<size_t>(row.problem_index);
    MEGASFT_CHECK(seen[p].insert(row.sample_index).second, "benchmark ", name, ", problem ",
                  row.problem_index, ": sample ", row.sample_index, " appears twice");
    outcomes[p].samples += 1;
    outcomes[p].correct += row.correct ? 1 : 0;
  }
  for (int64_t p = 0; p < problems; ++p)
    MEGASFT_CHECK(outcomes[static_cast<size_t>(p)].samples == samples, "benchmark ", name,
                  ", problem ", p, ": ", outcomes[static_cast<size_t>(p)].samples, " of ", samples,
                  " samples");
  BenchmarkSummary s;
  s.name = name;
  s.problems = problems;
  s.samples = samples;
  s.temperature = temperature;
  s.avg_at_k = average_accuracy(outcomes);
  for (int64_t k : pass_at_k_ks(samples)) s.pass_at_k.emplace_back(k, mean_pass_at_k(outcomes, k));
  return s;
}

double EvalReport::mean_avg_at_k() const {
  if (benchmarks.empty()) return 0.0;
  double sum = 0;
  for (const auto& b : benchmarks) sum += b.avg_at_k;
  return sum / static_cast<double>(benchmarks.size());
}

std::string results_json(const EvalReport& report) {
  json benchmarks = json::array();
  for (const auto& b : report.benchmarks) {
    json pass = json::object();
    for (const auto& [k, value] : b.pass_at_k) pass[std::to_string(k)] = value;
    benchmarks.push_back({{"name", b.name},
                          {"problems", b.problems},
                          {"samples", b.samples},
                          {"temperature", b.temperature},
                          {"avg_at_k", b.avg_at_k},
                          {"pass_at_k", pass}});
  }
  const json out = {{"benchmarks", benchmarks},
                    {"mean_avg_at_k", report.mean_avg_at_k()},
                    {"model", report.model},
                    {"grading", report.grading}};
  return out.dump(2) + "\n";
}

std::string results_markdown(const EvalReport& report) {
  std::ostringstream md;
  md << "| Model |";
  for (const auto& b : report.benchmarks)
    md << " " << cell(b.name) << " (Avg@" << b.samples << ") |";
  md << " Avg |\n|:--|";
  for (size_t i = 0; i <= report.benchmarks.size(); ++i) md << "--:|";
  md << "\n| " << cell(report.model) << " |";
  for (const auto& b : report.benchmarks) md << " " << percent(b.avg_at_k) << " |";
  md << " " << percent(report.mean_avg_at_k()) << " |\n";

  std::set<int64_t> ks;  // the union over benchmarks, a row each
  for (const auto& b : report.benchmarks)
    for (const auto& entry : b.pass_at_k) ks.insert(entry.first);
  md << "\n| pass@k |";
  for (const auto& b : report.benchmarks) md << " " << cell(b.name) << " |";
  md << "\n|:--|";
  for (size_t i = 0; i < report.benchmarks.size(); ++i) md << "--:|";
  md << "\n";
  for (int64_t k : ks) {
    md << "| pass@" << k << " |";
    for (const auto& b : report.benchmarks) {
      std::string value = "-";
      for (const auto& [kb, v] : b.pass_at_k)
        if (kb == k) value = percent(v);
      md << " " << value << " |";
    }
    md << "\n";
  }
  return md.str();
}

void write_eval_report(const std::string& dir, const EvalReport& report) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  MEGASFT_CHECK(!error, "cannot create output folder '", dir, "': ", error.message());
  write_atomically((std::filesystem::path(dir) / "results.json").string(), results_json(report));
  write_atomically((std::filesystem::path(dir) / "results.md").string(), results_markdown(report));
}

}  // namespace megasft::eval
