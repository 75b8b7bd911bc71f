// Vocab-parallel CE and SED-SFT on logits sharded by vocabulary: per-token loss and statistics from one
// all-gather (local top-k and target logit) and one all-reduce (sum of exponentials); no full-logit gather.
#pragma once

#include <ATen/ATen.h>

#include "megasft/model/vocab_shard.h"
#include "megasft/objectives/objective_options.h"
#include "parallel/communicator.h"

namespace megasft::objectives {

constexpr int64_t kIgnoreIndex = -100;

// Per-token results, each [T] float32 (identical on every TP rank). Only token_loss carries a gradient
// (the analytic one, computed locally in backward). Ignored tokens have 0 everywhere.
struct TokenTerms {
  at::Tensor token_loss;  // ce + penalty
  at::Tensor ce;          // lse - z_y
  at::Tensor penalty;     // lambda * M * (p_y - 1/2)^2
  at::Tensor p_target;    // p_y
  at::Tensor topk_sum;    // S_t, sum of the k largest probabilities
  at::Tensor mask;        // M_t (1 = penalised)
  at::Tensor correct;     // the target has the largest logit
  at::Tensor supervised;  // label != ignore_index
};

// logits_local: [T, shard.local_cols] (any float dtype; math in float32 and wider); targets: [T] int64
// global ids or kIgnoreIndex. A target outside [0, vocab_size) is an error.
TokenTerms vocab_parallel_objective(const at::Tensor& logits_local, const at::Tensor& targets,
                                    const model::VocabShard& shard, const parallel::CommunicatorPtr& tp,
                                    const ObjectiveOptions& options);

// S_t alone, without targets or gradient: what tau calibration collects.
at::Tensor vocab_parallel_topk_sum(const at::Tensor& logits_local, const model::VocabShard& shard,
                                   const parallel::CommunicatorPtr& tp, int top_k);

}  // namespace megasft::objectives
