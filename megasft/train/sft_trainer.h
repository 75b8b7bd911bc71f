// The SFT loop: data -> micro-batches -> model forward -> vocab-parallel objective -> backward ->
// data-parallel gradient sum -> clip -> AdamW -> metrics. The loss is an exact global token mean.
#pragma once

#include <memory>
#include <string>

#include "megasft/train/train_options.h"
#include "parallel/parallel_state.h"

namespace megasft::train {

struct TrainSummary {
  int64_t steps = 0;       // the last step taken (0: none)
  int64_t first_step = 1;  // the first step of this run (after a resume, the checkpoint's + 1)
  double first_loss = 0;
  double last_loss = 0;
  double tau = 0;             // NaN when the objective has none
  double last_mask_rate = 0;  // NaN when the objective has no mask
  double elapsed_s = 0;
  std::string metrics_path;
};

TrainSummary run_sft(const TrainOptions& options, const std::shared_ptr<parallel::ParallelState>& state);

}  // namespace megasft::train
