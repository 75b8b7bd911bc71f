// The map between a TP shard and the logical tensor, which makes checkpoints independent of the layout.
#include "parallel/parameter.h"

#include <algorithm>

#include "kernels/check.h"

namespace megasft::parallel {
namespace {
thread_local at::Device current_parameter_device = at::kCPU;
}  // namespace

at::Device parameter_device() { return current_parameter_device; }
ScopedParameterDevice::ScopedParameterDevice(at::Device device) : previous_(current_parameter_device) {
  current_parameter_device = device;
}
ScopedParameterDevice::~ScopedParameterDevice() { current_parameter_device = previous_; }

std::vector<int64_t> Parameter::logical_shape() const {
  std::vector<int64_t> shape = full_shape;
  if (is_tensor_parallel() && logical_partition_size >= 0) shape[partition_dim] = logical_partition_size;
  return shape;
}

std::vector<ShardSlice> tensor_parallel_slices(const Parameter& p, int rank, int size) {
  if (!p.is_tensor_parallel()) return {ShardSlice{0, 0, p.full_shape.empty() ? 1 : p.full_shape[0]}};
  const int64_t full = p.full_shape[p.partition_dim];
  std::vector<int64_t> blocks = p.partition_blocks.empty() ? std::vector<int64_t>{full} : p.partition_blocks;
  const int64_t logical_end = p.logical_partition_size >= 0 ? p.logical_partition_size : full;
  std::vector<ShardSlice> slices;
  int64_t local = 0, block_start = 0;
  for (int64_t block : blocks) {
    MEGASFT_CHECK(block % size == 0, p.name, ": block of ", block, " rows is not divisible by TP size ", size);
    const int64_t part = block / size;
    const int64_t begin = block_start + rank * part;
    const int64_t length = std::clamp<int64_t>(logical_end - begin, 0, part);
    if (length > 0) slices.push_back({local, begin, length});
    local += part;
    block_start += block;
  }
  return slices;
}

}  // namespace megasft::parallel
