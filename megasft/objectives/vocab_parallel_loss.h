// Vocab-parallel objectives on materialised logits sharded by vocabulary: per-token loss and metrics
// from per-shard statistics (one all-gather, one all-reduce; never a full-logit gather), with an
// analytic backward that needs no communication. The trainer uses the fused, chunked head instead.
#pragma once

#include <ATen/ATen.h>

#include "megasft/model/vocab_shard.h"
#include "megasft/objectives/objective_options.h"
#include "megasft/objectives/objective_terms.h"
#include "parallel/communicator.h"

namespace megasft::objectives {

// logits_local: [T, shard.local_cols] (any float dtype; math in float32 and wider); targets: [T] int64
// global ids or kIgnoreIndex. Returns float32 [T] terms; only token_loss carries a gradient.
TokenTerms vocab_parallel_objective(const at::Tensor& logits_local, const at::Tensor& targets,
                                    const model::VocabShard& shard, const parallel::CommunicatorPtr& tp,
                                    const ObjectiveOptions& options);

// S_t alone, without targets or gradient: what tau calibration collects. [T] float32.
at::Tensor vocab_parallel_topk_sum(const at::Tensor& logits_local, const model::VocabShard& shard,
                                   const parallel::CommunicatorPtr& tp, int top_k);

}  // namespace megasft::objectives
