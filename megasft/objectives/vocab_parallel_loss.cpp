// Autograd wrapper of the vocab-parallel objectives on a materialised logits shard. Backward turns a
// float32 copy of the saved logits into the gradient in place.
#include "megasft/objectives/vocab_parallel_loss.h"

#include <torch/csrc/autograd/custom_function.h>

#include "kernels/check.h"
#include "megasft/objectives/token_statistics.h"

namespace megasft::objectives {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Non-tensor state the backward needs; kept alive by the autograd node.
struct SavedObjective : torch::CustomClassHolder {
  model::VocabShard shard;
  ObjectiveOptions options;
  TokenStatistics stats;
  TokenTerms terms;
  at::ScalarType dtype;
};

struct ObjectiveFunction : torch::autograd::Function<ObjectiveFunction> {
  static variable_list forward(AutogradContext* ctx, const at::Tensor& logits, const at::Tensor& targets,
                               at::IValue tp_value, at::IValue saved_value) {
    auto tp = parallel::Communicator::from_ivalue(tp_value);
    auto saved = c10::static_intrusive_pointer_cast<SavedObjective>(saved_value.toCapsule());
    auto logits32 = logits.to(at::kFloat).contiguous();
    auto local_target = local_target_columns(targets, saved->shard);
    saved->stats = gather_token_statistics(logits32, local_target, saved->shard, tp, saved->options);
    saved->terms = compute_token_terms(saved->stats, targets, saved->options);
    ctx->save_for_backward({logits32, local_target});
    ctx->saved_data["state"] = saved_value;

    const auto& t = saved->terms;
    variable_list outputs;
    for (const auto* term : {&t.token_loss, &t.ce, &t.penalty, &t.p_target, &t.topk_sum, &t.mask, &t.correct})
      outputs.push_back(term->to(at::kFloat));
    for (size_t i = 1; i < outputs.size(); ++i) ctx->mark_non_differentiable({outputs[i]});
    return outputs;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto tensors = ctx->get_saved_variables();
    auto saved = c10::static_intrusive_pointer_cast<SavedObjective>(ctx->saved_data["state"].toCapsule());
    auto grad = tensors[0].clone();  // [T, V_local] float32: softmax, then the gradient, in place
    objective_gradient_inplace(grad, saved->stats, saved->terms, grads[0], tensors[1], saved->shard,
                               saved->options);
    return {grad.to(saved->dtype), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

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
  check_target_ids(targets, shard.vocab_size);
  auto saved = c10::make_intrusive<SavedObjective>();
  saved->shard = shard;
  saved->options = options;
  saved->dtype = logits_local.scalar_type();
  auto outputs = ObjectiveFunction::apply(logits_local, targets, tp->to_ivalue(),
                                          at::IValue::make_capsule(saved));
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
  ObjectiveOptions options;
  options.kind = ObjectiveKind::kCrossEntropy;
  options.top_k = top_k;
  auto logits32 = logits_local.to(at::kFloat).contiguous();
  auto no_targets = at::full({logits32.size(0)}, -1, at::kLong);
  return gather_token_statistics(logits32, no_targets, shard, tp, options).topk_sum.to(at::kFloat);
}

}  // namespace megasft::objectives
