// From prompt rows to graded rollouts: each row rendered by the chat codec, G samples generated, each
// response decoded and graded against the row's answer. Shared by GRPO, rollout-filter and held-out
// accuracy.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "megasft/rl/chat_codec.h"
#include "megasft/rl/math_grader.h"
#include "megasft/rl/prompt_file.h"
#include "megasft/rl/rollout_engine.h"

namespace megasft::rl {

struct GradedRollout {
  Rollout rollout;
  size_t row = 0;  // index into the rows given
  std::string text;
  Grade grade;
};

// rows[i] sampled `samples` times as samples row_ids[i] * samples + g (a global id per row, so a draw
// does not depend on batching or on the data-parallel split). Returned in order: row 0's samples,
// then row 1's, ...
std::vector<GradedRollout> generate_and_grade(const model::LlamaModel& model, const parallel::ParallelState& state,
                                              const ChatCodec& codec, const std::vector<const PromptRow*>& rows,
                                              const std::vector<int64_t>& row_ids, int64_t samples,
                                              const GenerationOptions& options, GradingMode grading);

// Greedy correctness of every row of `rows` (row i decoded on replica i % dp), gathered over the
// replicas so that every rank holds all of them, in row order. Collective over the world.
std::vector<bool> greedy_correctness(const model::LlamaModel& model, const parallel::ParallelState& state,
                                     const ChatCodec& codec, const std::vector<PromptRow>& rows,
                                     GenerationOptions options, GradingMode grading);

}  // namespace megasft::rl
