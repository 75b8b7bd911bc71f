// Distributed checkpoints: model, optimizer state and training progress of a run, stored with every
// tensor's full logical shape so they load at any (TP, PP, DP) layout, saved atomically.
#pragma once

#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>
#include <string>

#include "megasft/optim/distributed_optimizer.h"
#include "parallel/parallel_state.h"

namespace megasft::checkpoint {

// Everything besides tensors that an exact resume needs. The LR schedule is a function of `step`, and
// training draws no random numbers (no dropout), so the data position is the only other state.
struct TrainingProgress {
  int64_t step = 0;
  int64_t consumed_samples = 0;
  int64_t tokens_seen = 0;
  double tau = std::numeric_limits<double>::quiet_NaN();
  nlohmann::json options;       // the run's options, for the record
  nlohmann::json model_config;  // the model as a Hugging Face config.json, to rebuild it anywhere
  std::string layout;
  // Adam's step count (its bias correction): the step for SFT, several per step for GRPO's mini-batches.
  // Filled from the optimizer when saving; older checkpoints without it read back `step`.
  int64_t optimizer_steps = 0;
};

// The metadata of one iter_N directory, or of a root's `latest` (no tensors are read).
TrainingProgress read_checkpoint_metadata(const std::string& path);

// Layout on disk: <root>/iter_0000020/{model_optim.h5, metadata.json} and <root>/latest naming the
// newest complete one. model_optim.h5 holds /model/<name>, /optimizer/{master,exp_avg,exp_avg_sq}/<name>
// as float32 with their logical shapes (vocabulary padding left out) and Fletcher-32 checksums.
// A save is written under iter_N.tmp and renamed when whole; `latest` is replaced last.
class DistributedCheckpointer {
 public:
  DistributedCheckpointer(const parallel::ParallelState& state, int keep);

  // Collective over the world. One writer per (TP, PP) position (DP rank 0) writes its slices in turn.
  void save(const std::string& root, const TrainingProgress& progress, const parallel::ParameterList& parameters,
            const optim::DistributedOptimizer& optimizer);

  // Collective. `path` is a checkpoint root (its `latest`) or one iter_N directory. With fallback, a
  // checkpoint that fails on any rank is skipped with a warning for the next older one.
  TrainingProgress load(const std::string& path, bool fallback, const parallel::ParameterList& parameters,
                        optim::DistributedOptimizer& optimizer);

  // Collective, like load, but the model's parameters only (a fresh run starting from a checkpoint).
  TrainingProgress load_weights(const std::string& path, const parallel::ParameterList& parameters);

  static bool has_checkpoint(const std::string& root);

 private:
  TrainingProgress load_impl(const std::string& path, bool fallback, const parallel::ParameterList& parameters,
                             optim::DistributedOptimizer* optimizer);

  const parallel::ParallelState& state_;
  int keep_;
};

}  // namespace megasft::checkpoint
