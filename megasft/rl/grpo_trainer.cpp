// One GRPO step: this data-parallel replica's prompts are rolled out G times, graded and turned into
// group advantages (a group never spans replicas); old (and reference) log-probs are recomputed for
// every micro-batch before any update (the first mini-batch's old ones in its own training forward);
// then each mini-batch is one optimizer step, its loss the chosen aggregation over the whole
// mini-batch (token counts all-reduced over data parallelism). Groups without an advantage are skipped.
#include "megasft/rl/grpo_trainer.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <iostream>

#include "kernels/check.h"
#include "kernels/nvtx_range.h"
#include "megasft/checkpoint/distributed_checkpoint.h"
#include "megasft/checkpoint/model_source.h"
#include "megasft/data/rng.h"
#include "megasft/model/hf_config.h"
#include "megasft/optim/distributed_optimizer.h"
#include "megasft/rl/grpo_batch.h"
#include "megasft/rl/grpo_metrics.h"
#include "megasft/rl/rollout_grading.h"
#include "megasft/rl/vocab_parallel_logprobs.h"
#include "megasft/train/metrics_logger.h"
#include "parallel/pipeline_schedule.h"

namespace megasft::rl {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// Position k of the prompt stream: epoch k / n is a permutation of the rows seeded by (seed, epoch).
size_t prompt_at(int64_t k, size_t rows, uint64_t seed) {
  const int64_t epoch = k / static_cast<int64_t>(rows);
  data::SplitMix64 rng(data::derive_seed(seed, static_cast<uint64_t>(epoch)));
  std::vector<size_t> order(rows);
  for (size_t i = 0; i < rows; ++i) order[i] = i;
  for (size_t i = rows - 1; i > 0; --i) std::swap(order[i], order[rng.below(i + 1)]);
  return order[static_cast<size_t>(k % static_cast<int64_t>(rows))];
}

at::ScalarType activation_dtype(const GrpoOptions& o) { return o.params_dtype == "bf16" ? at::kBFloat16 : at::kFloat; }

// Log-probs of a micro-batch's targets under `model`, without gradient: [B, L] float64 on the last stage.
at::Tensor forward_logprobs(const model::LlamaModel& model, const parallel::ParallelState& state,
                            const PolicyMicroBatch& mb, const GrpoOptions& o, const model::VocabShard& shard) {
  at::NoGradGuard no_grad;
  const int64_t rows = mb.input_ids.size(0), length = mb.input_ids.size(1);
  auto hidden = parallel::pipeline_inference_forward(
      [&](const at::Tensor& x) { return model.forward(model.stage().is_first ? mb.input_ids : x); }, mb.input_ids,
      model.activation_shape(rows, length), activation_dtype(o), state.pipeline());
  if (!model.stage().is_last) return {};
  auto lp = vocab_parallel_token_logprobs(model.head_input(hidden), model.lm_head_weight(), mb.targets.flatten(),
                                          o.sampling.temperature, shard, model.tensor_group(), o.loss_chunk_tokens);
  return lp.logprobs.to(at::kDouble).reshape({rows, length});
}

// One JSON line per rollout: the prompt row's line number, the response text, the grade.
void write_rollouts(const std::filesystem::path& dir, int64_t step, int dp_rank, const std::vector<GradedRollout>& graded,
                    const std::vector<const PromptRow*>& rows, int64_t group_size) {
  std::filesystem::create_directories(dir);
  char name[64];
  std::snprintf(name, sizeof name, "step_%06ld.dp%d.jsonl", static_cast<long>(step), dp_rank);
  std::ofstream out(dir / name);
  for (size_t i = 0; i < graded.size(); ++i) {
    const auto& g = graded[i];
    const auto* row = rows[g.row];
    out << nlohmann::json({{"prompt_line", row->line}, {"sample", static_cast<int64_t>(i) % group_size},
                           {"response", g.text}, {"extracted", g.grade.extracted ? *g.grade.extracted : ""},
                           {"answer", row->answer}, {"correct", g.grade.correct},
                           {"response_tokens", g.rollout.response.size()}, {"stopped", g.rollout.stopped}})
               .dump()
        << '\n';
  }
  MEGASFT_CHECK(out.good(), "cannot write rollouts to '", (dir / name).string(), "'");
}

}  // namespace

GrpoSummary run_grpo(const GrpoOptions& o, const std::shared_ptr<parallel::ParallelState>& state) {
  const auto start_time = Clock::now();
  const bool leader = state->is_first_rank();
  const int dp = state->layout().dp;
  MEGASFT_CHECK(o.prompts_per_step % dp == 0 && o.mini_batch_prompts % dp == 0, "--prompts-per-step ",
                o.prompts_per_step, " and --mini-batch-prompts ", o.mini_batch_prompts,
                " must be multiples of the data-parallel size ", dp);
  const auto rows = read_prompt_file(o.prompts);
  std::vector<PromptRow> eval_rows;
  if (!o.eval_prompts.empty()) {
    eval_rows = read_prompt_file(o.eval_prompts);
    if (o.eval_limit > 0 && static_cast<int64_t>(eval_rows.size()) > o.eval_limit) eval_rows.resize(o.eval_limit);
  }
  const auto source = checkpoint::resolve_model_source(o.model);
  auto policy = checkpoint::load_model(source, *state, o.params_dtype);
  std::unique_ptr<model::LlamaModel> reference;
  if (o.use_reference_model()) {
    reference = checkpoint::load_model(source, *state, o.params_dtype);
    for (const auto& p : reference->parameters()) p.value.requires_grad_(false);
  }
  ChatCodecOptions codec_options{checkpoint::resolve_tokenizer(o.tokenizer, source),
                                 o.chat_template, o.system_prompt,
                                 o.date_string.empty() ? data::kLlama31DefaultDate : o.date_string};
  const auto codec = make_chat_codec(codec_options, source.config);
  // A checkpoint records the tokenizer actually used, so --model CHECKPOINT finds it again.
  auto recorded_options = nlohmann::json::parse(o.to_json());
  recorded_options["tokenizer"] = codec_options.tokenizer;
  GenerationOptions generation{o.max_prompt_tokens, o.max_new_tokens, o.generation_batch_size, o.sampling,
                               static_cast<uint64_t>(o.seed), codec->stop_ids(), codec->pad_id(), codec->vocab_size()};
  // The policy's distribution is over the ids the tokenizer has, in sampling and in the loss alike.
  const auto policy_shard = limit_vocabulary(policy->vocab_shard(), codec->vocab_size());

  optim::DistributedOptimizerOptions optimizer_options;
  optimizer_options.adam = {o.adam_beta1, o.adam_beta2, o.adam_eps, o.weight_decay};
  optimizer_options.shard_over_data_parallel = o.use_distributed_optimizer;
  optimizer_options.bucket_mb = o.grad_bucket_mb;
  optim::DistributedOptimizer optimizer(policy->parameters(), *state, optimizer_options);
  checkpoint::DistributedCheckpointer checkpointer(*state, o.keep);
  checkpoint::TrainingProgress progress;
  if (o.resume && !o.save_dir.empty() && checkpoint::DistributedCheckpointer::has_checkpoint(o.save_dir)) {
    progress = checkpointer.load(o.save_dir, /*fallback=*/true, policy->parameters(), optimizer);
    if (leader) std::cout << "megasft grpo: resumed from '" << o.save_dir << "' at step " << progress.step << std::endl;
  }

  const int64_t max_steps = o.max_steps > 0 ? o.max_steps
                                            : (static_cast<int64_t>(rows.size()) + o.prompts_per_step - 1) / o.prompts_per_step;
  const std::filesystem::path run_dir(o.run_dir);
  if (leader) {
    std::filesystem::create_directories(run_dir);
    std::ofstream(run_dir / "options.json") << o.to_json() << '\n';
    std::cout << "megasft grpo: " << state->layout().to_string() << ", " << source.config.num_parameters()
              << " parameters from " << o.model << ", " << rows.size() << " prompts, " << o.prompts_per_step << " x "
              << o.samples_per_prompt << " rollouts per step, " << o.prompts_per_step / o.mini_batch_prompts
              << " optimizer steps each, " << max_steps << " steps; " << codec->describe() << std::endl;
  }
  train::MetricsLogger metrics((run_dir / "metrics.jsonl").string(), leader, progress.step);
  GrpoSummary summary;
  summary.metrics_path = metrics.path();
  // Held-out greedy correctness, problem by problem; the first measurement is kept in the run
  // directory so that a resumed run still compares its final accuracy with the starting model's.
  const auto before_path = run_dir / "eval_before.json";
  auto accuracy_of = [](const std::vector<bool>& correct) {  // -1: not measured
    return correct.empty() ? -1.0
                           : static_cast<double>(std::count(correct.begin(), correct.end(), true)) /
                                 static_cast<double>(correct.size());
  };
  auto evaluate = [&](int64_t step, const char* when) {
    if (eval_rows.empty()) return std::vector<bool>{};
    const auto t0 = Clock::now();
    auto correct = greedy_correctness(*policy, *state, *codec, eval_rows, generation, o.grading);
    const auto total = static_cast<int64_t>(correct.size());
    const auto right = static_cast<int64_t>(std::count(correct.begin(), correct.end(), true));
    const double accuracy = total > 0 ? accuracy_of(correct) : 0.0;
    metrics.log({{"step", step}, {"eval_accuracy", accuracy}, {"eval_correct", right}, {"eval_total", total}});
    if (leader)
      std::cout << "megasft grpo: held-out greedy accuracy " << when << ": " << right << "/" << total << " = "
                << accuracy << " (" << train::format_duration(seconds_since(t0)) << ")" << std::endl;
    return correct;
  };
  std::vector<bool> eval_before;
  if (progress.step == 0) {
    eval_before = evaluate(0, "before training");
    if (leader && !eval_before.empty())
      std::ofstream(before_path) << nlohmann::json({{"eval_prompts", o.eval_prompts}, {"correct", eval_before}}).dump()
                                 << '\n';
  } else if (leader && std::filesystem::exists(before_path)) {
    try {
      auto recorded = nlohmann::json::parse(std::ifstream(before_path));
      if (recorded.at("eval_prompts") == o.eval_prompts) eval_before = recorded.at("correct").get<std::vector<bool>>();
    } catch (const std::exception& e) {
      std::cout << "megasft grpo: warning: ignoring '" << before_path.string() << "' (" << e.what() << ")" << std::endl;
    }
  }
  summary.eval_before = accuracy_of(eval_before);

  const int64_t local_prompts = o.prompts_per_step / dp, local_mini = o.mini_batch_prompts / dp;
  const int64_t G = o.samples_per_prompt;
  const auto loop_start = Clock::now();
  summary.first_step = progress.step + 1;
  for (int64_t step = progress.step + 1; step <= max_steps; ++step) {
    NvtxRange step_range("grpo_step");
    const auto step_start = Clock::now();
    // --- Rollout: this replica's prompts, G samples each ----------------------------------------
    std::vector<const PromptRow*> mine;
    std::vector<int64_t> row_ids;  // the prompt's place in the stream: unique over steps and replicas
    for (int64_t i = 0; i < local_prompts; ++i) {
      const int64_t k = (step - 1) * o.prompts_per_step + i * dp + state->dp_rank();
      mine.push_back(&rows[prompt_at(k, rows.size(), static_cast<uint64_t>(o.seed))]);
      row_ids.push_back(k);
    }
    std::vector<GradedRollout> graded;
    {
      NvtxRange range("rollout");
      graded = generate_and_grade(*policy, *state, *codec, mine, row_ids, G, generation, o.grading);
    }
    const double rollout_s = seconds_since(step_start);
    if (o.save_rollouts && state->tp_rank() == 0 && state->is_last_stage())
      write_rollouts(run_dir / "rollouts", step, state->dp_rank(), graded, mine, G);
    GrpoStepMetrics step_metrics(reference != nullptr);
    step_metrics.set_mini_batches(local_prompts / local_mini);
    auto rewards = at::empty({static_cast<int64_t>(graded.size())}, at::kDouble);
    for (size_t i = 0; i < graded.size(); ++i)
      rewards[static_cast<int64_t>(i)] = graded[i].grade.correct ? o.reward_correct : o.reward_wrong;
    step_metrics.add_rollouts(graded, rewards, G);

    // --- Old and reference log-probs, before any update -------------------------------------------
    // A group whose G rewards are all equal has advantage 0 on every token. Without a KL or entropy
    // term its sequences add exactly nothing to the loss or its gradient, so they skip the old-log-prob
    // pass and the update; they still count in the aggregation's token and sequence totals, so the
    // step is the one the whole mini-batch would give. Rewards are known on every rank of the replica.
    const bool skip_uniform_groups = !reference && o.entropy_coef == 0;
    const auto mixed = mixed_reward_groups(rewards, G);
    auto carries_gradient = [&](int64_t k) { return !skip_uniform_groups || mixed[static_cast<size_t>(k / G)]; };
    const auto train_start = Clock::now();
    std::vector<std::vector<PolicyMicroBatch>> mini_batches;
    std::vector<std::vector<int64_t>> mini_rollouts;  // per mini-batch: the rollout of each trained row
    // Per mini-batch over all replicas: {response tokens, sequences, response tokens of the trained rows}.
    std::vector<at::Tensor> mini_totals;
    for (int64_t m = 0; m < local_prompts / local_mini; ++m) {
      std::vector<int64_t> trained;
      auto totals = at::zeros({3}, at::kDouble);
      for (int64_t k = m * local_mini * G; k < (m + 1) * local_mini * G; ++k) {
        totals[0] += static_cast<double>(graded[k].rollout.response.size());
        if (carries_gradient(k)) trained.push_back(k);
      }
      // One zero-advantage row keeps the mini-batch's pipeline step and optimizer step.
      if (trained.empty()) trained.push_back(m * local_mini * G);
      totals[1] = static_cast<double>(local_mini * G);
      std::vector<PolicySequence> sequences;
      for (const int64_t k : trained) {
        sequences.push_back({&graded[k].rollout, 0.0});
        totals[2] += static_cast<double>(graded[k].rollout.response.size());
      }
      state->data()->all_reduce(totals, parallel::ReduceOp::kSum);
      auto batches = make_policy_micro_batches(sequences, o.micro_batch_size, policy_sequence_length(sequences),
                                               codec->pad_id());
      for (auto& mb : batches) {
        // The first mini-batch trains the policy that sampled: its old log-probs are its own forward's,
        // detached (ratio exactly 1), so they need no pass of their own unless the reward needs them.
        if (m > 0 || o.kl_in_reward) mb.old_logprobs = forward_logprobs(*policy, *state, mb, o, policy_shard);
        if (reference) mb.ref_logprobs = forward_logprobs(*reference, *state, mb, o, policy_shard);
      }
      mini_batches.push_back(std::move(batches));
      mini_rollouts.push_back(std::move(trained));
      mini_totals.push_back(totals);
    }
    // Row b of micro-batch i of mini-batch m is its trained row q = i * micro + b; padding rows at the
    // end of a mini-batch's last micro-batch are skipped.
    auto for_each_sequence = [&](const std::function<void(PolicyMicroBatch&, int64_t, int64_t)>& visit) {
      for (size_t m = 0; m < mini_batches.size(); ++m)
        for (size_t i = 0; i < mini_batches[m].size(); ++i)
          for (int64_t b = 0; b < o.micro_batch_size; ++b) {
            const auto q = static_cast<size_t>(static_cast<int64_t>(i) * o.micro_batch_size + b);
            if (q < mini_rollouts[m].size()) visit(mini_batches[m][i], b, mini_rollouts[m][q]);
          }
    };
    // --- Advantages (last stage: the only one that computes the loss) -----------------------------
    if (policy->stage().is_last) {
      auto scores = rewards.clone();
      if (o.kl_in_reward)  // the sequence's summed KL (estimator of old vs reference) lowers its reward
        for_each_sequence([&](PolicyMicroBatch& mb, int64_t b, int64_t k) {
          scores[k] -= o.kl_coef * (kl_estimate(mb.old_logprobs[b], mb.ref_logprobs[b], o.kl_estimator) * mb.mask[b]).sum();
        });
      auto advantages = group_advantages(scores, G, !o.no_std);
      for_each_sequence([&](PolicyMicroBatch& mb, int64_t b, int64_t k) { mb.advantages[b] = mb.mask[b] * advantages[k]; });
    }

    // --- Updates: one optimizer step per mini-batch ------------------------------------------------
    double grad_norm_sum = 0;
    int64_t trained_tokens = 0;
    for (size_t m = 0; m < mini_batches.size(); ++m) {
      auto& batches = mini_batches[m];
      const double total_tokens = mini_totals[m][0].item<double>(), total_sequences = mini_totals[m][1].item<double>();
      parallel::PipelineStep pipeline_step;
      pipeline_step.micro_batches = static_cast<int64_t>(batches.size());
      pipeline_step.activation_shape = policy->activation_shape(batches[0].input_ids.size(0), batches[0].input_ids.size(1));
      pipeline_step.activation_dtype = activation_dtype(o);
      pipeline_step.after_backward = [&] { optimizer.accumulate_gradients(); };
      pipeline_step.forward = [&](int64_t index, const at::Tensor& input) -> at::Tensor {
        const auto& mb = batches[index];
        auto hidden = policy->forward(policy->stage().is_first ? mb.input_ids : input);
        if (!policy->stage().is_last) return hidden;
        NvtxRange range("policy_loss");
        const int64_t b = mb.input_ids.size(0), l = mb.input_ids.size(1);
        auto lp = vocab_parallel_token_logprobs(policy->head_input(hidden), policy->lm_head_weight(), mb.targets.flatten(),
                                                o.sampling.temperature, policy_shard, policy->tensor_group(),
                                                o.loss_chunk_tokens);
        auto logp = lp.logprobs.to(at::kDouble).reshape({b, l});
        auto entropy = lp.entropy.to(at::kDouble).reshape({b, l});
        const auto& old_logprobs = mb.old_logprobs.defined() ? mb.old_logprobs : logp.detach();
        auto terms = clipped_surrogate(logp, old_logprobs, mb.advantages, o.clip);
        auto token_loss = terms.loss;
        at::Tensor kl;
        if (reference) {
          kl = kl_estimate(logp, mb.ref_logprobs, o.kl_estimator);
          if (!o.kl_in_reward) token_loss = token_loss + o.kl_coef * kl;
        }
        if (o.entropy_coef != 0) token_loss = token_loss - o.entropy_coef * entropy;
        auto weights = aggregation_weights(mb.mask, o.loss_agg, total_tokens, total_sequences);
        auto loss = (token_loss * weights).sum();
        step_metrics.add_update(terms, mb.mask, entropy.detach(), kl.defined() ? kl.detach() : kl,
                                (token_loss.detach() * weights).sum());
        return loss.to(at::kFloat);
      };
      parallel::run_one_f_one_b(pipeline_step, state->pipeline());
      grad_norm_sum += optimizer.step(o.lr, o.clip_grad);
      trained_tokens += static_cast<int64_t>(mini_totals[m][2].item<double>());
    }
    const double train_s = seconds_since(train_start);

    // --- Metrics, checkpoint ----------------------------------------------------------------------
    auto record = step_metrics.reduce(*state);
    record["step"] = step;
    record["grad_norm"] = grad_norm_sum / static_cast<double>(mini_batches.size());
    record["lr"] = o.lr;
    record["rollout_tokens_per_s"] = record["response_tokens"].get<double>() / rollout_s;
    record["train_tokens_per_s"] = static_cast<double>(trained_tokens) / train_s;
    record["rollout_s"] = rollout_s;
    record["train_s"] = train_s;
    record["elapsed_s"] = seconds_since(loop_start);
    metrics.log(record);
    if (step == summary.first_step) summary.first_reward = record["reward_mean"].get<double>();
    summary.last_reward = record["reward_mean"].get<double>();
    summary.steps = step;
    if (leader && (step % o.log_interval == 0 || step == summary.first_step || step == max_steps)) {
      const double eta = seconds_since(loop_start) / static_cast<double>(step - summary.first_step + 1) *
                         static_cast<double>(max_steps - step);
      std::cout << format_grpo_progress_line(record, max_steps, eta) << std::endl;
    }
    if (o.eval_interval > 0 && step % o.eval_interval == 0 && step < max_steps) evaluate(step, "during training");
    const bool interval_due = o.save_interval > 0 && step % o.save_interval == 0;
    const bool exiting = o.exit_interval > 0 && step % o.exit_interval == 0 && step < max_steps;
    if (!o.save_dir.empty() && (interval_due || exiting || step == max_steps)) {
      checkpoint::TrainingProgress now{step, step * o.prompts_per_step, 0, std::numeric_limits<double>::quiet_NaN(),
                                       recorded_options,
                                       model::hf_config_json(source.config, "float32"), state->layout().to_string()};
      checkpointer.save(o.save_dir, now, policy->parameters(), optimizer);
      if (leader) std::cout << "megasft grpo: saved step " << step << " to " << o.save_dir << std::endl;
    }
    if (exiting) break;
  }
  const auto eval_after = evaluate(summary.steps, "after training");
  summary.eval_after = accuracy_of(eval_after);
  if (!eval_before.empty() && eval_before.size() == eval_after.size()) {
    summary.eval_change = compare_paired(eval_before, eval_after);
    if (leader) std::cout << "megasft grpo: held-out change: " << summary.eval_change->describe() << std::endl;
  }
  summary.elapsed_s = seconds_since(start_time);
  if (leader) {
    nlohmann::json s = {{"steps", summary.steps}, {"first_reward", summary.first_reward},
                        {"last_reward", summary.last_reward}, {"eval_accuracy_before", summary.eval_before},
                        {"eval_accuracy_after", summary.eval_after}, {"elapsed_s", summary.elapsed_s},
                        {"metrics", summary.metrics_path}};
    if (summary.eval_change)
      s["eval_change"] = {{"gained", summary.eval_change->gained}, {"lost", summary.eval_change->lost},
                          {"mcnemar_exact_p", summary.eval_change->p_value}};
    std::ofstream(run_dir / "summary.json") << s.dump(2) << '\n';
  }
  return summary;
}

}  // namespace megasft::rl
