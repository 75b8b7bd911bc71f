// Per-token log-probabilities and entropies of the policy at a temperature, from the hidden states and
// the vocab-parallel head, chunk by chunk: three all-reduces of [chunk] numbers, never a full-logit gather.
#pragma once

#include <ATen/ATen.h>

#include "megasft/model/vocab_shard.h"
#include "parallel/communicator.h"

namespace megasft::rl {

struct TokenLogprobs {
  at::Tensor logprobs;  // [T] float32: log softmax(z / T)[target]; 0 where the target is ignored (< 0)
  at::Tensor entropy;   // [T] float32: entropy of softmax(z / T); 0 where the target is ignored
};

// hidden: [T, H] already in the tensor-parallel region (model.head_input); weight: the head shard
// [V_local, H]; targets: [T] int64 global ids or -1. Differentiable in hidden and weight through both
// outputs. Backward recomputes each chunk's logits rather than keeping [T, V_local] alive.
TokenLogprobs vocab_parallel_token_logprobs(const at::Tensor& hidden, const at::Tensor& weight,
                                            const at::Tensor& targets, double temperature,
                                            const model::VocabShard& shard, const parallel::CommunicatorPtr& tp,
                                            int64_t chunk_tokens);

}  // namespace megasft::rl
