// `megasft grpo` and `megasft rollout-filter` end to end under megasft-run on a tiny model with the
// character tokenizer: the same steps at every layout (sampling noise is named by sample, not by rank),
// an exact resume, the KL path, groups without advantage skipped, the held-out comparison, bad prompt
// rows named by line, and the filter's bookkeeping.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "megasft/data/demo_math.h"
#include "tests/model/command_runner.h"
#include "tests/model/tiny_checkpoint.h"

namespace megasft::testing {
namespace {

using json = nlohmann::json;

void write_fixtures(const ScratchDir& dir) {
  auto spec = tiny_llama_spec();
  spec.vocab_size = 104;  // the character tokenizer's 99 ids and head rows past them, never sampled
  spec.num_kv_heads = 2;
  write_tiny_checkpoint(dir.file("model"), spec);
  std::ofstream prompts(dir.file("prompts.jsonl"));
  for (const auto& p : data::generate_arithmetic_problems(3, 8)) {
    const auto open = p.answer.rfind("{"), close = p.answer.rfind("}");
    prompts << json({{"prompt", p.prompt}, {"answer", p.answer.substr(open + 1, close - open - 1)}}).dump() << "\n";
  }
}

std::vector<std::string> grpo_args(const ScratchDir& dir, const std::string& run, const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"grpo", "--model", dir.file("model"), "--prompts", dir.file("prompts.jsonl"),
                                   "--tokenizer", "char", "--run-dir", dir.file(run), "--max-steps", "2",
                                   "--samples-per-prompt", "4", "--prompts-per-step", "4", "--mini-batch-prompts", "2",
                                   "--micro-batch-size", "3", "--max-new-tokens", "10", "--max-prompt-tokens", "40",
                                   "--generation-batch-size", "8", "--lr", "1e-3", "--seed", "5",
                                   // A random model earns -1 everywhere (zero advantages): the entropy bonus
                                   // is what moves it, so step 2 depends on step 1's update.
                                   "--entropy-coef", "0.05"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

std::vector<json> metrics(const std::string& path) {
  std::vector<json> rows;
  std::istringstream in(file_text(path));
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) rows.push_back(json::parse(line));
  return rows;
}

void expect_same_steps(const std::vector<json>& a, const std::vector<json>& b, double tol, const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i)
    for (const char* key : {"reward_mean", "accuracy", "response_length", "entropy", "policy_loss", "grad_norm",
                            "clip_fraction"}) {
      const double x = a[i][key].get<double>(), y = b[i][key].get<double>();
      EXPECT_NEAR(x, y, tol * std::max(1.0, std::abs(y))) << what << ": step " << i + 1 << " " << key;
    }
}

TEST(GrpoCommand, EveryLayoutTakesTheSameSteps) {
  ScratchDir dir;
  write_fixtures(dir);
  auto one = run_megasft(1, grpo_args(dir, "one", {}), dir);
  ASSERT_EQ(one.exit_code, 0) << output_of(one);
  EXPECT_NE(one.out.find("[step 2/2] reward"), std::string::npos) << one.out;
  const auto reference = metrics(dir.file("one/metrics.jsonl"));
  ASSERT_EQ(reference.size(), 2u);
  EXPECT_GT(reference[0]["response_length"].get<double>(), 0.0);
  EXPECT_GT(reference[0]["grad_norm"].get<double>(), 0.0);
  for (const auto& [name, layout] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"tp2", {"--tp", "2"}}, {"pp2", {"--pp", "2"}}, {"dp2", {}}}) {
    auto run = run_megasft(2, grpo_args(dir, name, layout), dir);
    ASSERT_EQ(run.exit_code, 0) << name << "\n" << output_of(run);
    expect_same_steps(metrics(dir.file(name + "/metrics.jsonl")), reference, 1e-4, name);
  }
}

TEST(GrpoCommand, ResumeContinuesExactly) {
  ScratchDir dir;
  write_fixtures(dir);
  auto straight = run_megasft(2, grpo_args(dir, "straight", {"--tp", "2"}), dir);
  ASSERT_EQ(straight.exit_code, 0) << output_of(straight);
  auto first = run_megasft(2, grpo_args(dir, "split", {"--tp", "2", "--save", dir.file("ckpt"), "--exit-interval", "1"}), dir);
  ASSERT_EQ(first.exit_code, 0) << output_of(first);
  auto second = run_megasft(2, grpo_args(dir, "split", {"--tp", "2", "--save", dir.file("ckpt"), "--resume"}), dir);
  ASSERT_EQ(second.exit_code, 0) << output_of(second);
  EXPECT_NE(second.out.find("resumed from"), std::string::npos) << second.out;
  expect_same_steps(metrics(dir.file("split/metrics.jsonl")), metrics(dir.file("straight/metrics.jsonl")), 1e-9,
                    "resumed");
  // The checkpoint as the start of a new run: its model and the tokenizer it recorded ("char").
  auto args = grpo_args(dir, "from_checkpoint", {});
  args[2] = dir.file("ckpt");
  args.erase(args.begin() + 5, args.begin() + 7);  // no --tokenizer
  auto again = run_megasft(1, args, dir);
  ASSERT_EQ(again.exit_code, 0) << output_of(again);
  EXPECT_NE(again.out.find("char-v1"), std::string::npos) << again.out;
}

TEST(GrpoCommand, KlToAReferenceAndEntropyBonus) {
  ScratchDir dir;
  write_fixtures(dir);
  auto run = run_megasft(2, grpo_args(dir, "kl", {"--tp", "2", "--kl-coef", "0.1", "--kl-estimator", "k3",
                                                  "--loss-agg", "seq-mean-token-mean"}),
                         dir);
  ASSERT_EQ(run.exit_code, 0) << output_of(run);
  const auto rows = metrics(dir.file("kl/metrics.jsonl"));
  ASSERT_EQ(rows.size(), 2u);
  // Step 1's first mini-batch: the policy is the reference, so KL is 0; afterwards it is >= 0 (k3).
  ASSERT_TRUE(rows[0]["kl"].is_number()) << rows[0].dump();
  EXPECT_GE(rows[0]["kl"].get<double>(), 0.0);
  EXPECT_GT(rows[1]["kl"].get<double>(), 0.0);
}

TEST(GrpoCommand, UniformGroupsTrainNothingAndHeldOutIsComparedPairByPair) {
  ScratchDir dir;
  write_fixtures(dir);
  // Without the entropy bonus a random model's all -1 groups carry no gradient: every mini-batch keeps
  // one zero-advantage row (through the pipeline too), and the gradient norm is exactly 0.
  auto args = grpo_args(dir, "uniform", {"--pp", "2", "--eval-prompts", dir.file("prompts.jsonl")});
  const auto entropy = std::find(args.begin(), args.end(), "--entropy-coef");
  ASSERT_NE(entropy, args.end());
  *std::next(entropy) = "0";
  auto run = run_megasft(2, args, dir);
  ASSERT_EQ(run.exit_code, 0) << output_of(run);
  std::vector<json> steps;
  for (const auto& row : metrics(dir.file("uniform/metrics.jsonl")))
    if (row.contains("reward_mean")) steps.push_back(row);
  ASSERT_EQ(steps.size(), 2u);
  for (const auto& row : steps) {
    EXPECT_EQ(row["all_wrong_fraction"].get<double>(), 1.0) << row.dump();
    EXPECT_EQ(row["grad_norm"].get<double>(), 0.0) << row.dump();
  }
  const auto before = json::parse(file_text(dir.file("uniform/eval_before.json")));
  ASSERT_EQ(before["correct"].size(), 8u);
  const auto summary = json::parse(file_text(dir.file("uniform/summary.json")));
  ASSERT_TRUE(summary.contains("eval_change")) << summary.dump();
  EXPECT_EQ(summary["eval_change"]["gained"].get<int>() - summary["eval_change"]["lost"].get<int>(),
            static_cast<int>(std::lround(8 * (summary["eval_accuracy_after"].get<double>() -
                                              summary["eval_accuracy_before"].get<double>()))));
  EXPECT_NE(run.out.find("held-out change:"), std::string::npos) << run.out;
}

TEST(GrpoCommand, BadPromptRowIsNamedByLine) {
  ScratchDir dir;
  write_fixtures(dir);
  std::ofstream(dir.file("bad.jsonl")) << R"({"prompt": "1 + 1?", "answer": "2"})" << "\n"
                                       << R"({"prompt": "2 + 2?", "answer": "4"})" << "\n"
                                       << R"({"prompt": "3 + 3?"})" << "\n";
  auto args = grpo_args(dir, "bad", {"--tp", "2"});
  args[4] = dir.file("bad.jsonl");
  auto run = run_megasft(2, args, dir);
  EXPECT_NE(run.exit_code, 0);
  EXPECT_FALSE(run.timed_out);
  EXPECT_NE(run.err.find("bad.jsonl:3"), std::string::npos) << output_of(run);
}

TEST(RolloutFilter, KeepsOnlyMixedGroupsAndAccountsForEveryPrompt) {
  ScratchDir dir;
  write_fixtures(dir);
  auto run = run_megasft(2, {"rollout-filter", "--model", dir.file("model"), "--prompts", dir.file("prompts.jsonl"),
                             "--tokenizer", "char", "--samples", "4", "--max-new-tokens", "8", "--output",
                             dir.file("kept.jsonl"), "--run-dir", dir.file("filter")},
                         dir);
  ASSERT_EQ(run.exit_code, 0) << output_of(run);
  const auto report = json::parse(file_text(dir.file("filter/rollout_filter.json")));
  EXPECT_EQ(report["prompts"], 8);
  EXPECT_EQ(report["kept"].get<int>() + report["all_correct"].get<int>() + report["all_wrong"].get<int>(), 8);
  // A random model never writes \boxed{answer}: every group is all wrong and nothing is kept.
  EXPECT_EQ(report["all_wrong"], 8);
  EXPECT_EQ(file_text(dir.file("kept.jsonl")), "");
}

}  // namespace
}  // namespace megasft::testing
