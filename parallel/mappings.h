// The conjugate autograd ops at the edges of a tensor-parallel region (Megatron's mappings):
// each forward collective has its adjoint in backward, so layers never call a collective themselves.
#pragma once

#include <ATen/ATen.h>

#include "parallel/communicator.h"

namespace megasft::parallel {

// Forward identity, backward all-reduce: the input of a column-parallel layer.
at::Tensor copy_to_tensor_parallel_region(const at::Tensor& input, const CommunicatorPtr& group);
// Forward all-reduce, backward identity: the output of a row-parallel layer.
at::Tensor reduce_from_tensor_parallel_region(const at::Tensor& input, const CommunicatorPtr& group);
// Forward: this rank's slice of the last dimension; backward: all-gather of the last dimension.
at::Tensor scatter_to_tensor_parallel_region(const at::Tensor& input, const CommunicatorPtr& group);
// Forward: all-gather of the last dimension; backward: this rank's slice.
at::Tensor gather_from_tensor_parallel_region(const at::Tensor& input, const CommunicatorPtr& group);

// Sequence parallelism (activations [batch, seq, hidden] split along seq, dim 1, outside the TP
// regions): the all-gather / reduce-scatter pair that replaces the copy / reduce pair.
// Forward: this rank's slice of the sequence; backward: all-gather.
at::Tensor scatter_to_sequence_parallel_region(const at::Tensor& input, const CommunicatorPtr& group);
// Forward: all-gather of the sequence; backward: reduce-scatter (the input of column-parallel layers).
at::Tensor gather_from_sequence_parallel_region(const at::Tensor& input, const CommunicatorPtr& group);
// Forward: reduce-scatter along the sequence; backward: all-gather (the output of row-parallel layers).
at::Tensor reduce_scatter_to_sequence_parallel_region(const at::Tensor& input, const CommunicatorPtr& group);

}  // namespace megasft::parallel
