// WarmupCosineSchedule against the formula written out here: lr = max * s / W during warm-up
// (s = 1..W), then min + (max - min) * (1 + cos(pi * (s - W) / (N - W))) / 2, clamped at the end.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "megasft/optim/lr_schedule.h"

namespace megasft::optim {
namespace {

double expected_lr(double max_lr, double min_lr, int64_t warmup, int64_t total, int64_t step) {
  if (step <= warmup) return max_lr * static_cast<double>(step) / static_cast<double>(warmup);
  double progress = static_cast<double>(step - warmup) / static_cast<double>(total - warmup);
  progress = std::min(progress, 1.0);
  return min_lr + 0.5 * (max_lr - min_lr) * (1.0 + std::cos(std::numbers::pi * progress));
}

TEST(WarmupCosineSchedule, EndpointsAndEveryStep) {
  const WarmupCosineSchedule s{2e-5, 1e-6, 10, 110};
  EXPECT_DOUBLE_EQ(s.lr_at(1), 2e-6);     // first warm-up step: max / W
  EXPECT_DOUBLE_EQ(s.lr_at(5), 1e-5);
  EXPECT_DOUBLE_EQ(s.lr_at(10), 2e-5);    // warm-up ends at the peak
  EXPECT_DOUBLE_EQ(s.lr_at(60), 0.5 * (2e-5 + 1e-6));  // half-way through the cosine: the midpoint
  EXPECT_DOUBLE_EQ(s.lr_at(110), 1e-6);   // the last step reaches the floor
  EXPECT_DOUBLE_EQ(s.lr_at(500), 1e-6);   // and stays there
  for (int64_t step = 1; step <= 120; ++step)
    EXPECT_NEAR(s.lr_at(step), expected_lr(2e-5, 1e-6, 10, 110, step), 1e-18) << "step " << step;
  // Monotone: up during warm-up, then down.
  for (int64_t step = 1; step < 10; ++step) EXPECT_LT(s.lr_at(step), s.lr_at(step + 1));
  for (int64_t step = 10; step < 110; ++step) EXPECT_GT(s.lr_at(step), s.lr_at(step + 1));
}

TEST(WarmupCosineSchedule, NoWarmup) {
  const WarmupCosineSchedule s{1e-3, 0.0, 0, 50};
  EXPECT_DOUBLE_EQ(s.lr_at(0), 1e-3);
  for (int64_t step = 1; step <= 50; ++step)
    EXPECT_NEAR(s.lr_at(step), expected_lr(1e-3, 0.0, 0, 50, step), 1e-15) << "step " << step;
  EXPECT_NEAR(s.lr_at(50), 0.0, 1e-18);
}

}  // namespace
}  // namespace megasft::optim
