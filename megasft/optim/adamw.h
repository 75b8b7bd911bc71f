// The AdamW update rule shared by the optimizers, and the global gradient norm of a model's shards.
// Decoupled weight decay applies to matrices only (not to norms and biases), as in Megatron.
#pragma once

#include <ATen/ATen.h>

#include <vector>

#include "parallel/communicator.h"
#include "parallel/parameter.h"

namespace megasft::optim {

struct AdamWOptions {
  double beta1 = 0.9;
  double beta2 = 0.95;
  double eps = 1e-8;
  double weight_decay = 0.0;
};

// The Adam moment update and step on one tensor (bias-corrected; decoupled decay applied by the caller
// before it). The distributed optimizer applies it to its fp32 master shards.
void adam_update_(at::Tensor& value, const at::Tensor& grad, at::Tensor& exp_avg, at::Tensor& exp_avg_sq,
                  double lr, int64_t step, const AdamWOptions& options);

// L2 norm of the .grad of a model's shards (what tests check the optimizer's norm against), each element counted once: TP-sharded parameters contribute
// from every TP rank (all-reduced), replicated ones from this rank only. Scales the gradients in place
// when the norm exceeds max_norm (> 0). Returns the norm before clipping.
double clip_grad_norm(const parallel::ParameterList& parameters, double max_norm,
                      const parallel::CommunicatorPtr& tp);

}  // namespace megasft::optim
