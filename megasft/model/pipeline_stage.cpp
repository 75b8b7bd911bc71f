#include "megasft/model/pipeline_stage.h"

#include <numeric>
#include <sstream>

#include "kernels/check.h"

namespace megasft::model {

PipelineStage PipelineStage::split(int64_t total_layers, int rank, int stages,
                                   const std::vector<int64_t>& layers_per_stage) {
  MEGASFT_CHECK(stages >= 1 && rank >= 0 && rank < stages, "pipeline stage ", rank, " of ", stages);
  std::vector<int64_t> counts = layers_per_stage;
  if (counts.empty()) {
    MEGASFT_CHECK(total_layers % stages == 0, "model.num-layers ", total_layers, " does not split evenly into --pp ",
                  stages, " stages (give --pipeline-layers, e.g. a count per stage)");
    counts.assign(stages, total_layers / stages);
  }
  MEGASFT_CHECK(static_cast<int>(counts.size()) == stages, "--pipeline-layers has ", counts.size(),
                " entries but --pp is ", stages);
  for (int64_t c : counts) MEGASFT_CHECK(c >= 1, "--pipeline-layers: every stage needs a layer, got ", c);
  const int64_t sum = std::accumulate(counts.begin(), counts.end(), int64_t{0});
  MEGASFT_CHECK(sum == total_layers, "--pipeline-layers sums to ", sum, " but model.num-layers is ", total_layers);
  PipelineStage stage;
  stage.first_layer = std::accumulate(counts.begin(), counts.begin() + rank, int64_t{0});
  stage.num_layers = counts[rank];
  stage.is_first = rank == 0;
  stage.is_last = rank == stages - 1;
  return stage;
}

std::string PipelineStage::to_string() const {
  std::ostringstream out;
  out << "layers [" << first_layer << ", " << first_layer + num_layers << ")" << (is_first ? " + embedding" : "")
      << (is_last ? " + head" : "");
  return out.str();
}

}  // namespace megasft::model
