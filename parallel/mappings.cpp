// The tensor- and sequence-parallel mappings as custom autograd functions: one template, instantiated
// with each mapping's forward collective and its conjugate for the gradient.
#include "parallel/mappings.h"

#include <torch/csrc/autograd/custom_function.h>

#include "kernels/check.h"

namespace megasft::parallel {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

at::Tensor all_reduce_sum(const at::Tensor& x, const CommunicatorPtr& group) {
  at::Tensor out = x.clone(at::MemoryFormat::Contiguous);
  group->all_reduce(out, ReduceOp::kSum);
  return out;
}

at::Tensor split_last_dim(const at::Tensor& x, const CommunicatorPtr& group) {
  const int64_t full = x.size(-1);
  MEGASFT_CHECK(full % group->size() == 0, "last dimension ", full,
                " is not divisible by the tensor-parallel size ", group->size());
  const int64_t part = full / group->size();
  return x.narrow(-1, group->rank() * part, part).contiguous();
}

at::Tensor gather_last_dim(const at::Tensor& x, const CommunicatorPtr& group) {
  at::Tensor gathered = group->all_gather(x.contiguous());  // [tp, ..., part]
  return at::cat(gathered.unbind(0), -1);
}

constexpr int64_t kSequenceDim = 1;

at::Tensor split_sequence(const at::Tensor& x, const CommunicatorPtr& group) {
  const int64_t full = x.size(kSequenceDim);
  MEGASFT_CHECK(full % group->size() == 0, "sequence length ", full,
                " is not divisible by the tensor-parallel size ", group->size(), " (sequence parallelism)");
  const int64_t part = full / group->size();
  return x.narrow(kSequenceDim, group->rank() * part, part).contiguous();
}

at::Tensor gather_sequence(const at::Tensor& x, const CommunicatorPtr& group) {
  return at::cat(group->all_gather(x.contiguous()).unbind(0), kSequenceDim);
}

// Reduce-scatter along the sequence: the sequence dimension moved first so chunks are contiguous.
at::Tensor reduce_scatter_sequence(const at::Tensor& x, const CommunicatorPtr& group) {
  MEGASFT_CHECK(x.size(kSequenceDim) % group->size() == 0, "sequence length ", x.size(kSequenceDim),
                " is not divisible by the tensor-parallel size ", group->size(), " (sequence parallelism)");
  auto seq_first = x.transpose(0, kSequenceDim).contiguous();
  return group->reduce_scatter(seq_first).transpose(0, kSequenceDim).contiguous();
}

at::Tensor identity(const at::Tensor& x, const CommunicatorPtr&) { return x.view_as(x); }

// One conjugate pair: Forward on the way in, Backward on the gradient, both on the saved group.
using Collective = at::Tensor (*)(const at::Tensor&, const CommunicatorPtr&);
template <Collective Forward, Collective Backward>
struct RegionMapping : torch::autograd::Function<RegionMapping<Forward, Backward>> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, at::IValue group) {
    ctx->saved_data["group"] = group;
    return Forward(x, Communicator::from_ivalue(group));
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    return {Backward(grads[0], Communicator::from_ivalue(ctx->saved_data["group"])), at::Tensor()};
  }
};

using CopyToRegion = RegionMapping<identity, all_reduce_sum>;
using ReduceFromRegion = RegionMapping<all_reduce_sum, identity>;
using ScatterToRegion = RegionMapping<split_last_dim, gather_last_dim>;
using GatherFromRegion = RegionMapping<gather_last_dim, split_last_dim>;
using ScatterToSequence = RegionMapping<split_sequence, gather_sequence>;
using GatherFromSequence = RegionMapping<gather_sequence, reduce_scatter_sequence>;
using ReduceScatterToSequence = RegionMapping<reduce_scatter_sequence, gather_sequence>;

// With one rank every mapping is the identity and no autograd node is recorded.
template <typename Mapping>
at::Tensor apply(const at::Tensor& input, const CommunicatorPtr& group) {
  return group->size() == 1 ? input : Mapping::apply(input, group->to_ivalue());
}

}  // namespace

at::Tensor copy_to_tensor_parallel_region(const at::Tensor& input, const CommunicatorPtr& group) {
  return apply<CopyToRegion>(input, group);
}
at::Tensor reduce_from_tensor_parallel_region(const at::Tensor& input, const CommunicatorPtr& group) {
  return apply<ReduceFromRegion>(input, group);
}
at::Tensor scatter_to_tensor_parallel_region(const at::Tensor& input, const CommunicatorPtr& group) {
  return apply<ScatterToRegion>(input, group);
}
at::Tensor gather_from_tensor_parallel_region(const at::Tensor& input, const CommunicatorPtr& group) {
  return apply<GatherFromRegion>(input, group);
}
at::Tensor scatter_to_sequence_parallel_region(const at::Tensor& input, const CommunicatorPtr& group) {
  return apply<ScatterToSequence>(input, group);
}
at::Tensor gather_from_sequence_parallel_region(const at::Tensor& input, const CommunicatorPtr& group) {
  return apply<GatherFromSequence>(input, group);
}
at::Tensor reduce_scatter_to_sequence_parallel_region(const at::Tensor& input, const CommunicatorPtr& group) {
  return apply<ReduceScatterToSequence>(input, group);
}

}  // namespace megasft::parallel
