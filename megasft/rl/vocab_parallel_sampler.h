// Sampling the next token from logits sharded by vocabulary, without gathering them: greedy, plain
// temperature sampling (per-shard Gumbel-max, one all-gather of 3 numbers per row) and top-k / top-p
// (each shard's top candidates gathered, the nucleus formed from them, Gumbel-max inside it).
#pragma once

#include <ATen/ATen.h>

#include "megasft/model/vocab_shard.h"
#include "parallel/communicator.h"

namespace megasft::rl {

// Hugging Face's order: top-k first, then top-p on the distribution renormalised over what top-k kept.
struct SamplingParams {
  double temperature = 1.0;  // 0: greedy (the highest logit, ties to the lowest id)
  double top_p = 1.0;        // keep the smallest set of most probable tokens whose mass reaches top_p
  int64_t top_k = 0;         // 0: no limit
  void validate() const;     // throws naming the option and its value
};

struct SampledTokens {
  at::Tensor tokens;    // [B] int64 global ids, identical on every TP rank
  at::Tensor logprobs;  // [B] float64 log softmax(z / T) of the token over the whole vocabulary (T = 1 if greedy)
};

// The shard with ids >= vocab_limit treated as padding (never sampled, outside every normaliser): a
// model's head often has rows past the tokenizer's last id. vocab_limit <= 0 leaves it unchanged.
model::VocabShard limit_vocabulary(model::VocabShard shard, int64_t vocab_limit);

// logits: [B, V_local] float32, this rank's shard (padding columns excluded via `shard`); row_seeds:
// [B] int64 bit patterns, equal on every TP rank. The noise of a (row seed, token id) pair does not depend
// on the layout, so draws are reproducible at a fixed layout and equal across TP sizes up to float ties.
SampledTokens sample_vocab_parallel(const at::Tensor& logits, const at::Tensor& row_seeds,
                                    const model::VocabShard& shard, const parallel::CommunicatorPtr& tp,
                                    const SamplingParams& params);

}  // namespace megasft::rl
