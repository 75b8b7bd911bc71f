// Chunked head + objective in the style of Liger's fused linear cross-entropy: the gradients are
// computed during the forward, chunk by chunk, and only scaled by the incoming gradient in backward,
// so no [T, V_local] tensor outlives its chunk.
#include "megasft/objectives/fused_head_loss.h"

#include <torch/csrc/autograd/custom_function.h>

#include "kernels/check.h"
#include "kernels/nvtx_range.h"
#include "megasft/objectives/token_statistics.h"

namespace megasft::objectives {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct FusedOptions : torch::CustomClassHolder {
  model::VocabShard shard;
  ObjectiveOptions options;
  double token_weight = 1.0;
  int64_t chunk_tokens = 1024;
  bool compute_grad = true;
  at::Tensor sums;  // filled by forward
};

struct FusedHeadLossFunction : torch::autograd::Function<FusedHeadLossFunction> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& hidden, const at::Tensor& weight,
                            const at::Tensor& targets, at::IValue tp_value, at::IValue options_value) {
    auto tp = parallel::Communicator::from_ivalue(tp_value);
    auto o = c10::static_intrusive_pointer_cast<FusedOptions>(options_value.toCapsule());
    const int64_t tokens = hidden.size(0);
    auto weight32 = weight.to(at::kFloat);  // no copy when the head is already float32
    at::Tensor grad_hidden, grad_weight;
    if (o->compute_grad) {
      grad_hidden = at::empty({tokens, hidden.size(1)}, at::kFloat);
      grad_weight = at::zeros_like(weight32);
    }
    o->sums = at::zeros({kNumObjectiveSums}, at::kDouble);
    for (int64_t start = 0; start < tokens; start += o->chunk_tokens) {
      NvtxRange range("fused_head_loss_chunk");
      const int64_t n = std::min(o->chunk_tokens, tokens - start);
      auto hidden32 = hidden.narrow(0, start, n).to(at::kFloat);
      auto chunk_targets = targets.narrow(0, start, n);
      auto logits = at::mm(hidden32, weight32.t());  // [n, V_local] float32: the chunk's one buffer
      auto local_target = local_target_columns(chunk_targets, o->shard);
      auto stats = gather_token_statistics(logits, local_target, o->shard, tp, o->options);
      auto terms = compute_token_terms(stats, chunk_targets, o->options);
      accumulate_objective_sums(o->sums, terms);
      if (!o->compute_grad) continue;
      auto token_grad = terms.supervised.to(at::kDouble) * o->token_weight;
      objective_gradient_inplace(logits, stats, terms, token_grad, local_target, o->shard, o->options);
      // logits now holds dL/dZ for the chunk.
      auto grad_hidden_chunk = grad_hidden.narrow(0, start, n);
      at::mm_out(grad_hidden_chunk, logits, weight32);
      grad_weight.addmm_(logits.t(), hidden32);
    }
    if (o->compute_grad) {
      ctx->save_for_backward({grad_hidden, grad_weight});
      ctx->saved_data["hidden_dtype"] = static_cast<int64_t>(hidden.scalar_type());
      ctx->saved_data["weight_dtype"] = static_cast<int64_t>(weight.scalar_type());
    }
    return (o->sums[kSumLoss] * o->token_weight).to(at::kFloat);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    MEGASFT_CHECK(!saved.empty(), "fused head loss: backward without gradients computed in forward");
    auto g = grads[0].to(at::kFloat);
    auto hidden_dtype = static_cast<at::ScalarType>(ctx->saved_data["hidden_dtype"].toInt());
    auto weight_dtype = static_cast<at::ScalarType>(ctx->saved_data["weight_dtype"].toInt());
    return {(saved[0] * g).to(hidden_dtype), (saved[1] * g).to(weight_dtype), at::Tensor(), at::Tensor(),
            at::Tensor()};
  }
};

}  // namespace

void accumulate_objective_sums(at::Tensor& sums, const TokenTerms& terms) {
  auto sup = terms.supervised.to(at::kDouble);
  auto add = [&](int index, const at::Tensor& t) { sums[index] += t.to(at::kDouble).sum(); };
  add(kSumLoss, terms.token_loss.detach());
  add(kSumCe, terms.ce);
  add(kSumPenalty, terms.penalty);
  add(kSumPTarget, terms.p_target);
  add(kSumTopkSum, terms.topk_sum);
  add(kSumUnmasked, sup - terms.mask.to(at::kDouble));
  add(kSumCorrect, terms.correct);
  add(kSumCount, sup);
}

FusedHeadLoss fused_vocab_parallel_head_loss(const at::Tensor& hidden, const at::Tensor& weight,
                                             const at::Tensor& targets, double token_weight,
                                             const model::VocabShard& shard,
                                             const parallel::CommunicatorPtr& tp,
                                             const ObjectiveOptions& options, int64_t chunk_tokens) {
  MEGASFT_CHECK(hidden.dim() == 2 && weight.dim() == 2 && hidden.size(1) == weight.size(1),
                "fused head loss: hidden ", hidden.sizes(), " and head weight ", weight.sizes(),
                " do not fit");
  MEGASFT_CHECK(weight.size(0) == shard.local_cols, "fused head loss: head shard has ", weight.size(0),
                " rows, the vocabulary shard ", shard.local_cols);
  MEGASFT_CHECK(targets.dim() == 1 && targets.size(0) == hidden.size(0) && targets.scalar_type() == at::kLong,
                "targets must be int64 [", hidden.size(0), "], got ", targets.sizes());
  MEGASFT_CHECK(chunk_tokens >= 1, "--loss-chunk-tokens must be positive, got ", chunk_tokens);
  options.validate();
  check_target_ids(targets, shard.vocab_size);
  auto o = c10::make_intrusive<FusedOptions>();
  o->shard = shard;
  o->options = options;
  o->token_weight = token_weight;
  o->chunk_tokens = chunk_tokens;
  o->compute_grad = at::GradMode::is_enabled() && (hidden.requires_grad() || weight.requires_grad());
  FusedHeadLoss out;
  out.loss = FusedHeadLossFunction::apply(hidden, weight, targets, tp->to_ivalue(),
                                          at::IValue::make_capsule(o));
  out.sums = o->sums;
  return out;
}

}  // namespace megasft::objectives
