// Multi-rank tests: megasft-run starts N real processes of megasft-test-worker (Gloo over loopback),
// each checking its shard against the float64 / single-process reference it computes itself.
// A case passes when every rank exits 0; the workers' output is printed on failure.
#include <gtest/gtest.h>

#include <string>
#include <tuple>

#include "tests/support/launcher_process.h"

namespace megasft::testing {
namespace {

class MultiRank : public ::testing::TestWithParam<std::tuple<std::string, int>> {};

TEST_P(MultiRank, WorkersAgreeWithReference) {
  const auto& [name, nproc] = GetParam();
  ScratchDir dir;
  auto result = run_launcher({"--standalone", "--nproc-per-node", std::to_string(nproc),
                              std::string(MEGASFT_BIN_DIR) + "/megasft-test-worker", name},
                             dir, {{"OMP_NUM_THREADS", "1"}}, /*timeout_s=*/120);
  const std::string output = "--- stdout ---\n" + result.out + "--- stderr ---\n" + result.err;
  ASSERT_FALSE(result.timed_out) << "case " << name << " with " << nproc << " ranks timed out\n" << output;
  EXPECT_EQ(result.exit_code, 0) << output;
  // Every rank reported success (not merely: the launcher exited 0).
  for (int rank = 0; rank < nproc; ++rank) {
    const std::string line = "rank " + std::to_string(rank) + "/" + std::to_string(nproc) + " case " + name + ": ok";
    EXPECT_NE(result.out.find(line), std::string::npos) << "missing '" << line << "'\n" << output;
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, MultiRank,
                         ::testing::Combine(::testing::Values("layers", "mappings", "objective", "model", "hf_model", "sampler", "rollout"),
                                            ::testing::Values(1, 2, 4)),
                         [](const auto& info) {
                           return std::get<0>(info.param) + "_tp" + std::to_string(std::get<1>(info.param));
                         });

}  // namespace
}  // namespace megasft::testing
