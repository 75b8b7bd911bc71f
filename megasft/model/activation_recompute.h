// Activation recomputation (--recompute): a layer runs forward without keeping its activations and
// runs again, with gradients, during backward. Gradients are identical; memory falls to the layer inputs.
#pragma once

#include <ATen/ATen.h>

#include <functional>

namespace megasft::model {

// fn must be deterministic (no dropout here) and issue the same collectives on every TP rank, since the
// recomputation repeats them in backward.
at::Tensor recompute_in_backward(const std::function<at::Tensor(const at::Tensor&)>& fn, const at::Tensor& input);

}  // namespace megasft::model
