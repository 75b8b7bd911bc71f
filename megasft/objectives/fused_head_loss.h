// The LM head and the objective as one chunked operation: for each chunk of tokens, the logits shard
// [chunk, V_local], the objective and its gradient in place, then the chunk's contributions to the
// hidden-state and head-weight gradients. Peak memory is one chunk of logits, whatever the batch length.
#pragma once

#include <ATen/ATen.h>

#include "megasft/model/vocab_shard.h"
#include "megasft/objectives/objective_options.h"
#include "megasft/objectives/objective_terms.h"
#include "parallel/communicator.h"

namespace megasft::objectives {

// Sums over the supervised tokens of a batch (double), for the step's metrics.
enum ObjectiveSum {
  kSumLoss, kSumCe, kSumPenalty, kSumPTarget, kSumTopkSum, kSumUnmasked, kSumCorrect, kSumCount,
  kNumObjectiveSums
};

// Adds one batch's token terms into sums [kNumObjectiveSums].
void accumulate_objective_sums(at::Tensor& sums, const TokenTerms& terms);

struct FusedHeadLoss {
  at::Tensor loss;  // scalar: token_weight * sum_t l_t; differentiable w.r.t. hidden and weight
  at::Tensor sums;  // [kNumObjectiveSums] double, no gradient
};

// hidden: [T, H], already copied into the tensor-parallel region (its gradient is a partial sum that
// the copy's backward all-reduces); weight: the head shard [V_local, H]; targets: [T] int64 global ids
// or kIgnoreIndex. token_weight is 1/N_global for an exact global token mean.
FusedHeadLoss fused_vocab_parallel_head_loss(const at::Tensor& hidden, const at::Tensor& weight,
                                             const at::Tensor& targets, double token_weight,
                                             const model::VocabShard& shard,
                                             const parallel::CommunicatorPtr& tp,
                                             const ObjectiveOptions& options, int64_t chunk_tokens);

}  // namespace megasft::objectives
