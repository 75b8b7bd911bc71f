// Per-token loss, metrics and gradient coefficients of each objective from the combined statistics,
// and the in-place backward on a logits chunk. No communication: every TP rank computes the same terms.
#pragma once

#include <ATen/ATen.h>

#include "megasft/model/vocab_shard.h"
#include "megasft/objectives/objective_options.h"
#include "megasft/objectives/token_statistics.h"

namespace megasft::objectives {

constexpr int64_t kIgnoreIndex = -100;

// Per-token results, each [T] (double here; float32 where the public API returns them). Ignored
// tokens have 0 everywhere.
struct TokenTerms {
  at::Tensor token_loss;  // the objective's l_t
  at::Tensor ce;          // lse - z_y
  at::Tensor penalty;     // lambda * M * (p_y - 1/2)^2 (SED), else 0
  at::Tensor p_target;    // p_y
  at::Tensor topk_sum;    // S_t
  at::Tensor mask;        // M_t (1 = penalised)
  at::Tensor correct;     // the target has the largest logit
  at::Tensor supervised;  // label != ignore_index (bool)
  // dl_t/dz_j = grad_scale[t] * f_j - [j == y] * grad_target[t], with f_j = softmax_j for the CE
  // family (then grad_target = grad_scale = c_t) and f_j = e_j w_j for GEM (grad_scale = 1/Q, grad_target = B/Q).
  at::Tensor grad_scale;
  at::Tensor grad_target;
};

TokenTerms compute_token_terms(const TokenStatistics& stats, const at::Tensor& targets,
                               const ObjectiveOptions& options);

// logits32 [T, V_local] float32 becomes, in place, d(sum_t g_t l_t)/dZ for this shard.
void objective_gradient_inplace(at::Tensor& logits32, const TokenStatistics& stats,
                                const TokenTerms& terms, const at::Tensor& token_grad /*[T]*/,
                                const at::Tensor& local_target, const model::VocabShard& shard,
                                const ObjectiveOptions& options);

// Rejects ids outside [0, vocab_size) other than kIgnoreIndex, naming the id and its position.
void check_target_ids(const at::Tensor& targets, int64_t vocab_size);

}  // namespace megasft::objectives
