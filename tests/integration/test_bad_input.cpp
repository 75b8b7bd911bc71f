// Bad input must produce one clear error naming the problem, and every rank must exit: the run ends
// with a non-zero code well before the test's deadline (no rank left waiting in a collective).
#include <gtest/gtest.h>

#include <fstream>

#include "tests/integration/training_fixture.h"

namespace megasft::testing {
namespace {

constexpr double kDeadline = 60;

void expect_clean_failure(const LauncherResult& result, const std::string& must_mention) {
  EXPECT_FALSE(result.timed_out) << "the run hung:\n" << result.err;
  EXPECT_NE(result.exit_code, 0) << result.err;
  EXPECT_NE(result.err.find(must_mention), std::string::npos)
      << "stderr should mention '" << must_mention << "':\n" << result.err;
  EXPECT_LT(result.seconds, kDeadline / 2);
}

TEST(BadInput, MissingDatasetIsNamed) {
  ScratchDir dir;
  const std::string missing = dir.file("no-such-dataset.h5");
  auto result = run_training(2, dir.file("run"), dir, {"--tp", "2", "--train-data", missing}, kDeadline);
  expect_clean_failure(result, missing);
}

TEST(BadInput, CorruptDatasetIsNamed) {
  ScratchDir dir;
  const std::string corrupt = dir.file("corrupt.h5");
  {  // the first half of a real dataset: a truncated copy, as a crashed copy would leave it
    std::ifstream in(demo_data().train, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(corrupt, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  auto result = run_training(2, dir.file("run"), dir, {"--tp", "2", "--train-data", corrupt}, kDeadline);
  expect_clean_failure(result, corrupt);
}

TEST(BadInput, UnknownConfigKeyIsNamedWithItsFile) {
  ScratchDir dir;
  const std::string config = dir.file("typo.cfg");
  std::ofstream(config) << "max-steps = 3\nlearning-rate = 0.1\n";
  auto result = run_training(2, dir.file("run"), dir, {"--tp", "2", "--config", config}, kDeadline);
  expect_clean_failure(result, "learning-rate");
  EXPECT_NE(result.err.find(config), std::string::npos) << result.err;
}

TEST(BadInput, UnknownCommandLineOptionIsNamed) {
  ScratchDir dir;
  auto result = run_training(2, dir.file("run"), dir, {"--tp", "2", "--no-such-option", "1"}, kDeadline);
  expect_clean_failure(result, "no-such-option");
}

TEST(BadInput, TensorParallelSizeThatDoesNotDivideHeads) {
  ScratchDir dir;
  auto result = run_training(2, dir.file("run"), dir,
                             {"--tp", "2", "--model.num-attention-heads", "3", "--model.num-key-value-heads", "3",
                              "--model.hidden-size", "48"},
                             kDeadline);
  expect_clean_failure(result, "--tp 2 does not divide model.num-attention-heads 3");
}

TEST(BadInput, WorldThatDoesNotSplitIntoTensorParallelGroups) {
  ScratchDir dir;
  auto result = run_training(2, dir.file("run"), dir, {"--tp", "4"}, kDeadline);
  expect_clean_failure(result, "world size 2 is not divisible by tp*pp = 4*1");
}

}  // namespace
}  // namespace megasft::testing
