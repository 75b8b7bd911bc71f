// `megasft eval` end to end under megasft-run on a tiny random Qwen2 model with the demo's
// character format: the files it writes and their agreement with each other, samples that do not
// depend on the data- or pipeline-parallel split, the paper preset, and bad options named. A random
// model boxes nothing, so every sample is wrong: the table's arithmetic is tested in
// eval_results_test.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/model/command_runner.h"
#include "tests/model/tiny_checkpoint.h"

namespace megasft::testing {
namespace {

using json = nlohmann::json;

// The model and two benchmark files in Qwen2.5-Math's layouts.
void write_fixtures(const ScratchDir& dir) {
  auto spec = tiny_qwen2_spec();
  // A head larger than the character tokenizer's 99 ids, as real models have: the rows past the
  // tokenizer must never be sampled (decode would reject them).
  spec.vocab_size = 128;
  write_tiny_checkpoint(dir.file("model"), spec);
  std::ofstream(dir.file("aime24.jsonl"))
      << R"({"id":60,"problem":"Find x.","solution":"s","answer":"204","url":"u","question":"Find x."})"
         "\n"
      << R"({"id":61,"problem":"Find y.","solution":"s","answer":"113","url":"u","question":"Find y."})"
         "\n"
      << R"({"id":62,"problem":"Find z.","solution":"s","answer":"371","url":"u","question":"Find z."})"
         "\n";
  std::ofstream(dir.file("gsm8k.jsonl"))
      << R"({"question":"Two eggs?","answer":"1 + 1\n#### 2","idx":0})"
         "\n"
      << R"({"question":"Many eggs?","answer":"so\n#### 1,600","idx":1})"
         "\n";
}

std::vector<std::string> eval_args(const ScratchDir& dir, const std::string& output,
                                   const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"eval",
                                   "--model",
                                   dir.file("model"),
                                   "--tokenizer",
                                   "char",
                                   "--benchmark",
                                   "aime24=" + dir.file("aime24.jsonl"),
                                   "--benchmark",
                                   "gsm8k=" + dir.file("gsm8k.jsonl"),
                                   "--max-new-tokens",
                                   "12",
                                   "--generation-batch-size",
                                   "4",
                                   "--seed",
                                   "5",
                                   "--output",
                                   dir.file(output)};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

std::vector<json> read_jsonl(const std::string& path) {
  std::vector<json> rows;
  std::istringstream in(file_text(path));
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) rows.push_back(json::parse(line));
  return rows;
}

TEST(EvalCommand, WritesSamplesAndTableAtTp2) {
  ScratchDir dir;
  write_fixtures(dir);
  auto result = run_megasft(
      2, eval_args(dir, "out", {"--tp", "2", "--samples", "4", "--temperature", "1.0"}), dir);
  ASSERT_EQ(result.exit_code, 0) << output_of(result);
  EXPECT_NE(result.out.find("| Model | aime24 (Avg@4) | gsm8k (Avg@4) | Avg |"), std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("| pass@4 |"), std::string::npos) << result.out;

  const auto rows = read_jsonl(dir.file("out/samples.jsonl"));
  ASSERT_EQ(rows.size(), 3u * 4 + 2u * 4);
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    const bool aime = i < 12;
    EXPECT_EQ(r["benchmark"], aime ? "aime24" : "gsm8k") << i;
    EXPECT_EQ(r["problem_index"], static_cast<int64_t>(aime ? i / 4 : (i - 12) / 4)) << i;
    EXPECT_EQ(r["sample_index"], static_cast<int64_t>(i % 4)) << i;
    EXPECT_LE(r["response_tokens"].get<int64_t>(), 12) << i;
    EXPECT_FALSE(r["correct"].get<bool>()) << i << ": a random model boxed the answer?";
  }
  EXPECT_EQ(rows[4]["problem_id"], "61");
  EXPECT_EQ(rows[4]["gold"], "113");
  EXPECT_EQ(rows[4]["prompt"], "Find y.");
  EXPECT_EQ(rows[19]["gold"], "1600");

  const auto results = json::parse(file_text(dir.file("out/results.json")));
  ASSERT_EQ(results["benchmarks"].size(), 2u);
  EXPECT_EQ(results["benchmarks"][0]["name"], "aime24");
  EXPECT_EQ(results["benchmarks"][0]["problems"], 3);
  EXPECT_EQ(results["benchmarks"][0]["samples"], 4);
  EXPECT_EQ(results["benchmarks"][1]["problems"], 2);
  for (const char* k : {"1", "2", "4"})
    EXPECT_TRUE(results["benchmarks"][0]["pass_at_k"].contains(k)) << k;
  EXPECT_EQ(results["mean_avg_at_k"], 0.0);
  EXPECT_EQ(results["grading"], "equivalent");
  EXPECT_EQ(results["model"], dir.file("model"));
  EXPECT_NE(result.out.find(file_text(dir.file("out/results.md"))), std::string::npos)
      << result.out;
  EXPECT_FALSE(std::filesystem::exists(dir.file("out/parts")));
}

// The same samples whether one replica does everything, two split the problems, or two pipeline
// stages share the model: each sample's random stream is named by (benchmark, problem, sample).
TEST(EvalCommand, SamplesDoNotDependOnTheLayout) {
  ScratchDir dir;
  write_fixtures(dir);
  const std::vector<std::string> sampling = {"--samples", "3",       "--temperature",
                                             "0.8",       "--top-p", "0.95"};
  auto one = run_megasft(1, eval_args(dir, "one", sampling), dir);
  ASSERT_EQ(one.exit_code, 0) << output_of(one);
  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.end(), sampling.begin(), sampling.end());
    return extra;
  };
  auto dp2 = run_megasft(2, eval_args(dir, "dp2", with({"--tp", "1"})), dir);
  ASSERT_EQ(dp2.exit_code, 0) << output_of(dp2);
  auto pp2 = run_megasft(2, eval_args(dir, "pp2", with({"--tp", "1", "--pp", "2"})), dir);
  ASSERT_EQ(pp2.exit_code, 0) << output_of(pp2);
  const auto a = read_jsonl(dir.file("one/samples.jsonl"));
  ASSERT_EQ(a.size(), 3u * 3 + 2u * 3);
  for (const char* other : {"dp2", "pp2"}) {
    const auto b = read_jsonl(dir.file(std::string(other) + "/samples.jsonl"));
    ASSERT_EQ(a.size(), b.size()) << other;
    for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]) << other << " row " << i;
  }
  // Different samples of one problem draw differently (their streams are distinct).
  EXPECT_NE(a[0]["response"], a[1]["response"]);
}

TEST(EvalCommand, PaperPresetSamplesPerBenchmark) {
  ScratchDir dir;
  write_fixtures(dir);
  auto result = run_megasft(1, eval_args(dir, "out", {"--preset", "paper", "--limit", "2"}), dir);
  ASSERT_EQ(result.exit_code, 0) << output_of(result);
  const auto results = json::parse(file_text(dir.file("out/results.json")));
  EXPECT_EQ(results["benchmarks"][0]["problems"], 2);  // --limit 2 of 3
  EXPECT_EQ(results["benchmarks"][0]["samples"], 8);
  EXPECT_EQ(results["benchmarks"][0]["temperature"], 0.7);
  EXPECT_EQ(results["benchmarks"][1]["samples"], 1);
  EXPECT_EQ(results["benchmarks"][1]["temperature"], 1.0);
  EXPECT_EQ(read_jsonl(dir.file("out/samples.jsonl")).size(), 2u * 8 + 2u * 1);
}

TEST(EvalCommand, BadOptionsAndFilesAreNamed) {
  ScratchDir dir;
  write_fixtures(dir);
  std::ofstream(dir.file("bad.jsonl")) << R"({"question":"q","answer":"1"})"
                                          "\n"
                                       << R"({"question":"q"})"
                                          "\n";
  const auto fails_with = [&](std::vector<std::string> args, const std::string& expected) {
    auto result = run_megasft(1, args, dir);
    EXPECT_NE(result.exit_code, 0) << output_of(result);
    EXPECT_NE(result.err.find(expected), std::string::npos) << output_of(result);
  };
  fails_with(eval_args(dir, "x", {"--preset", "paper", "--samples", "2"}),
             "--preset paper sets --samples");
  fails_with(eval_args(dir, "x", {"--benchmark", "mmlu=" + dir.file("bad.jsonl")}),
             "unknown benchmark 'mmlu'");
  fails_with(eval_args(dir, "x", {"--benchmark", "aime25=" + dir.file("bad.jsonl")}),
             dir.file("bad.jsonl") + ":2: field 'answer' is missing");
  fails_with(eval_args(dir, "x", {"--benchmark", "aime24=" + dir.file("gsm8k.jsonl")}),
             "given twice");
  fails_with(eval_args(dir, "x", {"--samples", "2", "--temperature", "0"}), "identical samples");
  fails_with(eval_args(dir, "x", {"--system-prompt", "be brief"}), "no system turn");
  fails_with(eval_args(dir, "x", {"--max-prompt-tokens", "5"}), "more than --max-prompt-tokens 5");
}

}  // namespace
}  // namespace megasft::testing
