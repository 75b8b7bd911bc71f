// One loader per benchmark, all sharing the question lookup; they differ only in where the gold
// answer sits and how it is cleaned. Field names follow Qwen2.5-Math's evaluation/parser.py.
#include "megasft/eval/math_benchmarks.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "kernels/check.h"
#include "megasft/rl/math_grader.h"

namespace megasft::eval {
namespace {

using json = nlohmann::json;

std::string trim(std::string_view s) {
  const auto space = [](char c) { return c == ' ' || (c >= '\t' && c <= '\r'); };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return std::string(s);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Where a row went wrong, as every error of this file names it.
struct RowContext {
  const std::string& path;
  int64_t line;
};

[[noreturn]] void row_error(const RowContext& at, const std::string& what) {
  MEGASFT_FAIL(at.path, ":", at.line, ": ", what);
}

// A JSON number as the text a grader should see: amc23 stores integers as floats (27.0), which
// would otherwise print as "27.0" and read as a different string in strict comparisons.
std::string number_text(const json& value) {
  if (value.is_number_float()) {
    const double v = value.get<double>();
    constexpr double kExactInteger =
        9007199254740992.0;  // 2^53: larger doubles are not all integers
    if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < kExactInteger)
      return std::to_string(static_cast<int64_t>(v));
  }
  return value.dump();
}

// A string or number field, as text; `required` fails on absence.
std::optional<std::string> text_field(const json& row, const char* field, const RowContext& at,
                                      bool required) {
  const auto it = row.find(field);
  if (it == row.end() || it->is_null()) {
    if (required) row_error(at, std::string("field '") + field + "' is missing");
    return std::nullopt;
  }
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number()) return number_text(*it);
  row_error(at,
            std::string("field '") + field + "' should be a string or a number, got " + it->dump());
}

std::string question_of(const json& row, const RowContext& at) {
  for (const char* field : {"question", "problem", "Question", "input"}) {
    const auto it = row.find(field);
    if (it == row.end() || it->is_null()) continue;
    if (!it->is_string())
      row_error(at, std::string("field '") + field + "' should be a string, got " + it->dump());
    auto question = trim(it->get<std::string>());
    if (question.empty()) row_error(at, std::string("field '") + field + "' is empty");
    return question;
  }
  row_error(at, "no question: none of the fields 'question', 'problem', 'Question', 'input'");
}

std::string gsm8k_gold(const json& row, const RowContext& at) {
  const auto answer = *text_field(row, "answer", at, true);
  const auto marker = answer.find("####");
  if (marker == std::string::npos || answer.find("####", marker + 4) != std::string::npos)
    row_error(at, "field 'answer' should hold exactly one '####' before the final answer");
  std::string gold = answer.substr(marker + 4);
  gold.erase(std::remove(gold.begin(), gold.end(), ','), gold.end());  // "1,600" is GSM8K's 1600
  return gold;
}

std::string math_gold(const json& row, const RowContext& at) {
  if (auto answer = text_field(row, "answer", at, false)) return *answer;
  const auto it = row.find("solution");
  if (it == row.end() || !it->is_string())
    row_error(at,
              "neither an 'answer' field nor a 'solution' string to take the last \\boxed{} from");
  auto boxed = rl::last_boxed_answer(it->get<std::string>());
  if (!boxed) row_error(at, "no 'answer' field and no \\boxed{} in 'solution'");
  return *boxed;
}

std::string olympiadbench_gold(const json& row, const RowContext& at) {
  const auto it = row.find("final_answer");
  if (it == row.end() || !it->is_array() || it->empty() || !(*it)[0].is_string())
    row_error(at, "field 'final_answer' should be a non-empty list of strings, got " +
                      (it == row.end() ? std::string("nothing") : it->dump()));
  return (*it)[0].get<std::string>();
}

std::string gold_of(const std::string& loader, const json& row, const RowContext& at) {
  if (loader == "gsm8k") return gsm8k_gold(row, at);
  if (loader == "math" || loader == "math500") return math_gold(row, at);
  if (loader == "olympiadbench") return olympiadbench_gold(row, at);
  return *text_field(row, "answer", at, true);
}

std::string id_of(const json& row, const RowContext& at, size_t position) {
  for (const char* field : {"idx", "id", "unique_id"})
    if (auto id = text_field(row, field, at, false)) return *id;
  return std::to_string(position);
}

void check_loader(const std::string& loader, const std::string& where) {
  const auto& known = known_math_loaders();
  if (std::find(known.begin(), known.end(), loader) != known.end()) return;
  std::ostringstream names;
  for (const auto& name : known) names << (&name == &known.front() ? "" : ", ") << name;
  MEGASFT_FAIL(
      where, ": unknown benchmark '", loader, "'; known: ", names.str(),
      " (LOADER:NAME=FILE reads another benchmark in a known layout, e.g. generic:mybench=FILE)");
}

}  // namespace

const std::vector<std::string>& known_math_loaders() {
  static const std::vector<std::string> names = {
      "aime24",  "aime25",       "amc23",         "gsm8k",        "math",
      "math500", "gaokao2023en", "olympiadbench", "college_math", "generic"};
  return names;
}

std::string strip_dollars(std::string_view answer) {
  std::string out;
  for (size_t i = 0; i < answer.size(); ++i) {
    if (answer[i] == '\\' && i + 1 < answer.size() && answer[i + 1] == '$') {
      ++i;  // "\$" goes whole: dropping only the "$" would leave a stray backslash command
      continue;
    }
    if (answer[i] != '$') out.push_back(answer[i]);
  }
  return trim(out);
}

std::vector<MathProblem> load_math_benchmark(const std::string& loader, const std::string& path) {
  check_loader(loader, path);
  std::ifstream in(path);
  MEGASFT_CHECK(in.good(), "cannot open benchmark file '", path, "' (", loader, ")");
  std::vector<MathProblem> problems;
  std::string text;
  for (int64_t line = 1; std::getline(in, text); ++line) {
    if (trim(text).empty()) continue;
    const RowContext at{path, line};
    json row;
    try {
      row = json::parse(text);
    } catch (const json::parse_error& e) {
      row_error(at, std::string("invalid JSON: ") + e.what());
    }
    if (!row.is_object())
      row_error(at, "a row should be a JSON object, got " + row.dump().substr(0, 80));
    MathProblem problem;
    problem.line = line;
    problem.id = id_of(row, at, problems.size());
    // An empty gold is kept (gaokao2023en has two): the problem counts as unsolved, as in
    // Qwen2.5-Math's toolkit, so the problem counts and the table match theirs.
    problem.answer = strip_dollars(gold_of(loader, row, at));
    problem.question = question_of(row, at);
    // Qwen2.5-Math tells the model which words a yes/no or true/false answer is graded against.
    const auto gold = lower(problem.answer);
    if (gold == "true" || gold == "false") problem.question += " (True or False)";
    if (gold == "yes" || gold == "no") problem.question += " (Yes or No)";
    problems.push_back(std::move(problem));
  }
  MEGASFT_CHECK(!problems.empty(), "benchmark file '", path, "' (", loader, ") has no rows");
  return problems;
}

BenchmarkSpec parse_benchmark_spec(const std::string& text) {
  const auto equals = text.find('=');
  MEGASFT_CHECK(equals != std::string::npos && equals > 0 && equals + 1 < text.size(),
                "--benchmark '", text, "' should be NAME=FILE or LOADER:NAME=FILE");
  BenchmarkSpec spec;
  spec.path = text.substr(equals + 1);
  const auto head = text.substr(0, equals);
  const auto colon = head.find(':');
  if (colon == std::string::npos) {
    spec.name = spec.loader = head;
  } else {
    spec.loader = head.substr(0, colon);
    spec.name = head.substr(colon + 1);
    MEGASFT_CHECK(!spec.name.empty() && spec.name.find(':') == std::string::npos, "--benchmark '",
                  text, "': the NAME after '", spec.loader,
                  ":' should be non-empty and hold no ':'");
  }
  check_loader(spec.loader, "--benchmark '" + text + "'");
  return spec;
}

SamplingPreset paper_preset(std::string_view benchmark_name) {
  if (benchmark_name == "aime24" || benchmark_name == "aime25" || benchmark_name == "amc23")
    return {8, 0.7};
  return {1, 1.0};
}

}  // namespace megasft::eval
