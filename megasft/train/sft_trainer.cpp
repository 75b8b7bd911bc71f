// The SFT loop. Every rank runs the same loop; TP ranks see the same batches, DP ranks disjoint ones.
// Each rank scales its token sums by 1/N_global (all-reduced before the step), so the DP reduction is a
// plain sum and the loss is the mean over every supervised token of the global batch.
#include "megasft/train/sft_trainer.h"

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>

#include "kernels/check.h"
#include "kernels/nvtx_range.h"
#include "megasft/checkpoint/distributed_checkpoint.h"
#include "megasft/checkpoint/hf_export.h"
#include "megasft/checkpoint/hf_import.h"
#include "megasft/data/batch_sampler.h"
#include "megasft/model/hf_config.h"
#include "megasft/model/llama_model.h"
#include "megasft/objectives/fused_head_loss.h"
#include "megasft/optim/distributed_optimizer.h"
#include "megasft/optim/lr_schedule.h"
#include "megasft/train/metrics_logger.h"
#include "megasft/train/tau_resolution.h"
#include "parallel/mappings.h"
#include "parallel/pipeline_schedule.h"

namespace megasft::train {
namespace {

using Clock = std::chrono::steady_clock;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

at::Tensor to_tensor(const std::vector<int64_t>& values, int64_t rows, int64_t cols) {
  return at::tensor(values, at::kLong).reshape({rows, cols});
}

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path);
  out << text << '\n';
  MEGASFT_CHECK(out.good(), "cannot write '", path.string(), "'");
}

// Fault injection for the launcher's restart tests, in the first attempt of a job only
// (TORCHELASTIC_RESTART_COUNT 0) and on the last rank: MEGASFT_FAULT_KILL_AT_STEP=<step> SIGKILLs it
// right after that step; MEGASFT_FAULT_HANG_AT_STEP=<step> makes it stop answering (the others must
// detect it through the collective timeout).
void inject_worker_fault(int64_t step, const parallel::ParallelState& state) {
  const char* attempt = std::getenv("TORCHELASTIC_RESTART_COUNT");
  if ((attempt && std::string(attempt) != "0") || state.global_rank() != state.world_size() - 1) return;
  auto at = [&](const char* name) {
    const char* value = std::getenv(name);
    return value && std::to_string(step) == value;
  };
  if (at("MEGASFT_FAULT_KILL_AT_STEP")) std::raise(SIGKILL);
  if (at("MEGASFT_FAULT_HANG_AT_STEP"))
    for (;;) pause();
}

}  // namespace

TrainSummary run_sft(const TrainOptions& options, const std::shared_ptr<parallel::ParallelState>& state) {
  const auto& tp = state->tensor();
  const auto& dp = state->data();
  const bool leader = state->is_first_rank();
  const auto start_time = Clock::now();

  auto dataset = data::TokenDataset::open(options.train_data);
  MEGASFT_CHECK(dataset.vocab_size() <= options.model.vocab_size, "dataset '", options.train_data,
                "' has vocab_size ", dataset.vocab_size(), " but model.vocab-size is ",
                options.model.vocab_size);

  const int64_t dp_size = state->layout().dp;
  const int64_t global_batch = options.global_batch_size > 0 ? options.global_batch_size
                                                             : options.micro_batch_size * dp_size;
  MEGASFT_CHECK(global_batch % (options.micro_batch_size * dp_size) == 0, "--global-batch-size ",
                global_batch, " is not a multiple of --micro-batch-size ", options.micro_batch_size,
                " x data-parallel size ", dp_size);
  const int64_t micro_batches = global_batch / (options.micro_batch_size * dp_size);

  const auto stage = model::PipelineStage::split(options.model.num_layers, state->pp_rank(), state->layout().pp,
                                                 options.pipeline_layers);
  model::LlamaModel model(options.model, tp, stage, options.sequence_parallel);
  MEGASFT_CHECK(options.seq_length % model.sequence_multiple() == 0, "--seq-length ", options.seq_length,
                " must be a multiple of --tp ", tp->size(), " with --sequence-parallel");
  checkpoint::load_initial_weights(model, options.model_dir, static_cast<uint64_t>(options.seed));
  model.set_activation_recompute(options.recompute);
  const at::ScalarType params_dtype = options.params_dtype == "bf16" ? at::kBFloat16 : at::kFloat;
  if (params_dtype != at::kFloat)
    for (const auto& p : model.parameters()) p.value.set_data(p.value.detach().to(params_dtype));

  optim::DistributedOptimizerOptions optimizer_options;
  optimizer_options.adam = {options.adam_beta1, options.adam_beta2, options.adam_eps, options.weight_decay};
  optimizer_options.shard_over_data_parallel = options.use_distributed_optimizer;
  optimizer_options.bucket_mb = options.grad_bucket_mb;
  optim::DistributedOptimizer optimizer(model.parameters(), *state, optimizer_options);

  // A checkpoint restores parameters, optimizer state, the step, the data position and tau.
  checkpoint::DistributedCheckpointer checkpointer(*state, options.keep);
  checkpoint::TrainingProgress progress;
  const std::string load_from = !options.load_dir.empty() ? options.load_dir
                                : options.resume && checkpoint::DistributedCheckpointer::has_checkpoint(options.save_dir)
                                    ? options.save_dir
                                    : "";
  if (!load_from.empty()) {
    progress = checkpointer.load(load_from, /*fallback=*/options.load_dir.empty(), model.parameters(), optimizer);
    if (leader)
      std::cout << "megasft: resumed from '" << load_from << "' at step " << progress.step << " ("
                << progress.consumed_samples << " samples consumed, saved at " << progress.layout << ")" << std::endl;
  }

  nlohmann::json metadata;
  metadata["layout"] = state->layout().to_string();
  metadata["parameters"] = options.model.num_parameters();
  objectives::ObjectiveOptions objective =
      resolve_tau(options, model, state->pipeline(), leader, metadata["tau"], progress.tau);
  objective.validate();

  const std::filesystem::path run_dir(options.run_dir);
  if (leader) {
    std::filesystem::create_directories(run_dir);
    write_text(run_dir / "options.json", options.to_json());
    write_text(run_dir / "metadata.json", metadata.dump(2));
    std::cout << "megasft: " << state->layout().to_string() << " (stage 0: " << stage.to_string() << "), "
              << options.model.num_parameters()
              << " parameters, " << dataset.num_samples() << " samples, global batch " << global_batch
              << " x " << options.seq_length << " tokens (" << micro_batches
              << " micro-batch(es) per rank), objective " << objective_kind_name(objective.kind)
              << std::endl;
  }
  MetricsLogger metrics((run_dir / "metrics.jsonl").string(), leader, /*keep_through_step=*/progress.step);

  data::BatchSampler sampler(dataset, options.seq_length, options.micro_batch_size,
                             static_cast<uint64_t>(options.seed), /*pad_id=*/0, state->dp_rank(), dp_size);
  sampler.skip_to(progress.consumed_samples);
  optim::WarmupCosineSchedule schedule{
      options.lr, options.min_lr,
      static_cast<int64_t>(std::round(options.warmup_fraction * options.max_steps)), options.max_steps};
  auto save_checkpoint = [&](int64_t step, int64_t tokens) {
    checkpoint::TrainingProgress now{step,
                                     sampler.consumed_samples(),
                                     tokens,
                                     objective.uses_tau() ? objective.tau : kNaN,
                                     nlohmann::json::parse(options.to_json()),
                                     model::hf_config_json(options.model, "float32"),
                                     state->layout().to_string()};
    checkpointer.save(options.save_dir, now, model.parameters(), optimizer);
    if (leader) std::cout << "megasft: saved step " << step << " to " << options.save_dir << std::endl;
  };

  TrainSummary summary;
  summary.tau = objective.uses_tau() ? objective.tau : kNaN;
  summary.metrics_path = metrics.path();
  int64_t tokens_seen = progress.tokens_seen;
  double pipeline_compute_s = 0, pipeline_total_s = 0;
  const auto loop_start = Clock::now();
  const int64_t first_step = progress.step + 1;
  summary.first_step = first_step;

  for (int64_t step = first_step; step <= options.max_steps; ++step) {
    NvtxRange step_range("train_step");
    const auto step_start = Clock::now();
    std::vector<data::Batch> batches;
    auto counts = at::zeros({1}, at::kDouble);
    for (int64_t m = 0; m < micro_batches; ++m) {
      batches.push_back(sampler.next());
      counts[0] += static_cast<double>(batches.back().num_supervised);
    }
    dp->all_reduce(counts, parallel::ReduceOp::kSum);
    const double global_tokens = counts[0].item<double>();
    MEGASFT_CHECK(global_tokens > 0, "step ", step, ": the global batch has no supervised token");

    auto stats = at::zeros({objectives::kNumObjectiveSums}, at::kDouble);
    parallel::PipelineStep pipeline_step;
    pipeline_step.micro_batches = micro_batches;
    pipeline_step.activation_shape = model.activation_shape(options.micro_batch_size, options.seq_length);
    pipeline_step.activation_dtype = params_dtype;
    pipeline_step.after_backward = [&] { optimizer.accumulate_gradients(); };
    pipeline_step.forward = [&](int64_t index, const at::Tensor& input) -> at::Tensor {
      NvtxRange micro_range("micro_batch_forward");
      const auto& batch = batches[index];
      at::Tensor positions;  // packed rows: conversations restart at 0 and do not see each other
      if (!batch.position_ids.empty()) positions = to_tensor(batch.position_ids, batch.batch_size, batch.seq_len);
      auto hidden = model.forward(stage.is_first ? to_tensor(batch.input_ids, batch.batch_size, batch.seq_len) : input,
                                  positions);
      if (!stage.is_last) return hidden;
      NvtxRange objective_range("objective");
      auto labels = to_tensor(batch.labels, batch.batch_size, batch.seq_len).flatten();
      auto head = objectives::fused_vocab_parallel_head_loss(model.head_input(hidden), model.lm_head_weight(), labels,
                                                             1.0 / global_tokens, model.vocab_shard(), tp,
                                                             objective, options.loss_chunk_tokens);
      stats += head.sums;
      return head.loss;
    };
    const auto timings = parallel::run_one_f_one_b(pipeline_step, state->pipeline());
    if (step > first_step) {  // the first step warms up allocators and caches
      pipeline_compute_s += timings.compute_s;
      pipeline_total_s += timings.total_s;
    }

    {
      NvtxRange optimizer_range("optimizer");
      const double lr = schedule.lr_at(step);
      const double grad_norm = optimizer.step(lr, options.clip_grad);
      dp->all_reduce(stats, parallel::ReduceOp::kSum);
      state->pipeline()->all_reduce(stats, parallel::ReduceOp::kSum);  // only the last stage has them

      const double n = stats[objectives::kSumCount].item<double>();
      tokens_seen += global_batch * options.seq_length;
      const double step_s = std::chrono::duration<double>(Clock::now() - step_start).count();
      const double elapsed = std::chrono::duration<double>(Clock::now() - loop_start).count();
      nlohmann::json record;
      record["step"] = step;
      record["loss"] = stats[objectives::kSumLoss].item<double>() / n;
      record["ce"] = stats[objectives::kSumCe].item<double>() / n;
      record["penalty"] = stats[objectives::kSumPenalty].item<double>() / n;
      record["mask_rate"] = !objective.has_sed_penalty()
                                ? nlohmann::json(nullptr)
                                : nlohmann::json(stats[objectives::kSumUnmasked].item<double>() / n);
      record["p_target"] = stats[objectives::kSumPTarget].item<double>() / n;
      record["topk_sum"] = stats[objectives::kSumTopkSum].item<double>() / n;
      record["tau"] = objective.uses_tau() ? nlohmann::json(objective.tau) : nlohmann::json(nullptr);
      record["accuracy"] = stats[objectives::kSumCorrect].item<double>() / n;
      record["grad_norm"] = grad_norm;
      record["lr"] = lr;
      record["tokens"] = tokens_seen;
      record["supervised_tokens"] = static_cast<int64_t>(n);
      record["tokens_per_s"] = global_batch * options.seq_length / step_s;
      record["elapsed_s"] = elapsed;
      metrics.log(record);

      if (step == first_step) summary.first_loss = record["loss"].get<double>();
      summary.last_loss = record["loss"].get<double>();
      summary.last_mask_rate = record["mask_rate"].is_null() ? kNaN : record["mask_rate"].get<double>();
      summary.steps = step;
      if (leader && (step % options.log_interval == 0 || step == first_step || step == options.max_steps)) {
        const double eta = elapsed / (step - first_step + 1) * (options.max_steps - step);
        std::cout << format_progress_line(record, options.max_steps, eta) << std::endl;
      }
    }
    inject_worker_fault(step, *state);
    const bool interval_due = options.save_interval > 0 && step % options.save_interval == 0;
    const bool exiting = options.exit_interval > 0 && step % options.exit_interval == 0 && step < options.max_steps;
    if (!options.save_dir.empty() && (interval_due || exiting || step == options.max_steps))
      save_checkpoint(step, tokens_seen);
    if (exiting) {
      if (leader) std::cout << "megasft: stopping after step " << step << " (--exit-interval)" << std::endl;
      break;
    }
  }
  if (!options.save_hf_dir.empty() && state->dp_rank() == 0)
    checkpoint::export_hf(model, state->pipeline(),
                          {options.save_hf_dir, checkpoint::parse_export_dtype(options.save_hf_dtype, "--save-hf-dtype"),
                           nullptr, options.model_dir});
  summary.elapsed_s = std::chrono::duration<double>(Clock::now() - start_time).count();

  // Every rank reports its own resources: memory differs by stage, and the bubble by position.
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  nlohmann::json rank_report = {
      {"rank", state->global_rank()},
      {"tp_rank", state->tp_rank()},
      {"pp_rank", state->pp_rank()},
      {"dp_rank", state->dp_rank()},
      {"stage", stage.to_string()},
      {"peak_rss_mib", usage.ru_maxrss / 1024.0},
      {"optimizer_state_mib", optimizer.state_bytes() / double(1 << 20)},
      {"pipeline_compute_s", pipeline_compute_s},
      {"pipeline_total_s", pipeline_total_s},
      {"bubble_fraction", pipeline_total_s > 0 ? 1.0 - pipeline_compute_s / pipeline_total_s : 0.0},
      {"micro_batches", micro_batches}};
  std::filesystem::create_directories(run_dir / "ranks");
  write_text(run_dir / "ranks" / ("rank-" + std::to_string(state->global_rank()) + ".json"), rank_report.dump(2));
  if (leader) {
    nlohmann::json s = {{"steps", summary.steps},       {"first_loss", summary.first_loss},
                        {"last_loss", summary.last_loss}, {"elapsed_s", summary.elapsed_s},
                        {"metrics", summary.metrics_path}};
    s["tau"] = std::isnan(summary.tau) ? nlohmann::json(nullptr) : nlohmann::json(summary.tau);
    s["last_mask_rate"] = std::isnan(summary.last_mask_rate) ? nlohmann::json(nullptr)
                                                             : nlohmann::json(summary.last_mask_rate);
    write_text(run_dir / "summary.json", s.dump(2));
  }
  return summary;
}

}  // namespace megasft::train
