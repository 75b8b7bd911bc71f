// AdamW steps against a hand-written float64 AdamW (bias-corrected moments, decoupled weight decay on
// matrices only), and clip_grad_norm against the directly computed L2 norm of all gradients.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "megasft/optim/adamw.h"
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
  AdamW adam(params, options);
  const std::vector<double> lrs = {1e-2, 5e-3, 2e-2};
  for (int step = 0; step < 3; ++step) {
    adam.zero_grad();
    for (int i = 0; i < 2; ++i) {
      auto g = (at::randn(params[i].value.sizes(), gen, at::kDouble) * (step + 1)).to(at::kFloat);
      params[i].value.mutable_grad() = g;
      reference[i].step(g.to(at::kDouble), lrs[step], options, /*decay=*/params[i].value.dim() >= 2);
    }
    adam.step(lrs[step]);
    for (int i = 0; i < 2; ++i)
      EXPECT_EQ(mismatch(params[i].name + " after step " + std::to_string(step + 1), params[i].value,
                         reference[i].p, 1e-6, 1e-7),
                "");
  }
  EXPECT_EQ(adam.steps_taken(), 3);
  EXPECT_TRUE(params[2].value.equal(untouched)) << "a parameter without gradient must not move";
}

TEST(ClipGradNorm, NormOfAllGradientsAndScaling) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(12);
  parallel::ParameterList params = {make_param("a", at::randn({6, 4}, gen, at::kDouble), 0),
                                    make_param("b", at::randn({4}, gen, at::kDouble), -1),
                                    make_param("c", at::randn({3, 2}, gen, at::kDouble), 1)};
  std::vector<at::Tensor> grads;
  for (auto& p : params) {
    grads.push_back(at::randn(p.value.sizes(), gen, at::kDouble).to(at::kFloat));
    p.value.mutable_grad() = grads.back().clone();
  }
  double squares = 0;
  for (const auto& g : grads) squares += g.to(at::kDouble).pow(2).sum().item<double>();
  const double norm = std::sqrt(squares);
  auto tp = parallel::make_single_rank_communicator("tp", 0);

  // A limit above the norm: reported, nothing scaled.
  EXPECT_NEAR(clip_grad_norm(params, norm * 2, tp), norm, 1e-12 * norm);
  for (size_t i = 0; i < params.size(); ++i) EXPECT_TRUE(params[i].value.grad().equal(grads[i]));

  // A limit below: the gradients are scaled by max_norm / norm, so their new norm is max_norm.
  const double max_norm = norm / 4;
  EXPECT_NEAR(clip_grad_norm(params, max_norm, tp), norm, 1e-12 * norm);
  double clipped = 0;
  for (size_t i = 0; i < params.size(); ++i) {
    EXPECT_EQ(mismatch("clipped " + params[i].name, params[i].value.grad(),
                       grads[i].to(at::kDouble) * (max_norm / norm), 1e-6, 1e-8),
              "");
    clipped += params[i].value.grad().to(at::kDouble).pow(2).sum().item<double>();
  }
  EXPECT_NEAR(std::sqrt(clipped), max_norm, 1e-5 * max_norm);
}

}  // namespace
}  // namespace megasft::optim
