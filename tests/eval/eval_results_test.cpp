// Sample rows through JSONL and back, and the results table against numbers worked out by hand:
// aime24 with K = 4 and correct counts {0, 1, 3}, gsm8k with K = 1 and {1, 0}.
#include "megasft/eval/eval_results.h"

#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "kernels/check.h"
#include "megasft/eval/report_tables.h"
#include "tests/data/temp_dir.h"

namespace megasft::eval {
namespace {

using data::testing::TempDir;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

SampleResult row(const std::string& benchmark, int64_t problem, int64_t sample, bool correct) {
  SampleResult r;
  r.benchmark = benchmark;
  r.problem_index = problem;
  r.problem_id = "id" + std::to_string(problem);
  r.prompt = "question " + std::to_string(problem);
  r.sample_index = sample;
  r.response = "so \\boxed{" + std::string(correct ? "1" : "2") + "}";
  r.extracted = correct ? "1" : "2";
  r.correct = correct;
  r.gold = "1";
  r.stopped = true;
  r.response_tokens = 5;
  return r;
}

// Problem p of aime24 has correct[p] correct samples out of 4, listed in a scrambled order (as
// data-parallel parts arrive).
std::vector<SampleResult> hand_rows() {
  std::vector<SampleResult> rows;
  const int correct[3] = {0, 1, 3};
  for (int s = 3; s >= 0; --s)
    for (int p = 2; p >= 0; --p) rows.push_back(row("aime24", p, s, s < correct[p]));
  rows.push_back(row("gsm8k", 1, 0, false));
  rows.push_back(row("gsm8k", 0, 0, true));
  return rows;
}

EvalReport hand_report() {
  const auto rows = hand_rows();
  EvalReport report;
  report.model = "ckpt/iter_100";
  report.benchmarks.push_back(summarize_benchmark("aime24", 3, 4, 0.7, rows));
  report.benchmarks.push_back(summarize_benchmark("gsm8k", 2, 1, 1.0, rows));
  return report;
}

TEST(EvalResults, PassAtKListsPowersOfTwoAndK) {
  EXPECT_EQ(pass_at_k_ks(1), (std::vector<int64_t>{1}));
  EXPECT_EQ(pass_at_k_ks(6), (std::vector<int64_t>{1, 2, 4, 6}));
  EXPECT_EQ(pass_at_k_ks(8), (std::vector<int64_t>{1, 2, 4, 8}));
  EXPECT_NE(error_of([] { pass_at_k_ks(0); }).find("at least one sample"), std::string::npos);
}

TEST(EvalResults, SummaryMatchesHandComputation) {
  const auto report = hand_report();
  const auto& aime = report.benchmarks[0];
  EXPECT_EQ(aime.problems, 3);
  EXPECT_EQ(aime.samples, 4);
  EXPECT_DOUBLE_EQ(aime.avg_at_k, 4.0 / 12.0);  // (0 + 1 + 3) correct of 12
  ASSERT_EQ(aime.pass_at_k.size(), 3u);
  EXPECT_EQ(aime.pass_at_k[0].first, 1);
  EXPECT_NEAR(aime.pass_at_k[0].second, (0.0 + 0.25 + 0.75) / 3, 1e-12);
  EXPECT_EQ(aime.pass_at_k[1].first, 2);
  // c = 1: 1 - C(3,2)/C(4,2) = 1/2; c = 3: every pair holds a correct sample.
  EXPECT_NEAR(aime.pass_at_k[1].second, (0.0 + 0.5 + 1.0) / 3, 1e-12);
  EXPECT_EQ(aime.pass_at_k[2].first, 4);
  EXPECT_NEAR(aime.pass_at_k[2].second, 2.0 / 3, 1e-12);
  const auto& gsm = report.benchmarks[1];
  EXPECT_DOUBLE_EQ(gsm.avg_at_k, 0.5);
  ASSERT_EQ(gsm.pass_at_k.size(), 1u);
  EXPECT_DOUBLE_EQ(gsm.pass_at_k[0].second, 0.5);
  EXPECT_NEAR(report.mean_avg_at_k(), (1.0 / 3 + 0.5) / 2, 1e-12);
}

TEST(EvalResults, ResultsJsonHasTheReportFormat) {
  const auto json = nlohmann::json::parse(results_json(hand_report()));
  ASSERT_TRUE(json["benchmarks"].is_array());
  ASSERT_EQ(json["benchmarks"].size(), 2u);
  const auto& aime = json["benchmarks"][0];
  EXPECT_EQ(aime["name"], "aime24");
  EXPECT_EQ(aime["problems"], 3);
  EXPECT_EQ(aime["samples"], 4);
  EXPECT_DOUBLE_EQ(aime["temperature"].get<double>(), 0.7);
  EXPECT_NEAR(aime["avg_at_k"].get<double>(), 1.0 / 3, 1e-12);
  EXPECT_EQ(aime["pass_at_k"].size(), 3u);
  EXPECT_NEAR(aime["pass_at_k"]["2"].get<double>(), 0.5, 1e-12);
  EXPECT_NEAR(aime["pass_at_k"]["4"].get<double>(), 2.0 / 3, 1e-12);
  EXPECT_NEAR(json["mean_avg_at_k"].get<double>(), 5.0 / 12, 1e-12);
  EXPECT_EQ(json["model"], "ckpt/iter_100");
  EXPECT_EQ(json["grading"], "equivalent");
}

TEST(EvalResults, MarkdownIsTableOneInPercent) {
  const std::string expected =
      "| Model | aime24 (Avg@4) | gsm8k (Avg@1) | Avg |\n"
      "|:--|--:|--:|--:|\n"
      "| ckpt/iter_100 | 33.3 | 50.0 | 41.7 |\n"
      "\n"
      "| pass@k | aime24 | gsm8k |\n"
      "|:--|--:|--:|\n"
      "| pass@1 | 33.3 | 50.0 |\n"
      "| pass@2 | 50.0 | - |\n"
      "| pass@4 | 66.7 | - |\n";
  EXPECT_EQ(results_markdown(hand_report()), expected);
}

TEST(EvalResults, ReportFilesAreReadByTheHtmlReport) {
  TempDir dir;
  write_eval_report(dir.file("out"), hand_report());
  std::ifstream md(dir.file("out/results.md"));
  EXPECT_TRUE(md.good());
  const auto html = eval_results_html(dir.file("out/results.json"), "run");
  EXPECT_NE(html.find("aime24"), std::string::npos) << html;
  EXPECT_NE(html.find("pass@4"), std::string::npos) << html;
  EXPECT_NE(html.find("ckpt/iter_100"), std::string::npos) << html;
}

TEST(EvalResults, RowsRoundTripThroughJsonl) {
  TempDir dir;
  auto rows = hand_rows();
  rows[0].extracted.reset();
  rows[1].response = "line one\nquote \" and unicode \xce\xbb";
  write_sample_rows(dir.file("samples.jsonl"), rows);
  const auto back = read_sample_rows(dir.file("samples.jsonl"));
  ASSERT_EQ(back.size(), rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(back[i].benchmark, rows[i].benchmark);
    EXPECT_EQ(back[i].problem_index, rows[i].problem_index);
    EXPECT_EQ(back[i].problem_id, rows[i].problem_id);
    EXPECT_EQ(back[i].prompt, rows[i].prompt);
    EXPECT_EQ(back[i].sample_index, rows[i].sample_index);
    EXPECT_EQ(back[i].response, rows[i].response);
    EXPECT_EQ(back[i].extracted, rows[i].extracted);
    EXPECT_EQ(back[i].correct, rows[i].correct);
    EXPECT_EQ(back[i].gold, rows[i].gold);
    EXPECT_EQ(back[i].stopped, rows[i].stopped);
    EXPECT_EQ(back[i].response_tokens, rows[i].response_tokens);
  }
  const auto line = nlohmann::json::parse(sample_to_json_line(rows[0]));
  for (const char* key : {"benchmark", "problem_id", "prompt", "sample_index", "response",
                          "extracted", "correct", "gold", "stopped", "response_tokens"})
    EXPECT_TRUE(line.contains(key)) << key;
  EXPECT_TRUE(line["extracted"].is_null());
}

TEST(EvalResults, ResponseCutInsideACharacterStillWrites) {
  auto r = row("aime24", 0, 0, false);
  r.response = "ends mid-character \xe2\x82";  // the first two bytes of a three-byte character
  const auto back = sample_from_json_line(sample_to_json_line(r), "x", 1);
  EXPECT_EQ(back.response.rfind("ends mid-character ", 0), 0u);
}

TEST(EvalResults, BadRowsNameFileLineAndField) {
  auto message = error_of([] { sample_from_json_line("{oops", "parts/0.jsonl", 7); });
  EXPECT_NE(message.find("parts/0.jsonl:7: invalid JSON"), std::string::npos) << message;
  message = error_of([] { sample_from_json_line(R"({"benchmark":"a"})", "p", 2); });
  EXPECT_NE(message.find("p:2: field 'problem_index' is missing"), std::string::npos) << message;
  auto json = nlohmann::json::parse(sample_to_json_line(row("a", 0, 0, true)));
  json["correct"] = "yes";
  message = error_of([&] { sample_from_json_line(json.dump(), "p", 3); });
  EXPECT_NE(message.find("p:3: field 'correct' has the wrong type"), std::string::npos) << message;
}

TEST(EvalResults, MissingOrRepeatedSamplesAreErrors) {
  auto rows = hand_rows();
  rows.erase(rows.begin());  // problem 2, sample 3 of aime24
  auto message = error_of([&] { summarize_benchmark("aime24", 3, 4, 0.7, rows); });
  EXPECT_NE(message.find("problem 2: 3 of 4 samples"), std::string::npos) << message;
  rows = hand_rows();
  rows.push_back(row("aime24", 1, 2, true));
  message = error_of([&] { summarize_benchmark("aime24", 3, 4, 0.7, rows); });
  EXPECT_NE(message.find("problem 1: sample 2 appears twice"), std::string::npos) << message;
  message = error_of([&] { summarize_benchmark("aime24", 2, 4, 0.7, hand_rows()); });
  EXPECT_NE(message.find("problem_index 2 outside 0..1"), std::string::npos) << message;
}

}  // namespace
}  // namespace megasft::eval
