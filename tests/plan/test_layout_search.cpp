// The layout search: which layouts it tries, why it rejects the others, how it ranks, and the
// cluster and model files it reads (errors name the file, the key and the value).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "kernels/check.h"
#include "megasft/model/hf_config.h"
#include "megasft/plan/layout_search.h"
#include "megasft/plan/model_source.h"
#include "megasft/plan/plan_report.h"

namespace megasft::plan {
namespace {

std::string source(const std::string& relative) {
  return std::string(MEGASFT_SOURCE_DIR) + "/" + relative;
}

PlanRequest request(const std::string& model, int nodes) {
  PlanRequest r;
  r.model = read_model_source(source("configs/models/" + model + ".cfg"));
  r.cluster = read_cluster_file(source("configs/clusters/h20.cfg"));
  r.nodes = nodes;
  r.options.seq_len = 4096;
  r.options.global_batch = 128;
  return r;
}

size_t count(const PlanResult& result, const std::string& category) {
  size_t n = 0;
  for (const auto& r : result.rejected) n += r.category == category;
  return n;
}

TEST(PlanLayoutSearch, ClusterFilesCarryTheDatasheetNumbers) {
  const auto h20 = read_cluster_file(source("configs/clusters/h20.cfg"));
  EXPECT_EQ(h20.gpus_per_node, 8);
  EXPECT_DOUBLE_EQ(h20.dense_bf16_tflops, 148);
  EXPECT_DOUBLE_EQ(h20.hbm_tb_s, 4.0);
  EXPECT_DOUBLE_EQ(h20.nvlink_gb_s, 900);
  EXPECT_NEAR(h20.memory_gib, 96, 1);
  for (const char* name : {"h100-sxm", "h200"}) {
    const auto c = read_cluster_file(source(std::string("configs/clusters/") + name + ".cfg"));
    EXPECT_DOUBLE_EQ(c.dense_bf16_tflops, 989) << name;
  }
  const auto slower =
      read_cluster_file(source("configs/clusters/h20.cfg"), {{"inter-node-gb-s", "12.5"}});
  EXPECT_DOUBLE_EQ(slower.inter_node_gb_s, 12.5);
}

TEST(PlanLayoutSearch, ModelFromConfigJsonOrConfigFile) {
  const auto from_cfg = read_model_source(source("configs/models/qwen2.5-7b.cfg"));
  const std::string json = ::testing::TempDir() + "/plan-config.json";
  std::ofstream(json) << model::hf_config_json(from_cfg, "bfloat16").dump(2);
  const auto from_json = read_model_source(json);
  EXPECT_EQ(from_json.architecture, "Qwen2ForCausalLM");
  EXPECT_TRUE(from_json.qkv_bias);
  EXPECT_EQ(from_json.num_parameters(), from_cfg.num_parameters());
  std::remove(json.c_str());
  EXPECT_THROW(read_model_source(source("configs/models/missing.cfg")), Error);
}

TEST(PlanLayoutSearch, BadClusterFilesNameTheFileAndKey) {
  const std::string path = ::testing::TempDir() + "/plan-cluster.cfg";
  auto expect_error = [&](const std::string& text, const std::string& needle) {
    std::ofstream(path) << text;
    try {
      read_cluster_file(path);
      ADD_FAILURE() << "accepted: " << text;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  };
  const std::string valid =
      "[cluster]\ngpus-per-node = 8\nmemory-gib = 80\ndense-bf16-tflops = 989\nhbm-tb-s = 3.35\n"
      "nvlink-gb-s = 900\ninter-node-gb-s = 50\n";
  expect_error("[cluster]\ngpus-per-node = 8\n", "cluster.memory-gib");
  expect_error(valid + "matmul-efficiency = 1.5\n", "cluster.matmul-efficiency");
  expect_error(valid + "speed = 3\n", "speed");
  expect_error(valid + "memory-gib = lots\n", "memory-gib");
  EXPECT_THROW(read_cluster_file(path + ".missing"), Error);
  std::remove(path.c_str());
}

TEST(PlanLayoutSearch, RejectsWithReasons) {
  auto r = request("qwen2.5-7b", 2);  // 28 heads: TP 8 does not divide them; 16 GPUs allow TP 16
  const auto result = plan_layouts(r);
  EXPECT_GT(count(result, "TP crosses nodes"), 0u);
  EXPECT_GT(count(result, "model shape"), 0u);
  for (const auto& x : result.rejected) {
    if (x.category == "TP crosses nodes") EXPECT_GT(x.layout.tp, 8);
    if (x.category == "model shape")
      EXPECT_NE(x.reason.find("num-attention-heads 28"), std::string::npos) << x.reason;
  }
  for (const auto& e : result.feasible) {
    EXPECT_LE(e.layout.tp, 8);
    EXPECT_EQ(28 % e.layout.tp, 0);
    EXPECT_EQ(e.layout.world_size(), 16);
    EXPECT_LE(e.peak, result.usable_bytes);
  }
  r.options.global_batch = 24;  // not a multiple of mb x DP for DP 16
  EXPECT_GT(count(plan_layouts(r), "batch"), 0u);
}

TEST(PlanLayoutSearch, RanksFastestFirstAndEveryRankedLayoutFits) {
  const auto r = request("llama-3.1-8b", 1);
  const auto result = plan_layouts(r);
  ASSERT_FALSE(result.feasible.empty());
  for (size_t i = 1; i < result.feasible.size(); ++i)
    EXPECT_GE(result.feasible[i - 1].time.tokens_per_s_per_gpu,
              result.feasible[i].time.tokens_per_s_per_gpu);
  // TP 1 keeps a whole 8B model, its fp32 gradients and an eighth of the optimizer on one GPU: too
  // much.
  bool tp1_rejected = false;
  for (const auto& x : result.rejected)
    tp1_rejected |= x.category == "memory" && x.layout.tp == 1 && x.layout.pp == 1;
  EXPECT_TRUE(tp1_rejected);
  // Every second goes to GEMMs at the matmul efficiency or to something slower: MFU stays below it.
  const auto& best = result.feasible.front();
  EXPECT_GT(best.time.mfu, 0.05);
  EXPECT_LT(best.time.mfu, r.cluster.matmul_efficiency);
}

TEST(PlanLayoutSearch, BiggerModelNeedsMoreModelParallelism) {
  const auto small = plan_layouts(request("llama-3.1-8b", 8));
  const auto large = plan_layouts(request("llama-3.1-70b", 8));
  ASSERT_FALSE(small.feasible.empty());
  ASSERT_FALSE(large.feasible.empty());
  auto model_parallel = [](const EvaluatedLayout& e) { return e.layout.tp * e.layout.pp; };
  EXPECT_GT(model_parallel(large.feasible.front()), model_parallel(small.feasible.front()));
  EXPECT_GT(small.feasible.front().time.tokens_per_s_per_gpu,
            large.feasible.front().time.tokens_per_s_per_gpu);
}

TEST(PlanLayoutSearch, UnevenPipelineSplitsSpreadTheRemainderOverMiddleStages) {
  EXPECT_EQ(split_layers(32, 4), (std::vector<int64_t>{8, 8, 8, 8}));
  EXPECT_EQ(split_layers(28, 8), (std::vector<int64_t>{3, 4, 4, 4, 4, 3, 3, 3}));
  EXPECT_EQ(split_layers(80, 3), (std::vector<int64_t>{26, 27, 27}));
  EXPECT_EQ(split_layers(5, 2), (std::vector<int64_t>{2, 3}));
  EXPECT_TRUE(split_layers(4, 8).empty());
}

TEST(PlanLayoutSearch, ReportAndJsonCarryTheBreakdown) {
  auto r = request("llama-3.1-8b", 1);
  const auto result = plan_layouts(r);
  const auto text = format_plan(r, result, 3);
  EXPECT_NE(text.find("tokens/s/GPU"), std::string::npos);
  EXPECT_NE(text.find("megasft train --tp"), std::string::npos);
  EXPECT_NE(text.find("rejected"), std::string::npos);
  const auto j = plan_json(r, result);
  EXPECT_EQ(j["feasible"].size(), result.feasible.size());
  EXPECT_EQ(j["rejected"].size(), result.rejected.size());
  const auto& first = j["feasible"][0];
  EXPECT_DOUBLE_EQ(first["peak_bytes"].get<double>(), result.feasible[0].peak);
  EXPECT_TRUE(first["memory"][0].contains("optimizer_states"));
  EXPECT_TRUE(first["time"].contains("mfu"));
}

}  // namespace
}  // namespace megasft::plan
