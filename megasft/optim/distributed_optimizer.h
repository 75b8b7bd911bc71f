// Mixed-precision AdamW over data parallelism: fp32 main gradients accumulated across micro-batches,
// reduced over DP in buckets, and (ZeRO-1) fp32 master weights and Adam moments sharded over DP.
#pragma once

#include <ATen/ATen.h>

#include <vector>

#include "megasft/optim/adamw.h"
#include "parallel/parallel_state.h"

namespace megasft::optim {

struct DistributedOptimizerOptions {
  AdamWOptions adam;
  bool shard_over_data_parallel = true;  // ZeRO-1; false keeps a full optimizer state on every DP rank
  double bucket_mb = 32;                 // size of one gradient-reduction bucket
};

// All parameters live in one flat fp32 layout cut into buckets; each bucket is split into DP equal
// shards and DP rank r owns shard r of every bucket (Megatron's distributed optimizer). A step
// reduce-scatters each bucket's gradients to its owners, takes the global norm, clips, updates the
// owned fp32 master weights and moments, and all-gathers the updated values into the parameters.
class DistributedOptimizer {
 public:
  DistributedOptimizer(parallel::ParameterList parameters, const parallel::ParallelState& state,
                       DistributedOptimizerOptions options);

  // After each micro-batch's backward: adds every param.grad (any dtype) into the fp32 main
  // gradients and drops param.grad, so accumulation is in fp32 whatever the parameters' dtype.
  void accumulate_gradients();

  // One update. Returns the global gradient norm before clipping (every element counted once:
  // TP-sharded parameters from every TP rank, replicated ones from TP rank 0).
  double step(double lr, double max_norm);

  // The optimizer state of each parameter of this rank's (TP, PP) shard, shaped like the parameter:
  // what checkpoints store. Gathering is collective over the data-parallel group.
  struct ParameterState {
    at::Tensor master, exp_avg, exp_avg_sq;  // fp32
  };
  std::vector<ParameterState> gather_state() const;
  // The inverse, on every DP rank with the same full per-parameter state: each rank keeps what it
  // owns, and the parameters take the master weights' values.
  void load_state(const std::vector<ParameterState>& state, int64_t steps_taken);
  int64_t steps_taken() const { return step_; }

  int64_t num_elements() const { return total_; }
  // Bytes of optimizer state this rank holds: fp32 master weights and both Adam moments.
  int64_t state_bytes() const { return 3 * owned_ * static_cast<int64_t>(sizeof(float)); }

 private:
  struct Bucket {
    int64_t start = 0, end = 0;  // range of the flat layout, (end - start) divisible by DP
    int64_t owned_offset = 0;    // where this rank's shard starts in the owned buffers
  };

  int64_t shard_size(const Bucket& b) const { return (b.end - b.start) / dp_size_; }
  int64_t owned_start(const Bucket& b) const { return b.start + dp_rank_ * shard_size(b); }
  // A run of owned elements that belongs to one parameter: what weight decay and the norm look at,
  // kept as ranges rather than per-element masks so the state stays 12 bytes per owned element.
  struct OwnedSegment {
    int64_t owned_offset = 0, length = 0;
    bool decay = false;    // matrices only
    bool in_norm = false;  // counted once in the global gradient norm
  };
  void write_parameters(const at::Tensor& flat_values, int64_t start, int64_t end);
  at::Tensor gather_flat(const at::Tensor& owned) const;  // [owned] -> [total], collective over DP

  parallel::ParameterList parameters_;
  std::vector<int64_t> offsets_;  // start of each parameter in the flat layout
  std::vector<Bucket> buckets_;
  DistributedOptimizerOptions options_;
  parallel::CommunicatorPtr tp_, pp_, dp_, embedding_;
  int tp_rank_ = 0, dp_rank_ = 0, dp_size_ = 1;
  int64_t total_ = 0, owned_ = 0, step_ = 0;

  at::Tensor main_grad_;                          // [total] fp32, every element
  at::Tensor master_, exp_avg_, exp_avg_sq_;      // [owned] fp32
  std::vector<OwnedSegment> segments_;
};

}  // namespace megasft::optim
