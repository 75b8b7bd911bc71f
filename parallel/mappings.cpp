// Custom autograd functions for the four tensor-parallel mappings. With one rank each is the identity
// and no autograd node is recorded.
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

struct ScatterToSequence : torch::autograd::Function<ScatterToSequence> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, at::IValue group) {
    ctx->saved_data["group"] = group;
    return split_sequence(x, Communicator::from_ivalue(group));
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    return {gather_sequence(grads[0], Communicator::from_ivalue(ctx->saved_data["group"])), at::Tensor()};
  }
};

struct GatherFromSequence : torch::autograd::Function<GatherFromSequence> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, at::IValue group) {
    ctx->saved_data["group"] = group;
    return gather_sequence(x, Communicator::from_ivalue(group));
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    return {reduce_scatter_sequence(grads[0], Communicator::from_ivalue(ctx->saved_data["group"])), at::Tensor()};
  }
};

struct ReduceScatterToSequence : torch::autograd::Function<ReduceScatterToSequence> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, at::IValue group) {
    ctx->saved_data["group"] = group;
    return reduce_scatter_sequence(x, Communicator::from_ivalue(group));
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    return {gather_sequence(grads[0], Communicator::from_ivalue(ctx->saved_data["group"])), at::Tensor()};
  }
};

struct CopyToRegion : torch::autograd::Function<CopyToRegion> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, at::IValue group) {
    ctx->saved_data["group"] = group;
    return x.view_as(x);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto group = Communicator::from_ivalue(ctx->saved_data["group"]);
    return {all_reduce_sum(grads[0], group), at::Tensor()};
  }
};

struct ReduceFromRegion : torch::autograd::Function<ReduceFromRegion> {
  static at::Tensor forward(AutogradContext*, const at::Tensor& x, at::IValue group) {
    return all_reduce_sum(x, Communicator::from_ivalue(group));
  }
  static variable_list backward(AutogradContext*, variable_list grads) {
    return {grads[0], at::Tensor()};
  }
};

struct ScatterToRegion : torch::autograd::Function<ScatterToRegion> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, at::IValue group) {
    ctx->saved_data["group"] = group;
    return split_last_dim(x, Communicator::from_ivalue(group));
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto group = Communicator::from_ivalue(ctx->saved_data["group"]);
    return {gather_last_dim(grads[0], group), at::Tensor()};
  }
};

struct GatherFromRegion : torch::autograd::Function<GatherFromRegion> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, at::IValue group) {
    ctx->saved_data["group"] = group;
    return gather_last_dim(x, Communicator::from_ivalue(group));
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto group = Communicator::from_ivalue(ctx->saved_data["group"]);
    return {split_last_dim(grads[0], group), at::Tensor()};
  }
};

}  // namespace

at::Tensor copy_to_tensor_parallel_region(const at::Tensor& input, const CommunicatorPtr& group) {
  if (group->size() == 1) return input;
  return CopyToRegion::apply(input, group->to_ivalue());
}

at::Tensor reduce_from_tensor_parallel_region(const at::Tensor& input, const CommunicatorPtr& group) {
  if (group->size() == 1) return input;
  return ReduceFromRegion::apply(input, group->to_ivalue());
}

at::Tensor scatter_to_tensor_parallel_region(const at::Tensor& input, const CommunicatorPtr& group) {
  if (group->size() == 1) return input;
  return ScatterToRegion::apply(input, group->to_ivalue());
}

at::Tensor gather_from_tensor_parallel_region(const at::Tensor& input, const CommunicatorPtr& group) {
  if (group->size() == 1) return input;
  return GatherFromRegion::apply(input, group->to_ivalue());
}

at::Tensor scatter_to_sequence_parallel_region(const at::Tensor& input, const CommunicatorPtr& group) {
  if (group->size() == 1) return input;
  return ScatterToSequence::apply(input, group->to_ivalue());
}

at::Tensor gather_from_sequence_parallel_region(const at::Tensor& input, const CommunicatorPtr& group) {
  if (group->size() == 1) return input;
  return GatherFromSequence::apply(input, group->to_ivalue());
}

at::Tensor reduce_scatter_to_sequence_parallel_region(const at::Tensor& input, const CommunicatorPtr& group) {
  if (group->size() == 1) return input;
  return ReduceScatterToSequence::apply(input, group->to_ivalue());
}

}  // namespace megasft::parallel
