// The distributed optimizer on one process against a hand-written float64 AdamW (bias-corrected moments,
// decoupled weight decay on matrices only), and its global-norm clipping against the direct L2 norm.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "megasft/optim/distributed_optimizer.h"
#include "parallel/parallel_state.h"
#include "parallel/communicator.h"
#include "tests/support/tensor_compare.h"

namespace megasft::optim {
namespace {

using testing::mismatch;

parallel::Parameter make_param(const std::string& name, at::Tensor value, int partition_dim) {
  parallel::Parameter p;
  p.name = name;
  p.value = value.to(at::kFloat).requires_grad_(true);
  p.partition_dim = partition_dim;
  p.full_shape = value.sizes().vec();
  return p;
}

struct DoubleAdamW {  // the textbook algorithm, one tensor
  at::Tensor p, m, v;
  int64_t t = 0;
  void step(const at::Tensor& g, double lr, const AdamWOptions& o, bool decay) {
    ++t;
    if (decay) p = p - lr * o.weight_decay * p;
    m = o.beta1 * m + (1 - o.beta1) * g;
    v = o.beta2 * v + (1 - o.beta2) * g * g;
    auto m_hat = m / (1 - std::pow(o.beta1, t));
    auto v_hat = v / (1 - std::pow(o.beta2, t));
    p = p - lr * m_hat / (v_hat.sqrt() + o.eps);
  }
};

TEST(AdamW, ThreeStepsMatchFloat64Reference) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(11);
  const AdamWOptions options{0.9, 0.95, 1e-8, 0.1};
  std::vector<at::Tensor> initial = {at::randn({4, 3}, gen, at::kDouble), at::randn({5}, gen, at::kDouble)};
  parallel::ParameterList params = {make_param("w", initial[0], 0), make_param("b", initial[1], -1),
                                    make_param("no_grad", at::randn({2}, gen, at::kDouble), -1)};
  const auto untouched = params[2].value.detach().clone();
  std::vector<DoubleAdamW> reference(2);
  for (int i = 0; i < 2; ++i) {
    reference[i].p = params[i].value.detach().to(at::kDouble);  // start from the same float values
    reference[i].m = at::zeros_like(reference[i].p);
    reference[i].v = at::zeros_like(reference[i].p);
  }
  auto state = parallel::ParallelState::single_process();
  DistributedOptimizer adam(params, *state, {options});
  const std::vector<double> lrs = {1e-2, 5e-3, 2e-2};
  for (int step = 0; step < 3; ++step) {
    for (int i = 0; i < 2; ++i) {
      auto g = (at::randn(params[i].value.sizes(), gen, at::kDouble) * (step + 1)).to(at::kFloat);
      params[i].value.mutable_grad() = g;
      reference[i].step(g.to(at::kDouble), lrs[step], options, /*decay=*/params[i].value.dim() >= 2);
    }
    adam.accumulate_gradients();
    EXPECT_FALSE(params[0].value.grad().defined()) << "gradients move into the fp32 accumulators";
    adam.step(lrs[step], /*max_norm=*/0);
    for (int i = 0; i < 2; ++i)
      EXPECT_EQ(mismatch(params[i].name + " after step " + std::to_string(step + 1), params[i].value,
                         reference[i].p, 1e-6, 1e-7),
                "");
  }
  EXPECT_EQ(adam.steps_taken(), 3);
  EXPECT_TRUE(params[2].value.equal(untouched)) << "a parameter without gradient must not move";
}

// The returned norm is the L2 norm of every gradient; above max_norm the update is the one of the
// gradients scaled by max_norm / norm.
TEST(DistributedOptimizerClip, NormOfAllGradientsAndScaling) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(12);
  const AdamWOptions options{0.9, 0.95, 1e-8, 0.0};
  auto state = parallel::ParallelState::single_process();
  for (double limit_factor : {2.0, 0.25}) {
    parallel::ParameterList params = {make_param("a", at::randn({6, 4}, gen, at::kDouble), 0),
                                      make_param("b", at::randn({4}, gen, at::kDouble), -1),
                                      make_param("c", at::randn({3, 2}, gen, at::kDouble), 1)};
    std::vector<at::Tensor> grads;
    double squares = 0;
    for (auto& p : params) {
      grads.push_back(at::randn(p.value.sizes(), gen, at::kDouble).to(at::kFloat));
      p.value.mutable_grad() = grads.back().clone();
      squares += grads.back().to(at::kDouble).pow(2).sum().item<double>();
    }
    const double norm = std::sqrt(squares), max_norm = norm * limit_factor;
    const double scale = limit_factor < 1 ? max_norm / norm : 1.0;
    std::vector<DoubleAdamW> reference(params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      reference[i].p = params[i].value.detach().to(at::kDouble);
      reference[i].m = at::zeros_like(reference[i].p);
      reference[i].v = at::zeros_like(reference[i].p);
    }
    DistributedOptimizer adam(params, *state, {options});
    adam.accumulate_gradients();
    EXPECT_NEAR(adam.step(1e-2, max_norm), norm, 1e-9 * norm);
    for (size_t i = 0; i < params.size(); ++i) {
      reference[i].step(grads[i].to(at::kDouble) * scale, 1e-2, options, false);
      EXPECT_EQ(mismatch("update of " + params[i].name + " with limit x" + std::to_string(limit_factor),
                         params[i].value, reference[i].p, 1e-6, 1e-7),
                "");
    }
  }
}

}  // namespace
}  // namespace megasft::optim
