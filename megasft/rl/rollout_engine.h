// Batched generation on the training model's own shards: left-padded prompts, a KV cache per stage,
// vocab-parallel sampling on the last stage, the chosen tokens broadcast back along the pipeline.
#pragma once

#include <cstdint>
#include <vector>

#include "megasft/model/llama_model.h"
#include "megasft/rl/vocab_parallel_sampler.h"
#include "parallel/parallel_state.h"

namespace megasft::rl {

struct GenerationOptions {
  int64_t max_prompt_tokens = 1024;  // a longer prompt keeps its last tokens (truncated from the left)
  int64_t max_new_tokens = 3072;
  int64_t batch_size = 64;           // sequences decoded together on this data-parallel rank
  SamplingParams sampling;
  uint64_t seed = 0;
  std::vector<int32_t> stop_ids;     // end of turn / EOS: generation of a row ends after the first one
  int32_t pad_id = 0;                // fills left padding; never attended to
  int64_t vocab_limit = 0;           // sample only ids below this (the tokenizer's size); 0: the model's
  void validate() const;
};

struct Rollout {
  std::vector<int32_t> prompt;    // after truncation
  std::vector<int32_t> response;  // up to and including the first stop token
  // per response token: log softmax(z / T) over ids < vocab_limit at sampling time (T = 1 if greedy)
  std::vector<double> logprobs;
  bool stopped = false;           // ended with a stop token, not at max_new_tokens
};

// Collective over the tensor and pipeline groups (every rank of a model replica calls it with the same
// prompts; data-parallel replicas generate independently). sample_ids[i] names prompt i's sample
// globally (its random stream), so a draw does not depend on batching or on the data-parallel split.
std::vector<Rollout> generate(const model::LlamaModel& model, const parallel::ParallelState& state,
                              const std::vector<std::vector<int32_t>>& prompts, const std::vector<int64_t>& sample_ids,
                              const GenerationOptions& options);

}  // namespace megasft::rl
