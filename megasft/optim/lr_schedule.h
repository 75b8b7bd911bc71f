// The learning-rate schedule: linear warm-up from 0, then cosine decay to a floor (Megatron's default).
// Steps count from 1; the rate is a pure function of the step so a resumed run continues exactly.
#pragma once

#include <cstdint>

namespace megasft::optim {

struct WarmupCosineSchedule {
  double max_lr = 2e-5;
  double min_lr = 0.0;
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;

  double lr_at(int64_t step) const;
};

}  // namespace megasft::optim
