// What every case of megasft-test-worker gets: the parallel state, a seeded generator shared by all
// ranks (so each rank can build the same full inputs and the float64 reference itself) and a list
// of mismatches. A case records failures instead of throwing, so every rank finishes its collectives.
#pragma once

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <memory>
#include <string>
#include <vector>

#include "parallel/parallel_state.h"

namespace megasft::testing {

struct WorkerContext {
  std::shared_ptr<parallel::ParallelState> state;
  int rank = 0;  // tensor-parallel rank
  int size = 1;  // tensor-parallel size
  std::vector<std::string> failures;

  const parallel::CommunicatorPtr& tp() const { return state->tensor(); }
  void expect(const std::string& mismatch_text) {
    if (!mismatch_text.empty()) failures.push_back(mismatch_text);
  }
  void expect_true(bool condition, const std::string& what) {
    if (!condition) failures.push_back(what);
  }
};

inline at::Generator seeded(uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

// The TP slice of `full` along `dim` for `rank` of `size`, written here rather than taken from the
// library so the expected shards are independent of it.
inline at::Tensor shard_of(const at::Tensor& full, int64_t dim, int rank, int size) {
  const int64_t part = full.size(dim) / size;
  return full.narrow(dim, rank * part, part);
}

// A column-parallel local tensor: each block along `dim` is split separately, then concatenated.
inline at::Tensor block_shard_of(const at::Tensor& full, int64_t dim, const std::vector<int64_t>& blocks,
                                 int rank, int size) {
  std::vector<at::Tensor> parts;
  int64_t offset = 0;
  for (int64_t b : blocks) {
    parts.push_back(shard_of(full.narrow(dim, offset, b), dim, rank, size));
    offset += b;
  }
  return at::cat(parts, dim);
}

void run_layers_case(WorkerContext& ctx);
void run_mappings_case(WorkerContext& ctx);
void run_objective_case(WorkerContext& ctx);
void run_model_case(WorkerContext& ctx);
void run_hf_model_case(WorkerContext& ctx);
void run_sampler_case(WorkerContext& ctx);
void run_rollout_case(WorkerContext& ctx);

}  // namespace megasft::testing
