// `megasft train --model-dir --save-hf`: a tiny Qwen2 checkpoint (one KV head, so TP = 2 shares it)
// trains to the same losses at TP = 1 and 2, and the exported folder has transformers' names, dtype
// and config and loads back.
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "megasft/checkpoint/hf_checkpoint.h"
#include "megasft/checkpoint/hf_import.h"
#include "megasft/checkpoint/hf_layout.h"
#include "megasft/data/token_dataset.h"
#include "megasft/model/hf_config.h"
#include "parallel/parallel_state.h"
#include "tests/model/command_runner.h"
#include "tests/model/tiny_checkpoint.h"

namespace megasft::testing {
namespace {

std::vector<double> losses(const std::string& run_dir) {
  std::vector<double> out;
  std::istringstream in(file_text(run_dir + "/metrics.jsonl"));
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(nlohmann::json::parse(line).at("loss").get<double>());
  return out;
}

TEST(TrainHf, TrainsTheSameAtTp1And2AndExports) {
  ScratchDir dir;
  const auto spec = tiny_qwen2_spec();
  write_tiny_checkpoint(dir.file("model"), spec);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(41);
  data::TokenizedSamples rows;
  rows.vocab_size = 40;
  rows.tokenizer = "random";
  rows.offsets = {0};
  for (int i = 0; i < 24; ++i) {
    for (int t = 0; t < 12; ++t) {
      rows.tokens.push_back(static_cast<int32_t>(at::randint(0, 40, {1}, gen).item<int64_t>()));
      rows.loss_mask.push_back(t >= 4);
    }
    rows.offsets.push_back(static_cast<int64_t>(rows.tokens.size()));
  }
  data::write_token_dataset(dir.file("train.h5"), rows);

  std::vector<std::vector<double>> runs;
  for (int tp : {1, 2}) {
    const std::string run = dir.file("run" + std::to_string(tp)),
                      out = dir.file("export" + std::to_string(tp));
    auto result = run_megasft(tp,
                              {"train",
                               "--model-dir",
                               dir.file("model"),
                               "--train-data",
                               dir.file("train.h5"),
                               "--run-dir",
                               run,
                               "--tp",
                               std::to_string(tp),
                               "--objective",
                               "ce",
                               "--max-steps",
                               "3",
                               "--seq-length",
                               "12",
                               "--micro-batch-size",
                               "2",
                               "--global-batch-size",
                               "4",
                               "--lr",
                               "1e-2",
                               "--warmup-fraction",
                               "0",
                               "--log-interval",
                               "1",
                               "--save-hf",
                               out,
                               "--save-hf-dtype",
                               "fp32",
                               "--dist-timeout",
                               "60"},
                              dir);
    ASSERT_EQ(result.exit_code, 0) << output_of(result);
    runs.push_back(losses(run));
    ASSERT_EQ(runs.back().size(), 3u) << output_of(result);

    // The export: transformers' names and shapes in fp32, the source's config.json with
    // torch_dtype.
    auto config = model::read_hf_config(out + "/config.json");
    EXPECT_EQ(nlohmann::json::parse(file_text(out + "/config.json")).at("torch_dtype"), "float32");
    EXPECT_EQ(file_text(out + "/tokenizer.json"), file_text(dir.file("model/tokenizer.json")));
    checkpoint::HfCheckpoint exported(out), original(dir.file("model"));
    EXPECT_EQ(exported.tensor_names(), original.tensor_names());
    bool changed = false;
    for (const auto& name : exported.tensor_names()) {
      EXPECT_EQ(exported.entry(name).dtype, at::kFloat) << name;
      EXPECT_EQ(exported.entry(name).shape, original.entry(name).shape) << name;
      changed = changed || !at::equal(exported.read(name), original.read(name));
    }
    EXPECT_TRUE(changed) << "training left every weight as it was";
    auto single = parallel::ParallelState::single_process();
    model::LlamaModel reloaded(config, single->tensor());
    checkpoint::load_hf_weights(reloaded, exported);
  }
  for (size_t step = 0; step < runs[0].size(); ++step)
    EXPECT_NEAR(runs[1][step], runs[0][step], 1e-5 * std::abs(runs[0][step]))
        << "step " << step + 1;
}

}  // namespace
}  // namespace megasft::testing
