// Which part of the decoder one pipeline stage holds: a contiguous run of layers, plus the embedding
// on the first stage and the final norm and LM head on the last. Built from --pp and an optional list.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace megasft::model {

struct PipelineStage {
  int64_t first_layer = 0;
  int64_t num_layers = 0;
  bool is_first = true;
  bool is_last = true;

  // Stage `rank` of `stages` over `total_layers`: evenly, or by `layers_per_stage` (one count per
  // stage, summing to total_layers). Layer counts that do not split are an error naming the numbers.
  static PipelineStage split(int64_t total_layers, int rank, int stages,
                             const std::vector<int64_t>& layers_per_stage = {});
  static PipelineStage whole(int64_t total_layers) { return {0, total_layers, true, true}; }
  std::string to_string() const;
};

}  // namespace megasft::model
