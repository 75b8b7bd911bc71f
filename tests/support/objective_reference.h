// The float64 reference of docs/objectives.md for ce, sed and sed-nomask, written directly from the
// spec on the FULL (unsharded, unpadded) logits with plain ATen ops (log_softmax, topk, gather).
// It shares no code with megasft/objectives: the library is tested against it, and it is itself
// checked against central finite differences in tests/objectives.
#pragma once

#include <ATen/ATen.h>

#include <algorithm>

#include "megasft/objectives/objective_options.h"

namespace megasft::testing {

constexpr int64_t kIgnore = -100;

struct ReferenceTerms {
  at::Tensor loss, ce, penalty, p_target, topk_sum, mask, correct;  // [T] double, 0 at ignored tokens
  at::Tensor grad_scale;  // c_t = 1 - 2*lambda*M*p_y*(p_y - 1/2), 0 at ignored tokens
  at::Tensor softmax;     // [T, V]
};

// logits: [T, V] (converted to double); targets: [T] int64 in [0, V) or -100.
// fixed_mask, when given, replaces M_t (the mask carries no gradient, so finite differences hold it).
inline ReferenceTerms reference_terms(const at::Tensor& logits, const at::Tensor& targets,
                                      objectives::ObjectiveKind kind, int k, double lambda, double tau,
                                      const at::Tensor& fixed_mask = {}) {
  using objectives::ObjectiveKind;
  auto z = logits.to(at::kDouble);
  auto supervised = targets.ne(kIgnore);
  auto sup = supervised.to(at::kDouble);
  auto y = at::where(supervised, targets, at::zeros_like(targets)).unsqueeze(1);
  auto log_p = at::log_softmax(z, 1);
  auto p_all = log_p.exp();
  auto log_p_y = log_p.gather(1, y).squeeze(1);

  ReferenceTerms r;
  r.softmax = p_all;
  r.p_target = log_p_y.exp() * sup;
  r.ce = -log_p_y * sup;  // lse - z_y
  const int64_t kk = std::min<int64_t>(k, z.size(1));
  r.topk_sum = std::get<0>(p_all.topk(kk, 1)).sum(1) * sup;
  if (fixed_mask.defined()) {
    r.mask = fixed_mask.to(at::kDouble) * sup;
  } else if (kind == ObjectiveKind::kCrossEntropy) {
    r.mask = at::zeros_like(sup);
  } else if (kind == ObjectiveKind::kSedNoMask) {
    r.mask = sup;
  } else {
    r.mask = r.topk_sum.lt(tau).to(at::kDouble) * sup;  // strict <
  }
  r.penalty = lambda * r.mask * (r.p_target - 0.5).pow(2);
  r.loss = r.ce + r.penalty;
  r.grad_scale = (1.0 - 2.0 * lambda * r.mask * r.p_target * (r.p_target - 0.5)) * sup;
  r.correct = z.argmax(1).eq(targets).to(at::kDouble) * sup;
  return r;
}

// Analytic d(sum_t w_t * loss_t)/dz = w_t * c_t * (softmax - onehot(y)), [T, V] double.
inline at::Tensor reference_grad(const ReferenceTerms& r, const at::Tensor& targets, const at::Tensor& w) {
  auto supervised = targets.ne(kIgnore);
  auto y = at::where(supervised, targets, at::zeros_like(targets)).unsqueeze(1);
  auto onehot = at::zeros_like(r.softmax).scatter_(1, y, 1.0) * supervised.to(at::kDouble).unsqueeze(1);
  return (w.to(at::kDouble) * r.grad_scale).unsqueeze(1) * (r.softmax - onehot);
}

// tau strictly between two neighbouring sorted S values near the given quantile of the supervised
// tokens, so no token sits on the boundary and rounding cannot flip a mask.
inline double tau_between(const at::Tensor& topk_sum, const at::Tensor& targets, double quantile) {
  auto s = std::get<0>(topk_sum.masked_select(targets.ne(kIgnore)).sort());
  const int64_t n = s.size(0);
  const int64_t i = std::clamp<int64_t>(static_cast<int64_t>(quantile * n), 1, n - 1);
  return 0.5 * (s[i - 1].item<double>() + s[i].item<double>());
}

}  // namespace megasft::testing
