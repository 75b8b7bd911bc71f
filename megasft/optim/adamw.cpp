// AdamW with bias correction (Loshchilov & Hutter), in place without autograd.
#include "megasft/optim/adamw.h"

#include <cmath>

namespace megasft::optim {

void adam_update_(at::Tensor& value, const at::Tensor& grad, at::Tensor& exp_avg, at::Tensor& exp_avg_sq,
                  double lr, int64_t step, const AdamWOptions& options) {
  const double correction1 = 1.0 - std::pow(options.beta1, static_cast<double>(step));
  const double correction2 = 1.0 - std::pow(options.beta2, static_cast<double>(step));
  exp_avg.mul_(options.beta1).add_(grad, 1.0 - options.beta1);
  exp_avg_sq.mul_(options.beta2).addcmul_(grad, grad, 1.0 - options.beta2);
  auto denom = (exp_avg_sq / correction2).sqrt_().add_(options.eps);
  value.addcdiv_(exp_avg, denom, -lr / correction1);
}

double clip_grad_norm(const parallel::ParameterList& parameters, double max_norm,
                      const parallel::CommunicatorPtr& tp) {
  at::NoGradGuard no_grad;
  // [sharded, replicated] sums of squares, in double so the norm does not depend on the TP size.
  auto sums = at::zeros({2}, at::kDouble);
  for (const auto& p : parameters) {
    auto grad = p.value.grad();
    if (!grad.defined()) continue;
    sums[p.is_tensor_parallel() ? 0 : 1] += grad.to(at::kDouble).pow(2).sum();
  }
  auto sharded = sums.narrow(0, 0, 1).clone();
  tp->all_reduce(sharded, parallel::ReduceOp::kSum);
  const double norm = std::sqrt(sharded.item<double>() + sums[1].item<double>());
  if (max_norm > 0 && norm > max_norm) {
    const double scale = max_norm / (norm + 1e-6);
    for (const auto& p : parameters)
      if (p.value.grad().defined()) p.value.mutable_grad().mul_(scale);
  }
  return norm;
}

}  // namespace megasft::optim
