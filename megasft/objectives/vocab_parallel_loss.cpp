// The two communication rounds of objectives.md, the per-token SED terms and the analytic backward
// dZ = g_t * c_t * (softmax(Z) - onehot(y)), applied in place to a float32 copy of the local logits.
#include "megasft/objectives/vocab_parallel_loss.h"

#include <torch/csrc/autograd/custom_function.h>

#include <limits>

#include "kernels/check.h"
#include "kernels/vocab_parallel_stats.h"

namespace megasft::objectives {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

kernels::ShardView view_of(const at::Tensor& logits32, const model::VocabShard& shard) {
  return kernels::ShardView{logits32.size(0), logits32.size(1), shard.valid_cols};
}

// Local column of each target, -1 when it lives on another shard or is ignored.
at::Tensor local_targets(const at::Tensor& targets, const model::VocabShard& shard) {
  auto local = targets - shard.start;
  auto here = (local >= 0).logical_and(local < shard.valid_cols);
  return at::where(here, local, at::full_like(local, -1)).contiguous();
}

struct GlobalStats {
  at::Tensor lse;         // [T] double
  at::Tensor max;         // [T] double
  at::Tensor target;      // [T] double, -inf for ignored tokens
  at::Tensor topk_sum;    // [T] double
};

// Round 1: all-gather of (local top-k, target logit); round 2: all-reduce of sum exp(z - m).
GlobalStats global_stats(const at::Tensor& logits32, const at::Tensor& local_target,
                         const model::VocabShard& shard, const parallel::CommunicatorPtr& tp, int k) {
  const int64_t tokens = logits32.size(0);
  auto packed = at::empty({tokens, k + 1}, at::kFloat);  // [T, k | target]
  auto topk_local = at::empty({tokens, k}, at::kFloat);
  auto target_local = at::empty({tokens}, at::kFloat);
  kernels::shard_topk_and_target_cpu(logits32.data_ptr<float>(), view_of(logits32, shard),
                                     local_target.data_ptr<int64_t>(), k, topk_local.data_ptr<float>(),
                                     target_local.data_ptr<float>());
  packed.narrow(1, 0, k).copy_(topk_local);
  packed.select(1, k).copy_(target_local);
  auto gathered = tp->all_gather(packed);  // [tp, T, k+1]

  // Every global top-k element is in its shard's local top-k, so the top-k of the union is exact.
  auto candidates = gathered.narrow(2, 0, k).permute({1, 0, 2}).reshape({tokens, -1});
  auto topk = std::get<0>(candidates.topk(k, /*dim=*/1)).to(at::kDouble);  // [T, k], descending
  GlobalStats stats;
  stats.max = topk.select(1, 0).contiguous();
  stats.target = std::get<0>(gathered.select(2, k).max(0)).to(at::kDouble);

  auto max32 = stats.max.to(at::kFloat).contiguous();
  auto sum_exp = at::empty({tokens}, at::kDouble);
  kernels::shard_sum_exp_cpu(logits32.data_ptr<float>(), view_of(logits32, shard),
                             max32.data_ptr<float>(), sum_exp.data_ptr<double>());
  tp->all_reduce(sum_exp, parallel::ReduceOp::kSum);
  // The max was rounded to float for the kernel; lse is relative to that same float value.
  stats.lse = max32.to(at::kDouble) + sum_exp.log();
  stats.topk_sum = (topk - stats.lse.unsqueeze(1)).exp().sum(1);  // exp(-inf) = 0 for missing entries
  return stats;
}

struct ObjectiveFunction : torch::autograd::Function<ObjectiveFunction> {
  static variable_list forward(AutogradContext* ctx, const at::Tensor& logits, const at::Tensor& targets,
                               at::IValue tp_value, std::vector<int64_t> shard_fields, int64_t kind,
                               int64_t top_k, double lambda, double tau) {
    auto tp = parallel::Communicator::from_ivalue(tp_value);
    model::VocabShard shard{shard_fields[0], shard_fields[1], shard_fields[2], shard_fields[3]};
    auto logits32 = logits.to(at::kFloat).contiguous();
    auto local_target = local_targets(targets, shard);
    auto stats = global_stats(logits32, local_target, shard, tp, static_cast<int>(top_k));

    auto supervised = targets.ne(kIgnoreIndex);
    auto zero = at::zeros_like(stats.lse);
    auto p = at::where(supervised, (stats.target - stats.lse).exp(), zero);
    auto ce = at::where(supervised, stats.lse - stats.target, zero);
    at::Tensor mask;
    switch (static_cast<ObjectiveKind>(kind)) {
      case ObjectiveKind::kCrossEntropy: mask = zero; break;
      case ObjectiveKind::kSedNoMask: mask = supervised.to(at::kDouble); break;
      case ObjectiveKind::kSed:
        // Compare the float32 S_t that is reported and that tau calibration collects, so a token whose
        // S_t equals a calibrated tau is not penalised (strict <) whatever the double rounding did.
        mask = stats.topk_sum.to(at::kFloat).lt(tau).logical_and(supervised).to(at::kDouble);
        break;
    }
    auto penalty = lambda * mask * (p - 0.5).pow(2);
    // d/dz of lse - z_y + lambda*M*(p_y - 1/2)^2 is c_t * (p - onehot): c_t scales the CE gradient.
    auto grad_scale = at::where(supervised, 1.0 - 2.0 * lambda * mask * p * (p - 0.5), zero);

    ctx->save_for_backward({logits32, local_target, stats.lse.to(at::kFloat), grad_scale.to(at::kFloat)});
    ctx->saved_data["dtype"] = static_cast<int64_t>(logits.scalar_type());
    ctx->saved_data["valid_cols"] = shard.valid_cols;
    auto correct = supervised.logical_and(stats.target.ge(stats.max));
    auto out = [&](const at::Tensor& t) { return t.to(at::kFloat); };
    auto topk_sum = at::where(supervised, stats.topk_sum, zero);
    variable_list outputs{out(ce + penalty), out(ce),          out(penalty),           out(p),
                          out(topk_sum),     out(mask),        out(correct.to(at::kDouble))};
    for (size_t i = 1; i < outputs.size(); ++i) ctx->mark_non_differentiable({outputs[i]});
    return outputs;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    auto grad = saved[0].clone();  // [T, V_local] float32: becomes softmax, then the gradient, in place
    auto scale = (grads[0].to(at::kFloat) * saved[3]).contiguous();
    const auto& lse = saved[2];
    const kernels::ShardView view{grad.size(0), grad.size(1), ctx->saved_data["valid_cols"].toInt()};
    kernels::shard_softmax_grad_inplace_cpu(grad.data_ptr<float>(), view, lse.data_ptr<float>(),
                                            scale.data_ptr<float>(), saved[1].data_ptr<int64_t>());
    auto dtype = static_cast<at::ScalarType>(ctx->saved_data["dtype"].toInt());
    return {grad.to(dtype), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(),
            at::Tensor(),   at::Tensor(), at::Tensor()};
  }
};

void check_targets(const at::Tensor& targets, const model::VocabShard& shard) {
  auto bad = targets.ne(kIgnoreIndex).logical_and(targets.lt(0).logical_or(targets.ge(shard.vocab_size)));
  if (bad.any().item<bool>()) {
    const int64_t index = bad.nonzero()[0][0].item<int64_t>();
    MEGASFT_FAIL("target id ", targets[index].item<int64_t>(), " at token ", index,
                 " is outside the vocabulary [0, ", shard.vocab_size, ") (padding columns are not targets)");
  }
}

}  // namespace

TokenTerms vocab_parallel_objective(const at::Tensor& logits_local, const at::Tensor& targets,
                                    const model::VocabShard& shard, const parallel::CommunicatorPtr& tp,
                                    const ObjectiveOptions& options) {
  MEGASFT_CHECK(logits_local.dim() == 2 && logits_local.size(1) == shard.local_cols,
                "logits must be [tokens, ", shard.local_cols, "], got ", logits_local.sizes());
  MEGASFT_CHECK(targets.dim() == 1 && targets.size(0) == logits_local.size(0) &&
                    targets.scalar_type() == at::kLong,
                "targets must be int64 [", logits_local.size(0), "], got ", targets.sizes());
  options.validate();
  check_targets(targets, shard);
  const double tau = options.uses_tau() ? options.tau : 0.0;
  auto outputs = ObjectiveFunction::apply(
      logits_local, targets, tp->to_ivalue(),
      std::vector<int64_t>{shard.start, shard.local_cols, shard.valid_cols, shard.vocab_size},
      static_cast<int64_t>(options.kind), static_cast<int64_t>(options.top_k), options.sed_lambda, tau);
  TokenTerms terms;
  terms.token_loss = outputs[0];
  terms.ce = outputs[1];
  terms.penalty = outputs[2];
  terms.p_target = outputs[3];
  terms.topk_sum = outputs[4];
  terms.mask = outputs[5];
  terms.correct = outputs[6];
  terms.supervised = targets.ne(kIgnoreIndex);
  return terms;
}

at::Tensor vocab_parallel_topk_sum(const at::Tensor& logits_local, const model::VocabShard& shard,
                                   const parallel::CommunicatorPtr& tp, int top_k) {
  at::NoGradGuard no_grad;
  auto logits32 = logits_local.to(at::kFloat).contiguous();
  auto no_targets = at::full({logits32.size(0)}, -1, at::kLong);
  return global_stats(logits32, no_targets, shard, tp, top_k).topk_sum.to(at::kFloat);
}

}  // namespace megasft::objectives
