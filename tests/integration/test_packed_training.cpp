// Packed rows train exactly like their conversations one per row: with every row in one global batch,
// the step's loss is the mean over the same supervised tokens, which must not see across conversations
// (positions restart at 0, attention is blocked). Data made by `megasft preprocess` with and without --pack.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "megasft/data/token_dataset.h"
#include "tests/data/tiny_tokenizer.h"
#include "tests/integration/training_fixture.h"

namespace megasft::testing {
namespace {

TEST(PackedTraining, PackedRowsTrainLikeSeparateConversations) {
  ScratchDir dir;
  const std::string tokenizer = data::testing::write_json(dir.file("tokenizer.json"), data::testing::tiny_tokenizer_json());
  {
    std::ofstream jsonl(dir.file("chat.jsonl"));
    for (int i = 0; i < 12; ++i) {
      std::string prompt = "hello world " + std::to_string(i * 7) + std::string(i % 4, '?');
      std::string response = "the answer is " + std::to_string(i * i) + std::string(1 + i % 3, '!') + " world";
      jsonl << nlohmann::json{{"prompt", prompt}, {"response", response}}.dump() << "\n";
    }
  }
  for (const std::string& mode : {"plain", "packed"}) {
    std::vector<std::string> args = {"--nproc-per-node", "1", megasft_binary(), "preprocess", "--input",
                                     dir.file("chat.jsonl"), "--tokenizer", tokenizer, "--template", "qwen2",
                                     "--output", dir.file(mode + ".h5"), "--max-length", "256", "--system-prompt", "be brief"};
    if (mode == "packed") args.push_back("--pack");
    auto result = run_launcher(args, dir, {}, 60);
    ASSERT_EQ(result.exit_code, 0) << result.err;
  }
  const auto plain = data::TokenDataset::open(dir.file("plain.h5"));
  const auto packed = data::TokenDataset::open(dir.file("packed.h5"));
  ASSERT_TRUE(packed.packed());
  ASSERT_LT(packed.num_samples(), plain.num_samples()) << "packing put nothing together";

  std::vector<std::vector<nlohmann::json>> metrics;
  for (const auto* data : {&plain, &packed}) {
    const std::string rows = std::to_string(data->num_samples());
    const std::string run = dir.file(data == &plain ? "run-plain" : "run-packed");
    auto result = run_training(1, run, dir,
                               {"--train-data", data->path(), "--objective", "ce", "--max-steps", "2",
                                "--seq-length", "256", "--global-batch-size", rows, "--micro-batch-size", rows,
                                "--model.vocab-size", "280", "--model.max-position-embeddings", "256"});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    metrics.push_back(read_metrics(run));
  }
  for (size_t step = 0; step < 2; ++step) {
    EXPECT_EQ(metrics[0][step]["supervised_tokens"], metrics[1][step]["supervised_tokens"]);
    const double a = metrics[0][step]["loss"].get<double>(), b = metrics[1][step]["loss"].get<double>();
    EXPECT_LE(std::abs(a - b), 1e-5 * a) << "step " << step + 1 << ": " << a << " unpacked vs " << b << " packed";
  }
}

}  // namespace
}  // namespace megasft::testing
