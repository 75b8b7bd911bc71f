// Rollouts as training tensors: prompt + response right-padded to one length per mini-batch (the
// pipeline sends one activation shape), targets only on response tokens, per-token advantages.
#pragma once

#include <ATen/ATen.h>

#include <vector>

#include "megasft/rl/rollout_engine.h"

namespace megasft::rl {

struct PolicySequence {
  const Rollout* rollout = nullptr;  // nullptr: a padding row (no target) that fills the last micro-batch
  double advantage = 0;
};

struct PolicyMicroBatch {
  at::Tensor input_ids;   // [B, L] int64: prompt + response[:-1], padded with pad_id
  at::Tensor targets;     // [B, L] int64: the response token predicted at each position, -1 elsewhere
  at::Tensor mask;        // [B, L] float64: 1 where targets >= 0
  at::Tensor advantages;  // [B, L] float64: the sequence's advantage on every response position
  at::Tensor old_logprobs;  // [B, L] float64, filled by the trainer before the update (last stage)
  at::Tensor ref_logprobs;  // [B, L] float64, when a reference model is used
};

// Per group of `group_size` consecutive rewards: whether they are not all equal. Only such a group
// has a nonzero advantage, so without a KL or entropy term only its sequences carry a gradient.
std::vector<bool> mixed_reward_groups(const at::Tensor& rewards, int64_t group_size);

// The length L that fits every sequence: max over them of prompt + response - 1.
int64_t policy_sequence_length(const std::vector<PolicySequence>& sequences);

// Micro-batches of `micro_batch_size` rows, the last one padded with empty rows, all of length `length`.
std::vector<PolicyMicroBatch> make_policy_micro_batches(const std::vector<PolicySequence>& sequences,
                                                       int64_t micro_batch_size, int64_t length, int32_t pad_id);

}  // namespace megasft::rl
