// The per-token statistics every objective is built from, combined across the tensor-parallel group:
// round 1 all-gathers (local top-k, target logit), round 2 all-reduces the sums of exponentials.
#pragma once

#include <ATen/ATen.h>

#include "megasft/model/vocab_shard.h"
#include "megasft/objectives/objective_options.h"
#include "parallel/communicator.h"

namespace megasft::objectives {

// Each [T] double, identical on every TP rank.
struct TokenStatistics {
  at::Tensor max;           // global max logit (the top-1), as the float the kernels used
  at::Tensor target_logit;  // z_y; -inf where the token has no target
  at::Tensor lse;           // log-sum-exp over the real vocabulary
  at::Tensor topk_sum;      // S_t, sum of the k largest probabilities
  at::Tensor topk_probs;    // [T, k] those k probabilities, descending: their prefix sums are S_t for smaller k
  at::Tensor gem_q, gem_a, gem_b;  // GEM's Q, A, B (objectives.md); defined for GEM only
};

// Local column of each target, -1 when it lives on another shard or is ignored (< 0).
at::Tensor local_target_columns(const at::Tensor& targets, const model::VocabShard& shard);

// logits32: [T, shard.local_cols] contiguous float32; local_target: [T] int64 from local_target_columns.
TokenStatistics gather_token_statistics(const at::Tensor& logits32, const at::Tensor& local_target,
                                        const model::VocabShard& shard,
                                        const parallel::CommunicatorPtr& tp,
                                        const ObjectiveOptions& options);

}  // namespace megasft::objectives
