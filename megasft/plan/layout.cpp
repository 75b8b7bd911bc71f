// Printing layouts and the uneven pipeline split.
#include "megasft/plan/layout.h"

#include <sstream>

namespace megasft::plan {
namespace {

std::string join(const std::vector<int64_t>& counts) {
  std::ostringstream out;
  for (size_t i = 0; i < counts.size(); ++i) out << (i ? "," : "") << counts[i];
  return out.str();
}

bool even(const std::vector<int64_t>& counts) {
  for (int64_t c : counts)
    if (c != counts.front()) return false;
  return true;
}

}  // namespace

std::string Layout::to_string() const {
  std::ostringstream out;
  out << "TP=" << tp << " PP=" << pp << " DP=" << dp << " mb=" << micro_batch;
  if (recompute) out << " recompute";
  if (sequence_parallel) out << " SP";
  if (!pipeline_layers.empty() && !even(pipeline_layers))
    out << " layers=" << join(pipeline_layers);
  return out.str();
}

std::string Layout::train_flags() const {
  std::ostringstream out;
  out << "--tp " << tp << " --pp " << pp << " --micro-batch-size " << micro_batch;
  if (!pipeline_layers.empty() && !even(pipeline_layers))
    out << " --pipeline-layers " << join(pipeline_layers);
  if (recompute) out << " --recompute true";
  if (sequence_parallel) out << " --sequence-parallel true";
  return out.str();
}

std::vector<int64_t> split_layers(int64_t layers, int stages) {
  if (stages < 1 || stages > layers) return {};
  std::vector<int64_t> counts(stages, layers / stages);
  int64_t extra = layers % stages;
  // Middle stages first, then the last, then the first.
  std::vector<int> order;
  for (int s = 1; s + 1 < stages; ++s) order.push_back(s);
  if (stages > 1) order.push_back(stages - 1);
  order.push_back(0);
  for (size_t i = 0; extra > 0; ++i, --extra) ++counts[order[i % order.size()]];
  return counts;
}

}  // namespace megasft::plan
