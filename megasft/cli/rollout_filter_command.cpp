// `megasft rollout-filter`: the paper's data step before RL. Every prompt is sampled G times and kept
// only when its samples disagree (some right, some wrong): all-correct and all-wrong groups give GRPO
// zero advantage and no gradient.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "megasft/checkpoint/model_source.h"
#include "megasft/cli/commands.h"
#include "megasft/train/metrics_logger.h"
#include "megasft/rl/grpo_options.h"
#include "megasft/rl/rollout_grading.h"
#include "parallel/parallel_state.h"

namespace megasft::cli {

int rollout_filter_command(const Args& args) {
  auto o = rl::GrpoOptions::parse(args, rl::GrpoOptions::Purpose::kFilter);
  if (o.show_help) {
    std::cout << rl::GrpoOptions::help(rl::GrpoOptions::Purpose::kFilter);
    return 0;
  }
  auto env = parallel::DistributedEnv::from_environment();
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(o.dist_timeout_s * 1000));
  auto state = parallel::ParallelState::initialize(env, o.tp, o.pp, timeout);
  const auto rows = rl::read_prompt_file(o.prompts);
  const auto source = checkpoint::resolve_model_source(o.model);
  const auto model_ptr = checkpoint::load_model(source, *state, o.params_dtype);
  const auto& model = *model_ptr;
  const auto codec = rl::make_chat_codec(
      {checkpoint::resolve_tokenizer(o.tokenizer, source),
       o.chat_template, o.system_prompt, o.date_string.empty() ? data::kLlama31DefaultDate : o.date_string},
      source.config);
  rl::GenerationOptions generation{o.max_prompt_tokens, o.max_new_tokens, o.generation_batch_size, o.sampling,
                                   static_cast<uint64_t>(o.seed), codec->stop_ids(), codec->pad_id(), codec->vocab_size()};

  // Row i belongs to replica i % dp; replicas work through their rows in chunks that fill a decode batch.
  const int dp = state->layout().dp, dp_rank = state->dp_rank();
  const int64_t G = o.samples_per_prompt;
  const size_t chunk = static_cast<size_t>(std::max<int64_t>(1, o.generation_batch_size / G));
  auto correct = at::zeros({static_cast<int64_t>(rows.size())}, at::kDouble);
  std::vector<size_t> mine;
  for (size_t i = static_cast<size_t>(dp_rank); i < rows.size(); i += static_cast<size_t>(dp)) mine.push_back(i);
  // Progress of the first replica stands for everyone's: prompts, generated tokens per second, ETA.
  const auto start = std::chrono::steady_clock::now();
  auto last_report = start;
  int64_t generated = 0;
  for (size_t begin = 0; begin < mine.size(); begin += chunk) {
    std::vector<const rl::PromptRow*> batch;
    std::vector<int64_t> ids;
    for (size_t k = begin; k < std::min(mine.size(), begin + chunk); ++k) {
      batch.push_back(&rows[mine[k]]);
      ids.push_back(static_cast<int64_t>(mine[k]));
    }
    auto graded = rl::generate_and_grade(model, *state, *codec, batch, ids, G, generation, o.grading);
    for (const auto& g : graded) {
      if (g.grade.correct) correct[ids[g.row]] += 1.0;
      generated += static_cast<int64_t>(g.rollout.response.size());
    }
    const auto now = std::chrono::steady_clock::now();
    const size_t done = std::min(mine.size(), begin + chunk);
    if (state->is_first_rank() && (now - last_report > std::chrono::seconds(10) || done == mine.size())) {
      const double seconds = std::chrono::duration<double>(now - start).count();
      std::cout << "rollout-filter: " << done << "/" << mine.size() << " prompts of this replica, "
                << static_cast<int64_t>(generated / seconds) << " tok/s, ETA "
                << train::format_duration(seconds / static_cast<double>(done) * static_cast<double>(mine.size() - done))
                << std::endl;
      last_report = now;
    }
  }
  state->data()->all_reduce(correct, parallel::ReduceOp::kSum);

  if (state->is_first_rank()) {
    std::vector<rl::PromptRow> kept;
    int64_t all_correct = 0, all_wrong = 0;
    for (size_t i = 0; i < rows.size(); ++i) {
      const auto c = static_cast<int64_t>(correct[static_cast<int64_t>(i)].item<double>());
      if (c == G) ++all_correct;
      else if (c == 0) ++all_wrong;
      else kept.push_back(rows[i]);
    }
    rl::write_prompt_rows(o.output, kept);
    nlohmann::json report = {{"prompts", rows.size()},  {"kept", kept.size()},     {"all_correct", all_correct},
                             {"all_wrong", all_wrong},   {"samples", G},           {"temperature", o.sampling.temperature},
                             {"model", o.model},         {"output", o.output},     {"grading", rl::grading_mode_name(o.grading)}};
    std::filesystem::create_directories(o.run_dir);
    std::ofstream(std::filesystem::path(o.run_dir) / "rollout_filter.json") << report.dump(2) << '\n';
    std::cout << "megasft rollout-filter: kept " << kept.size() << " of " << rows.size() << " prompts ("
              << all_correct << " all correct, " << all_wrong << " all wrong, " << G << " samples each) -> "
              << o.output << std::endl;
  }
  state->world()->barrier();
  return 0;
}

}  // namespace megasft::cli
