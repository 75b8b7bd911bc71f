#include "megasft/rl/rollout_grading.h"

#include "kernels/check.h"

namespace megasft::rl {

std::vector<GradedRollout> generate_and_grade(const model::LlamaModel& model, const parallel::ParallelState& state,
                                              const ChatCodec& codec, const std::vector<const PromptRow*>& rows,
                                              const std::vector<int64_t>& row_ids, int64_t samples,
                                              const GenerationOptions& options, GradingMode grading) {
  MEGASFT_CHECK(rows.size() == row_ids.size(), "generate_and_grade: ", rows.size(), " rows but ", row_ids.size(), " ids");
  std::vector<std::vector<int32_t>> prompts;
  std::vector<int64_t> ids;
  for (size_t i = 0; i < rows.size(); ++i) {
    std::vector<int32_t> encoded;
    try {
      encoded = codec.encode_prompt(rows[i]->conversation());
    } catch (const std::exception& e) {
      MEGASFT_FAIL("prompt file line ", rows[i]->line, ": ", e.what());
    }
    for (int64_t g = 0; g < samples; ++g) {
      prompts.push_back(encoded);
      ids.push_back(row_ids[i] * samples + g);
    }
  }
  auto rollouts = generate(model, state, prompts, ids, options);
  std::vector<GradedRollout> out(rollouts.size());
  for (size_t k = 0; k < rollouts.size(); ++k) {
    auto& g = out[k];
    g.row = k / static_cast<size_t>(samples);
    g.text = codec.decode(rollouts[k].response);
    g.grade = grade_response(g.text, rows[g.row]->answer, grading);
    g.rollout = std::move(rollouts[k]);
  }
  return out;
}

std::vector<bool> greedy_correctness(const model::LlamaModel& model, const parallel::ParallelState& state,
                                     const ChatCodec& codec, const std::vector<PromptRow>& rows,
                                     GenerationOptions options, GradingMode grading) {
  options.sampling = {0.0, 1.0, 0};
  const int dp = state.layout().dp, dp_rank = state.dp_rank();
  std::vector<const PromptRow*> mine;
  std::vector<int64_t> ids;
  for (size_t i = static_cast<size_t>(dp_rank); i < rows.size(); i += static_cast<size_t>(dp)) {
    mine.push_back(&rows[i]);
    ids.push_back(static_cast<int64_t>(i));
  }
  auto graded = generate_and_grade(model, state, codec, mine, ids, 1, options, grading);
  auto correct = at::zeros({static_cast<int64_t>(rows.size())}, at::kDouble);  // each row set by one replica
  auto flag = correct.accessor<double, 1>();
  for (size_t k = 0; k < graded.size(); ++k) flag[ids[k]] = graded[k].grade.correct ? 1.0 : 0.0;
  state.data()->all_reduce(correct, parallel::ReduceOp::kSum);
  std::vector<bool> out(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) out[i] = flag[static_cast<int64_t>(i)] > 0.5;
  return out;
}

}  // namespace megasft::rl
