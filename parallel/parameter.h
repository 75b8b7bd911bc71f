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
  std::vector<int64_t> full_shape;  // the whole tensor at this TP size, padding included
  // Fused layers (q|k|v, gate|up) split each block separately: rank r holds its part of every block,
  // in block order. Empty: one block, the whole partition dimension.
  std::vector<int64_t> partition_blocks;
  // Vocabulary padding: only the first logical_partition_size rows are real (the rest are zero and
  // depend on the TP size, so checkpoints leave them out). -1: no padding.
  int64_t logical_partition_size = -1;
  // Tied embeddings under pipeline parallelism: the first and the last stage each hold a copy. Both
  // copies' gradients are summed over the embedding group; the last stage's is the duplicate that
  // gradient norms and checkpoints skip.
  bool tied_across_stages = false;
  bool is_duplicate = false;
  // Sequence parallelism: a replicated parameter applied to this rank's slice of the sequence has a
  // partial gradient that is summed over the tensor-parallel group.
  bool sequence_parallel = false;

  bool is_tensor_parallel() const { return partition_dim >= 0; }
  // The tensor's shape independent of the layout: the full shape without vocabulary padding.
  std::vector<int64_t> logical_shape() const;
};

using ParameterList = std::vector<Parameter>;

// The device new parameters are created on: CPU, unless a ScopedParameterDevice on this thread says
// otherwise (`megasft plan --dry-run` builds a model on the meta device, which allocates nothing).
at::Device parameter_device();
class ScopedParameterDevice {
 public:
  explicit ScopedParameterDevice(at::Device device);
  ~ScopedParameterDevice();
  ScopedParameterDevice(const ScopedParameterDevice&) = delete;
  ScopedParameterDevice& operator=(const ScopedParameterDevice&) = delete;

 private:
  at::Device previous_;
};

// One run of rows along the partition dimension: `length` rows at `local_offset` of this rank's
// shard are rows `logical_offset...` of the logical tensor.
struct ShardSlice {
  int64_t local_offset = 0;
  int64_t logical_offset = 0;
  int64_t length = 0;
};

// Where TP rank `rank` of `size` keeps its part of the logical tensor (padding rows left out). For a
// replicated parameter, one slice covering everything.
std::vector<ShardSlice> tensor_parallel_slices(const Parameter& p, int rank, int size);

}  // namespace megasft::parallel
