#include "megasft/optim/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace megasft::optim {

double WarmupCosineSchedule::lr_at(int64_t step) const {
  if (warmup_steps > 0 && step <= warmup_steps) return max_lr * static_cast<double>(step) / warmup_steps;
  const int64_t decay_steps = std::max<int64_t>(1, total_steps - warmup_steps);
  const double progress = std::clamp(static_cast<double>(step - warmup_steps) / decay_steps, 0.0, 1.0);
  return min_lr + 0.5 * (max_lr - min_lr) * (1.0 + std::cos(std::numbers::pi * progress));
}

}  // namespace megasft::optim
