// Rollouts as training tensors, checked position by position on hand-made sequences, and the test of
// which reward groups carry a gradient.
#include <gtest/gtest.h>

#include "kernels/check.h"
#include "megasft/rl/grpo_batch.h"

namespace megasft::rl {
namespace {

TEST(MixedRewardGroups, OnlyGroupsWithDifferentRewards) {
  // groups of 3: {1,1,1} uniform, {-1,1,-1} mixed, {-1,-1,-1} uniform, {0.5,0.5,0.25} mixed
  auto rewards = at::tensor({1.0, 1.0, 1.0, -1.0, 1.0, -1.0, -1.0, -1.0, -1.0, 0.5, 0.5, 0.25}, at::kDouble);
  EXPECT_EQ(mixed_reward_groups(rewards, 3), (std::vector<bool>{false, true, false, true}));
  EXPECT_EQ(mixed_reward_groups(rewards, 1), std::vector<bool>(12, false));  // one sample: never an advantage
  EXPECT_THROW(mixed_reward_groups(rewards, 5), megasft::Error);
}

TEST(PolicyMicroBatches, ResponseTokensAreTargetsOfThePositionBefore) {
  Rollout a{{1, 2, 3}, {7, 8}, {}, true};  // input 1 2 3 7, targets at positions 2 and 3
  Rollout b{{4}, {9, 10, 11}, {}, false};  // input 4 9 10, targets at positions 0, 1, 2
  std::vector<PolicySequence> sequences{{&a, 0.5}, {&b, -2.0}};
  const int64_t length = policy_sequence_length(sequences);
  EXPECT_EQ(length, 4);  // max(3 + 2, 1 + 3) - 1
  auto batches = make_policy_micro_batches(sequences, 3, length, /*pad_id=*/0);
  ASSERT_EQ(batches.size(), 1u);
  const auto& mb = batches[0];
  auto expect_row = [](const at::Tensor& t, int64_t row, std::vector<double> v) {
    for (int64_t i = 0; i < static_cast<int64_t>(v.size()); ++i)
      EXPECT_EQ(t[row][i].item<double>(), v[static_cast<size_t>(i)]) << "row " << row << " position " << i;
  };
  expect_row(mb.input_ids, 0, {1, 2, 3, 7});
  expect_row(mb.targets, 0, {-1, -1, 7, 8});
  expect_row(mb.mask, 0, {0, 0, 1, 1});
  expect_row(mb.advantages, 0, {0, 0, 0.5, 0.5});
  expect_row(mb.input_ids, 1, {4, 9, 10, 0});
  expect_row(mb.targets, 1, {9, 10, 11, -1});
  expect_row(mb.advantages, 1, {-2, -2, -2, 0});
  expect_row(mb.targets, 2, {-1, -1, -1, -1});  // the padding row of the last micro-batch
  EXPECT_EQ(mb.mask.sum().item<double>(), 5.0);
  // One row per micro-batch: the second holds b.
  auto split = make_policy_micro_batches(sequences, 1, length, 0);
  ASSERT_EQ(split.size(), 2u);
  expect_row(split[1].targets, 0, {9, 10, 11, -1});
}

}  // namespace
}  // namespace megasft::rl
