// A trainable tensor with what distributed code must know about it: its name, its full logical shape
// and how it is split over the tensor-parallel group (norms, checkpoints and optimizers read this).
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <vector>

namespace megasft::parallel {

struct Parameter {
  std::string name;               // Hugging Face style, e.g. "model.layers.0.self_attn.q_proj.weight"
  at::Tensor value;               // this rank's shard; requires_grad
  int partition_dim = -1;         // dimension split over TP; -1 = replicated on every TP rank
  std::vector<int64_t> full_shape;
  // Tied embeddings under pipeline parallelism: the first and the last stage each hold a copy. Both
  // copies' gradients are summed over the embedding group; the last stage's is the duplicate that
  // gradient norms and checkpoints skip.
  bool tied_across_stages = false;
  bool is_duplicate = false;
  // Sequence parallelism: a replicated parameter applied to this rank's slice of the sequence has a
  // partial gradient that is summed over the tensor-parallel group.
  bool sequence_parallel = false;

  bool is_tensor_parallel() const { return partition_dim >= 0; }
};

using ParameterList = std::vector<Parameter>;

}  // namespace megasft::parallel
