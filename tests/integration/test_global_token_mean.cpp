// The batch loss is the exact mean over every supervised token of the global batch, however the batch
// is cut into micro-batches and data-parallel ranks. Demo samples differ in length, so micro-batches
// hold uneven token counts: a mean of per-micro-batch means would differ and fail this test.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/integration/training_fixture.h"

namespace megasft::testing {
namespace {

std::vector<nlohmann::json> run(int nproc, const std::string& micro, const ScratchDir& dir, const std::string& name) {
  const std::string run_dir = dir.file(name);
  auto result = run_training(nproc, run_dir, dir,
                             {"--tp", "1", "--max-steps", "3", "--global-batch-size", "8", "--micro-batch-size", micro,
                              "--objective", "sed", "--tau", "0.5"});
  EXPECT_EQ(result.exit_code, 0) << name << "\n" << result.out << result.err;
  return read_metrics(run_dir);
}

TEST(GlobalTokenMean, SameLossForEveryMicroBatchAndDataParallelSplit) {
  ScratchDir dir;
  auto whole = run(1, "8", dir, "one-micro-batch");
  ASSERT_EQ(whole.size(), 3u);
  const std::vector<std::pair<std::string, std::vector<nlohmann::json>>> splits = {
      {"4 micro-batches of 2", run(1, "2", dir, "accumulate")},
      {"2 data-parallel ranks x 1 micro-batch of 4", run(2, "4", dir, "dp2")},
      {"2 data-parallel ranks x 2 micro-batches of 2", run(2, "2", dir, "dp2-accumulate")}};
  for (const auto& [name, metrics] : splits) {
    ASSERT_EQ(metrics.size(), whole.size()) << name;
    for (size_t i = 0; i < whole.size(); ++i) {
      // Step 1 checks the loss itself; steps 2 and 3 check that the gradients were equal too.
      const double a = whole[i]["loss"].get<double>(), b = metrics[i]["loss"].get<double>();
      EXPECT_LE(std::abs(a - b), 1e-5 * std::abs(a)) << name << ", step " << i + 1 << ": " << a << " vs " << b;
      EXPECT_EQ(whole[i]["supervised_tokens"], metrics[i]["supervised_tokens"]) << name;
    }
  }
}

}  // namespace
}  // namespace megasft::testing
