// With z' = z / T, p = softmax(z'), H = -sum p log p:
//   d log p_y / dz'_j = [j == y] - p_j,    dH / dz'_j = -p_j (log p_j + H),
// and dz' / dz = 1 / T. The forward keeps only the per-token log-normaliser and entropy; backward
// rebuilds each chunk's logits, so memory stays at one [chunk, V_local] buffer either way.
#include "megasft/rl/vocab_parallel_logprobs.h"

#include <torch/csrc/autograd/custom_function.h>

#include "kernels/check.h"
#include "kernels/nvtx_range.h"

namespace megasft::rl {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct LogprobOptions : torch::CustomClassHolder {
  model::VocabShard shard;
  double inv_temperature = 1.0;
  int64_t chunk_tokens = 1024;
};

// The chunk's scaled logits over the valid columns: [n, V_valid] float32.
at::Tensor scaled_logits(const at::Tensor& hidden32, const at::Tensor& weight32, const LogprobOptions& o) {
  return at::mm(hidden32, weight32.narrow(0, 0, o.shard.valid_cols).t()).mul_(o.inv_temperature);
}

struct TokenLogprobsFunction : torch::autograd::Function<TokenLogprobsFunction> {
  static variable_list forward(AutogradContext* ctx, const at::Tensor& hidden, const at::Tensor& weight,
                               const at::Tensor& targets, at::IValue tp_value, at::IValue options_value) {
    auto tp = parallel::Communicator::from_ivalue(tp_value);
    auto o = c10::static_intrusive_pointer_cast<LogprobOptions>(options_value.toCapsule());
    const int64_t tokens = hidden.size(0);
    auto weight32 = weight.to(at::kFloat);
    auto logprobs = at::zeros({tokens}, at::kFloat), entropy = at::zeros({tokens}, at::kFloat);
    auto lse_all = at::zeros({tokens}, at::kFloat);
    for (int64_t start = 0; start < tokens; start += o->chunk_tokens) {
      NvtxRange range("token_logprobs_chunk");
      const int64_t n = std::min(o->chunk_tokens, tokens - start);
      auto z = scaled_logits(hidden.narrow(0, start, n).to(at::kFloat), weight32, *o);  // [n, V_valid]
      auto local = targets.narrow(0, start, n) - o->shard.start;
      auto here = local.ge(0).logical_and(local.lt(o->shard.valid_cols));
      auto max = o->shard.valid_cols > 0 ? std::get<0>(z.max(1)) : at::full({n}, -INFINITY, at::kFloat);
      tp->all_reduce(max, parallel::ReduceOp::kMax);
      auto e = (z - max.unsqueeze(1)).exp_();  // in place: z - max becomes exp(z - max)
      // One all-reduce for [sum e, sum e z, the target's z]: the normaliser, the entropy, log p_y.
      // A shard can hold no real column at all (a vocabulary smaller than its TP padding).
      auto target_z = o->shard.valid_cols == 0
                          ? at::zeros({n}, at::kFloat)
                          : at::where(here, z.gather(1, local.clamp(0, o->shard.valid_cols - 1).unsqueeze(1)).squeeze(1),
                                      at::zeros({n}, at::kFloat));
      auto sums = at::stack({e.to(at::kDouble).sum(1), (e * z).to(at::kDouble).sum(1), target_z.to(at::kDouble)});
      tp->all_reduce(sums, parallel::ReduceOp::kSum);
      auto lse = max.to(at::kDouble) + sums[0].log();
      auto valid = targets.narrow(0, start, n).ge(0);
      logprobs.narrow(0, start, n).copy_(at::where(valid, sums[2] - lse, at::zeros_like(lse)));
      entropy.narrow(0, start, n).copy_(at::where(valid, lse - sums[1] / sums[0], at::zeros_like(lse)));
      lse_all.narrow(0, start, n).copy_(lse);
    }
    ctx->save_for_backward({hidden, weight, targets, lse_all, entropy});
    ctx->saved_data["options"] = options_value;
    return {logprobs, entropy};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto& hidden = saved[0];
    const auto& weight = saved[1];
    const auto& targets = saved[2];
    const auto& lse_all = saved[3];
    const auto& entropy = saved[4];
    auto o = c10::static_intrusive_pointer_cast<LogprobOptions>(ctx->saved_data["options"].toCapsule());
    auto valid = targets.ge(0).to(at::kFloat);
    auto g_logp = grads[0].defined() ? grads[0].to(at::kFloat) * valid : at::zeros_like(valid);
    auto g_entropy = grads[1].defined() ? grads[1].to(at::kFloat) * valid : at::zeros_like(valid);
    const int64_t tokens = hidden.size(0);
    auto weight32 = weight.to(at::kFloat);
    auto grad_hidden = at::zeros({tokens, hidden.size(1)}, at::kFloat);
    auto grad_weight = at::zeros_like(weight32);
    auto valid_weight = weight32.narrow(0, 0, o->shard.valid_cols);
    for (int64_t start = 0; start < tokens; start += o->chunk_tokens) {
      NvtxRange range("token_logprobs_backward_chunk");
      const int64_t n = std::min(o->chunk_tokens, tokens - start);
      auto hidden32 = hidden.narrow(0, start, n).to(at::kFloat);
      auto dz = scaled_logits(hidden32, weight32, *o);  // [n, V_valid]; becomes dL/dz in place below
      auto log_p = dz.sub_(lse_all.narrow(0, start, n).unsqueeze(1));  // in place: z' -> log p
      auto p = log_p.exp();
      auto gl = g_logp.narrow(0, start, n).unsqueeze(1), ge = g_entropy.narrow(0, start, n).unsqueeze(1);
      auto h = entropy.narrow(0, start, n).unsqueeze(1);
      // dL/dz' = -g_logp p - g_H p (log p + H), plus g_logp at the target column.
      dz = p.mul(log_p.add_(h).mul_(ge).add_(gl)).neg_();  // log_p is spent here
      auto local = targets.narrow(0, start, n) - o->shard.start;
      auto here = local.ge(0).logical_and(local.lt(o->shard.valid_cols));
      auto rows = here.nonzero().squeeze(1);
      if (rows.numel() > 0) dz.index_put_({rows, local.index({rows})}, gl.squeeze(1).index({rows}), /*accumulate=*/true);
      dz.mul_(o->inv_temperature);
      grad_hidden.narrow(0, start, n).copy_(at::mm(dz, valid_weight));
      grad_weight.narrow(0, 0, o->shard.valid_cols).addmm_(dz.t(), hidden32);
    }
    return {grad_hidden.to(hidden.scalar_type()), grad_weight.to(weight.scalar_type()), at::Tensor(), at::Tensor(),
            at::Tensor()};
  }
};

}  // namespace

TokenLogprobs vocab_parallel_token_logprobs(const at::Tensor& hidden, const at::Tensor& weight,
                                            const at::Tensor& targets, double temperature,
                                            const model::VocabShard& shard, const parallel::CommunicatorPtr& tp,
                                            int64_t chunk_tokens) {
  MEGASFT_CHECK(hidden.dim() == 2 && weight.dim() == 2 && hidden.size(1) == weight.size(1) &&
                    weight.size(0) == shard.local_cols,
                "token log-probs: hidden ", hidden.sizes(), " and head shard ", weight.sizes(), " do not fit");
  MEGASFT_CHECK(targets.dim() == 1 && targets.size(0) == hidden.size(0) && targets.scalar_type() == at::kLong,
                "token log-probs: targets must be int64 [", hidden.size(0), "], got ", targets.sizes());
  MEGASFT_CHECK(temperature > 0, "the policy's temperature must be positive, got ", temperature);
  MEGASFT_CHECK(chunk_tokens >= 1, "--loss-chunk-tokens must be positive, got ", chunk_tokens);
  auto o = c10::make_intrusive<LogprobOptions>();
  o->shard = shard;
  o->inv_temperature = 1.0 / temperature;
  o->chunk_tokens = chunk_tokens;
  auto out = TokenLogprobsFunction::apply(hidden, weight, targets.contiguous(), tp->to_ivalue(),
                                          at::IValue::make_capsule(o));
  return {out[0], out[1]};
}

}  // namespace megasft::rl
