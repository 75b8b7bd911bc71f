// Calibration of the memory model on what this machine can measure: `megasft train` on the demo
// model (configs/demo/sed-sft-tiny.cfg) at small CPU layouts, each rank's peak RSS
// (ranks/rank-N.json) against the planner's peak for its stage plus the process's own footprint.
// That footprint (LibTorch, Gloo, HDF5, the dataset, thread stacks) is measured per layout and rank
// by the same run with a tiny model (hidden 8), minus the planner's prediction for that tiny model.
//
// glibc's malloc keeps freed tensor memory mapped once its dynamic mmap threshold has grown, so a
// process's RSS can exceed its live heap by tens of percent; fixing the threshold
// (MALLOC_MMAP_THRESHOLD_, a documented glibc tunable) returns freed tensors to the OS, and RSS
// then tracks what the process holds, which is what the planner models (a GPU's caching allocator
// is the cluster file's headroom's business).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>

#include "megasft/plan/memory_model.h"
#include "megasft/plan/model_source.h"
#include "megasft/plan/parameter_count.h"
#include "tests/integration/training_fixture.h"

namespace megasft::plan {
namespace {

using testing::LauncherResult;
using testing::ScratchDir;

constexpr double kMiB = 1 << 20;
const std::vector<std::string> kTinyModel = {
    "--model.hidden-size",         "8", "--model.intermediate-size",   "8",
    "--model.num-attention-heads", "2", "--model.num-key-value-heads", "2",
    "--model.num-layers",          "2"};

struct Case {
  std::string name;
  int tp = 1, pp = 1, dp = 1;
  bool recompute = false, sequence_parallel = false;
  std::string params_dtype = "fp32";
  int64_t micro_batch = 8;  // the recipe's; 16 sequences per step
};

struct RankReport {
  int pp_rank = 0;
  double peak_rss_mib = 0, optimizer_state_mib = 0;
};

std::vector<RankReport> train(const Case& c, const std::string& run_dir, const ScratchDir& dir,
                              bool tiny) {
  const auto& data = testing::demo_data();
  std::vector<std::string> args = {"--standalone",
                                   "--nproc-per-node",
                                   std::to_string(c.tp * c.pp * c.dp),
                                   testing::megasft_binary(),
                                   "train",
                                   "--config",
                                   testing::source_path("configs/demo/sed-sft-tiny.cfg"),
                                   "--train-data",
                                   data.train,
                                   "--calibration-data",
                                   data.heldout,
                                   "--run-dir",
                                   run_dir,
                                   "--max-steps",
                                   "3",
                                   "--tp",
                                   std::to_string(c.tp),
                                   "--pp",
                                   std::to_string(c.pp),
                                   "--recompute",
                                   c.recompute ? "true" : "false",
                                   "--sequence-parallel",
                                   c.sequence_parallel ? "true" : "false",
                                   "--params-dtype",
                                   c.params_dtype,
                                   "--micro-batch-size",
                                   std::to_string(c.micro_batch)};
  if (tiny) args.insert(args.end(), kTinyModel.begin(), kTinyModel.end());
  const LauncherResult result = testing::run_launcher(
      args, dir, {{"OMP_NUM_THREADS", "1"}, {"MALLOC_MMAP_THRESHOLD_", "65536"}}, 240);
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  std::vector<RankReport> ranks;
  for (int r = 0; r < c.tp * c.pp * c.dp; ++r) {
    std::ifstream in(run_dir + "/ranks/rank-" + std::to_string(r) + ".json");
    if (!in.good()) break;
    const auto j = nlohmann::json::parse(in);
    ranks.push_back({j["pp_rank"].get<int>(), j["peak_rss_mib"].get<double>(),
                     j["optimizer_state_mib"].get<double>()});
  }
  EXPECT_EQ(static_cast<int>(ranks.size()), c.tp * c.pp * c.dp);
  return ranks;
}

model::ModelConfig demo_model(bool tiny) {
  auto config = read_model_source(testing::source_path("configs/demo/sed-sft-tiny.cfg"));
  if (tiny) {
    config.hidden_size = config.intermediate_size = 8;
    config.num_attention_heads = config.num_key_value_heads = 2;
    config.num_layers = 2;
  }
  return config;
}

// The planner's view of the same run: the recipe's batch shape, objective and chunk.
StageMemory predict(const Case& c, int stage, bool tiny) {
  const auto config = demo_model(tiny);
  Layout l;
  l.tp = c.tp;
  l.pp = c.pp;
  l.dp = c.dp;
  l.micro_batch = c.micro_batch;
  l.recompute = c.recompute;
  l.sequence_parallel = c.sequence_parallel;
  l.pipeline_layers = split_layers(config.num_layers, c.pp);
  PlanOptions o;
  o.seq_len = 192;
  o.global_batch = 16;
  o.params_dtype = c.params_dtype;
  o.top_k = 2;
  return stage_memory(config, l, stage, o, 0);
}

TEST(PlanMemoryCalibration, DemoModelPeakRssPerRank) {
  const std::vector<Case> cases = {
      {"TP1", 1, 1, 1},
      {"TP2", 2, 1, 1},
      {"PP2", 1, 2, 1},
      {"DP2", 1, 1, 2},
      {"TP2 SP", 2, 1, 1, false, true},
      {"TP1 recompute", 1, 1, 1, true},
      {"TP1 bf16", 1, 1, 1, false, false, "bf16"},
      {"TP2 PP2", 2, 2, 1},
      {"TP1 mb1", 1, 1, 1, false, false, "fp32",
       1},  // the optimizer step's peak exceeds the pipeline's
  };
  ScratchDir dir;
  std::printf("\n%-14s %4s %5s %9s %9s %9s %7s %12s %12s %7s\n", "layout", "rank", "stage",
              "RSS MiB", "base MiB", "pred MiB", "error", "model meas.", "model pred.", "error");
  double worst = 0, worst_model = 0;
  for (const auto& c : cases) {
    const auto tiny = train(c, dir.file(c.name + "-tiny"), dir, true);
    const auto demo = train(c, dir.file(c.name + "-demo"), dir, false);
    ASSERT_EQ(tiny.size(), demo.size());
    for (size_t r = 0; r < demo.size(); ++r) {
      const auto tiny_model = predict(c, tiny[r].pp_rank, true),
                 model = predict(c, demo[r].pp_rank, false);
      const double baseline = tiny[r].peak_rss_mib - tiny_model.peak() / kMiB;
      const double predicted = baseline + model.peak() / kMiB;
      const double error = predicted / demo[r].peak_rss_mib - 1;
      const double measured_model = demo[r].peak_rss_mib - baseline;
      const double model_error = model.peak() / kMiB / measured_model - 1;
      std::printf("%-14s %4zu %5d %9.1f %9.1f %9.1f %6.1f%% %12.1f %12.1f %6.1f%%\n",
                  c.name.c_str(), r, demo[r].pp_rank, demo[r].peak_rss_mib, baseline, predicted,
                  100 * error, measured_model, model.peak() / kMiB, 100 * model_error);
      worst = std::max(worst, std::abs(error));
      worst_model = std::max(worst_model, std::abs(model_error));
      // The optimizer's shard is exact: three fp32 vectors (master, two moments) of the owned
      // elements.
      EXPECT_NEAR(demo[r].optimizer_state_mib, 12.0 * model.owned_elements / kMiB, 1e-6)
          << c.name << " rank " << r;
    }
  }
  std::printf("worst error: %.1f%% of the peak RSS, %.1f%% of its model-dependent part\n",
              100 * worst, 100 * worst_model);
  EXPECT_LT(worst, 0.15);        // the target of issue 11
  EXPECT_LT(worst_model, 0.25);  // what the planner adds, alone (measured: within 15%)
}

}  // namespace
}  // namespace megasft::plan
