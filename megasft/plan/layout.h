// One candidate training layout: tensor, pipeline and data parallel sizes, the micro-batch, and the
// memory-saving switches, with the layers of each pipeline stage (as --pipeline-layers gives them).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace megasft::plan {

struct Layout {
  int tp = 1;
  int pp = 1;
  int dp = 1;
  int64_t micro_batch = 1;
  bool recompute = false;
  bool sequence_parallel = false;
  std::vector<int64_t> pipeline_layers;  // decoder layers per stage, one count per stage

  int world_size() const { return tp * pp * dp; }
  // "TP=2 PP=4 DP=8 mb=1 recompute SP" (and the split when it is uneven).
  std::string to_string() const;
  // The `megasft train` options that run this layout.
  std::string train_flags() const;
};

// Layers per stage for `stages` stages: even when they divide, else the remainder spread one each
// over the middle stages first (the first stage holds the most micro-batches in flight, the last
// the LM head), then the last, then the first. Empty when stages > layers.
std::vector<int64_t> split_layers(int64_t layers, int stages);

}  // namespace megasft::plan
