// Tensor-parallel layers. Communication happens only through the mappings: the column layer copies its
// input into the TP region (all-reduce of the input gradient), the row and embedding layers reduce out.
#include "parallel/layers.h"

#include <numeric>

#include "kernels/check.h"
#include "parallel/mappings.h"

namespace megasft::parallel {
namespace {

Parameter make_parameter(std::string name, std::vector<int64_t> local_shape, int partition_dim,
                         std::vector<int64_t> full_shape) {
  Parameter p;
  p.name = std::move(name);
  p.value = at::zeros(local_shape, at::TensorOptions(at::kFloat).device(parameter_device())).requires_grad_(true);
  p.partition_dim = partition_dim;
  p.full_shape = std::move(full_shape);
  return p;
}

void copy_into(const Parameter& p, const at::Tensor& source) {
  MEGASFT_CHECK(source.sizes() == p.value.sizes(), "parameter ", p.name, ": expected shape ",
                p.value.sizes(), ", got ", source.sizes());
  at::NoGradGuard no_grad;
  p.value.copy_(source);
}

int64_t divide(int64_t n, int tp, const std::string& what) {
  MEGASFT_CHECK(n % tp == 0, what, " (", n, ") is not divisible by the tensor-parallel size ", tp);
  return n / tp;
}

}  // namespace

at::Tensor tensor_parallel_slice(const at::Tensor& full, int64_t dim, int rank, int size) {
  const int64_t part = divide(full.size(dim), size, "dimension " + std::to_string(dim));
  return full.narrow(dim, rank * part, part).clone();
}

// --- VocabParallelEmbedding -------------------------------------------------------------------

VocabParallelEmbedding::VocabParallelEmbedding(std::string name, int64_t padded_vocab, int64_t hidden,
                                               CommunicatorPtr tp, bool sequence_parallel)
    : tp_(std::move(tp)), sequence_parallel_(sequence_parallel) {
  rows_local_ = divide(padded_vocab, tp_->size(), name + ": padded vocabulary");
  vocab_start_ = rows_local_ * tp_->rank();
  weight_ = make_parameter(std::move(name), {rows_local_, hidden}, 0, {padded_vocab, hidden});
}

void VocabParallelEmbedding::set_vocab_size(int64_t vocab_size) { weight_.logical_partition_size = vocab_size; }

at::Tensor VocabParallelEmbedding::forward(const at::Tensor& ids) const {
  if (tp_->size() == 1) return at::embedding(weight_.value, ids);
  // Ids outside this shard look up row 0 and are zeroed; the all-reduce fills them from their owner.
  auto outside = (ids < vocab_start_).logical_or(ids >= vocab_start_ + rows_local_);
  auto local_ids = (ids - vocab_start_).masked_fill(outside, 0);
  auto partial = at::embedding(weight_.value, local_ids).masked_fill(outside.unsqueeze(-1), 0.0);
  return sequence_parallel_ ? reduce_scatter_to_sequence_parallel_region(partial, tp_)
                            : reduce_from_tensor_parallel_region(partial, tp_);
}

void VocabParallelEmbedding::load_full(const at::Tensor& full_weight) {
  const auto& shape = weight_.full_shape;
  MEGASFT_CHECK(full_weight.dim() == 2 && full_weight.size(0) <= shape[0] && full_weight.size(1) == shape[1],
                weight_.name, ": expected [<=", shape[0], ", ", shape[1], "], got ", full_weight.sizes());
  auto padded = at::zeros({shape[0], shape[1]}, at::kFloat);
  padded.narrow(0, 0, full_weight.size(0)).copy_(full_weight);
  copy_into(weight_, padded.narrow(0, vocab_start_, rows_local_));
}

// --- ColumnParallelLinear ---------------------------------------------------------------------

ColumnParallelLinear::ColumnParallelLinear(std::string name, int64_t in_features,
                                           std::vector<int64_t> out_blocks, bool bias, CommunicatorPtr tp,
                                           bool sequence_parallel)
    : tp_(std::move(tp)), sequence_parallel_(sequence_parallel), out_blocks_(std::move(out_blocks)) {
  int64_t out_total = 0, out_local = 0;
  for (int64_t block : out_blocks_) {
    out_total += block;
    out_local += divide(block, tp_->size(), name + ": output block");
  }
  weight_ = make_parameter(name + ".weight", {out_local, in_features}, 0, {out_total, in_features});
  if (out_blocks_.size() > 1) weight_.partition_blocks = out_blocks_;
  if (bias) {
    bias_ = make_parameter(name + ".bias", {out_local}, 0, {out_total});
    bias_.partition_blocks = weight_.partition_blocks;
  }
}

void ColumnParallelLinear::set_logical_output_size(int64_t rows) {
  weight_.logical_partition_size = rows;
  if (bias_.value.defined()) bias_.logical_partition_size = rows;
}

std::vector<int64_t> ColumnParallelLinear::local_block_sizes() const {
  std::vector<int64_t> sizes;
  for (int64_t block : out_blocks_) sizes.push_back(block / tp_->size());
  return sizes;
}

at::Tensor ColumnParallelLinear::forward(const at::Tensor& input) const {
  auto x = sequence_parallel_ ? gather_from_sequence_parallel_region(input, tp_)
                              : copy_to_tensor_parallel_region(input, tp_);
  return bias_.value.defined() ? at::linear(x, weight_.value, bias_.value) : at::linear(x, weight_.value);
}

void ColumnParallelLinear::load_full(const std::vector<at::Tensor>& block_weights,
                                     const std::vector<at::Tensor>& block_biases) {
  MEGASFT_CHECK(block_weights.size() == out_blocks_.size(), weight_.name, ": expected ",
                out_blocks_.size(), " weight blocks, got ", block_weights.size());
  std::vector<at::Tensor> weights, biases;
  for (size_t b = 0; b < out_blocks_.size(); ++b) {
    MEGASFT_CHECK(block_weights[b].size(0) == out_blocks_[b], weight_.name, ": block ", b, " has ",
                  block_weights[b].size(0), " rows, expected ", out_blocks_[b]);
    weights.push_back(tensor_parallel_slice(block_weights[b], 0, tp_->rank(), tp_->size()));
    if (bias_.value.defined())
      biases.push_back(tensor_parallel_slice(block_biases.at(b), 0, tp_->rank(), tp_->size()));
  }
  copy_into(weight_, at::cat(weights, 0));
  if (bias_.value.defined()) copy_into(bias_, at::cat(biases, 0));
}

void ColumnParallelLinear::append_parameters(ParameterList& out) const {
  out.push_back(weight_);
  if (bias_.value.defined()) out.push_back(bias_);
}

// --- RowParallelLinear ------------------------------------------------------------------------

RowParallelLinear::RowParallelLinear(std::string name, int64_t in_features, int64_t out_features,
                                     bool bias, CommunicatorPtr tp, bool sequence_parallel)
    : tp_(std::move(tp)), sequence_parallel_(sequence_parallel) {
  const int64_t in_local = divide(in_features, tp_->size(), name + ": input features");
  weight_ = make_parameter(name + ".weight", {out_features, in_local}, 1, {out_features, in_features});
  if (bias) {
    bias_ = make_parameter(name + ".bias", {out_features}, -1, {out_features});
    bias_.sequence_parallel = sequence_parallel && tp_->size() > 1;
  }
}

at::Tensor RowParallelLinear::forward(const at::Tensor& input_parallel) const {
  auto partial = at::linear(input_parallel, weight_.value);
  auto y = sequence_parallel_ ? reduce_scatter_to_sequence_parallel_region(partial, tp_)
                              : reduce_from_tensor_parallel_region(partial, tp_);
  return bias_.value.defined() ? y + bias_.value : y;
}

void RowParallelLinear::load_full(const at::Tensor& full_weight, const at::Tensor& full_bias) {
  copy_into(weight_, tensor_parallel_slice(full_weight, 1, tp_->rank(), tp_->size()));
  if (bias_.value.defined()) copy_into(bias_, full_bias);
}

void RowParallelLinear::append_parameters(ParameterList& out) const {
  out.push_back(weight_);
  if (bias_.value.defined()) out.push_back(bias_);
}

}  // namespace megasft::parallel
