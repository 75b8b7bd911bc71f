// The table of objectives.md, one case per objective. Losses and coefficients in double; the mask
// compares the float32 S_t that is reported and that tau calibration collects, so a token whose S_t
// equals a calibrated tau is not penalised (strict <) whatever double rounding did.
#include "megasft/objectives/objective_terms.h"

#include "kernels/check.h"
#include "kernels/vocab_parallel_stats.h"

namespace megasft::objectives {

TokenTerms compute_token_terms(const TokenStatistics& stats, const at::Tensor& targets,
                               const ObjectiveOptions& options) {
  TokenTerms terms;
  terms.supervised = targets.ne(kIgnoreIndex);
  const auto& sup = terms.supervised;
  auto zero = at::zeros_like(stats.lse);
  auto masked = [&](const at::Tensor& t) { return at::where(sup, t, zero); };

  terms.p_target = masked((stats.target_logit - stats.lse).exp());
  terms.ce = masked(stats.lse - stats.target_logit);
  terms.topk_sum = masked(stats.topk_sum);
  terms.correct = masked(stats.target_logit.ge(stats.max).to(at::kDouble));
  terms.mask = zero;
  terms.penalty = zero;
  const auto& p = terms.p_target;
  switch (options.kind) {
    case ObjectiveKind::kCrossEntropy:
      terms.token_loss = terms.ce;
      terms.grad_scale = sup.to(at::kDouble);
      break;
    case ObjectiveKind::kSed:
    case ObjectiveKind::kSedNoMask: {
      terms.mask = options.kind == ObjectiveKind::kSedNoMask
                       ? sup.to(at::kDouble)
                       : masked(stats.topk_sum.to(at::kFloat).to(at::kDouble).lt(options.tau).to(at::kDouble));
      terms.penalty = options.sed_lambda * terms.mask * (p - 0.5).pow(2);
      terms.token_loss = terms.ce + terms.penalty;
      // d/dz of lse - z_y + lambda*M*(p_y - 1/2)^2 = c_t * (p - onehot(y)): c_t scales the CE gradient.
      terms.grad_scale = masked(1.0 - 2.0 * options.sed_lambda * terms.mask * p * (p - 0.5));
      break;
    }
    case ObjectiveKind::kDft:
      // sg(p_y) * CE: the weight is a constant for the gradient.
      terms.token_loss = p * terms.ce;
      terms.grad_scale = p;
      break;
    case ObjectiveKind::kGem: {
      auto q = at::where(sup, stats.gem_q, at::ones_like(stats.gem_q));  // avoid 0/0 on ignored rows
      terms.token_loss = masked(stats.gem_a / q);
      terms.grad_scale = masked(1.0 / q);
      terms.grad_target = masked(stats.gem_b / q);
      break;
    }
  }
  if (!terms.grad_target.defined()) terms.grad_target = terms.grad_scale;
  return terms;
}

void objective_gradient_inplace(at::Tensor& logits32, const TokenStatistics& stats, const TokenTerms& terms,
                                const at::Tensor& token_grad, const at::Tensor& local_target,
                                const model::VocabShard& shard, const ObjectiveOptions& options) {
  MEGASFT_CHECK(logits32.scalar_type() == at::kFloat && logits32.is_contiguous(),
                "the in-place objective gradient needs contiguous float32 logits");
  const kernels::ShardView view{logits32.size(0), logits32.size(1), shard.valid_cols};
  auto g = token_grad.to(at::kDouble);
  auto scale = (g * terms.grad_scale).to(at::kFloat).contiguous();
  if (options.kind == ObjectiveKind::kGem) {
    auto target_coef = (g * terms.grad_target).to(at::kFloat).contiguous();
    auto max32 = stats.max.to(at::kFloat).contiguous();
    auto target32 = stats.target_logit.to(at::kFloat).contiguous();
    kernels::shard_gem_grad_inplace_cpu(logits32.data_ptr<float>(), view, max32.data_ptr<float>(),
                                        target32.data_ptr<float>(), static_cast<float>(options.gem_beta),
                                        options.gem_h, scale.data_ptr<float>(), target_coef.data_ptr<float>(),
                                        local_target.data_ptr<int64_t>());
    return;
  }
  auto lse32 = stats.lse.to(at::kFloat).contiguous();
  kernels::shard_softmax_grad_inplace_cpu(logits32.data_ptr<float>(), view, lse32.data_ptr<float>(),
                                          scale.data_ptr<float>(), local_target.data_ptr<int64_t>());
}

void check_target_ids(const at::Tensor& targets, int64_t vocab_size) {
  auto bad = targets.ne(kIgnoreIndex).logical_and(targets.lt(0).logical_or(targets.ge(vocab_size)));
  if (!bad.any().item<bool>()) return;
  const int64_t index = bad.nonzero()[0][0].item<int64_t>();
  MEGASFT_FAIL("target id ", targets[index].item<int64_t>(), " at token ", index,
               " is outside the vocabulary [0, ", vocab_size,
               ") (padding columns are never targets; ", kIgnoreIndex, " marks ignored tokens)");
}

}  // namespace megasft::objectives
