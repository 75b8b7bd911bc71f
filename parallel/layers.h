// Megatron's tensor-parallel layers: VocabParallelEmbedding, ColumnParallelLinear, RowParallelLinear.
// Each holds its shard; load_full() takes the unsharded weight and keeps this rank's slice.
#pragma once

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "parallel/communicator.h"
#include "parallel/parameter.h"

namespace megasft::parallel {

// Rows [vocab_start, vocab_start + rows_local) of a [padded_vocab, hidden] table live on this rank.
class VocabParallelEmbedding {
 public:
  VocabParallelEmbedding(std::string name, int64_t padded_vocab, int64_t hidden, CommunicatorPtr tp,
                         bool sequence_parallel = false);
  // [B, S] int64 -> [B, S, hidden] replicated, or [B, S/tp, hidden] with sequence parallelism
  at::Tensor forward(const at::Tensor& ids) const;
  void load_full(const at::Tensor& full_weight);    // [vocab <= padded_vocab, hidden]; padding rows 0
  void set_vocab_size(int64_t vocab_size);           // rows past it are padding
  const at::Tensor& weight() const { return weight_.value; }  // [rows_local, hidden]
  const Parameter& parameter() const { return weight_; }
  int64_t vocab_start() const { return vocab_start_; }
  int64_t rows_local() const { return rows_local_; }

 private:
  CommunicatorPtr tp_;
  bool sequence_parallel_ = false;
  int64_t vocab_start_ = 0;
  int64_t rows_local_ = 0;
  Parameter weight_;
};

// Y = X W^T + b with W split by output rows. The output may be made of several blocks (q|k|v,
// gate|up) that are each split separately, so the local output is [block0_local | block1_local | ...].
class ColumnParallelLinear {
 public:
  // With sequence parallelism the input arrives split along the sequence and is all-gathered.
  ColumnParallelLinear(std::string name, int64_t in_features, std::vector<int64_t> out_blocks,
                       bool bias, CommunicatorPtr tp, bool sequence_parallel = false);
  at::Tensor forward(const at::Tensor& input) const;  // [*, in] replicated -> [*, out_local]
  void load_full(const std::vector<at::Tensor>& block_weights,
                 const std::vector<at::Tensor>& block_biases = {});
  std::vector<int64_t> local_block_sizes() const;
  // Output rows past `rows` are padding (a vocabulary-parallel head), left out of checkpoints.
  void set_logical_output_size(int64_t rows);
  const at::Tensor& weight() const { return weight_.value; }  // [out_local, in]
  void append_parameters(ParameterList& out) const;

 private:
  CommunicatorPtr tp_;
  bool sequence_parallel_ = false;
  std::vector<int64_t> out_blocks_;
  Parameter weight_;  // [sum(out_blocks)/tp, in]
  Parameter bias_;    // [sum(out_blocks)/tp] or undefined
};

// Y = X W^T + b with W split by input columns; the partial products are summed over TP.
class RowParallelLinear {
 public:
  // With sequence parallelism the output is reduce-scattered along the sequence instead of all-reduced.
  RowParallelLinear(std::string name, int64_t in_features, int64_t out_features, bool bias,
                    CommunicatorPtr tp, bool sequence_parallel = false);
  at::Tensor forward(const at::Tensor& input_parallel) const;  // [*, in_local] -> [*, out] replicated
  void load_full(const at::Tensor& full_weight, const at::Tensor& full_bias = {});
  void append_parameters(ParameterList& out) const;

 private:
  CommunicatorPtr tp_;
  bool sequence_parallel_ = false;
  Parameter weight_;  // [out, in/tp]
  Parameter bias_;    // [out], replicated, added after the reduction
};

// The slice of `full` along `dim` that TP rank `rank` of `size` holds (a copy).
at::Tensor tensor_parallel_slice(const at::Tensor& full, int64_t dim, int rank, int size);

}  // namespace megasft::parallel
