// Enumeration in Megatron's terms: TP inside a node and dividing the heads (or sharing KV heads as
// model_config.h allows), PP any size that divides the rest (evenly split layers, or the remainder
// spread over the middle stages), DP what is left; then micro-batch, recompute and SP.
#include "megasft/plan/layout_search.h"

#include <algorithm>
#include <iomanip>
#include <sstream>

#include "kernels/check.h"

namespace megasft::plan {
namespace {

std::vector<int> divisors(int n, int up_to) {
  std::vector<int> out;
  for (int d = 1; d <= std::min(n, up_to); ++d)
    if (n % d == 0) out.push_back(d);
  return out;
}

// megasft::Error messages end in " [file.cpp:line]"; the planner's reasons do not need that.
std::string without_location(const std::string& message) {
  const auto at = message.rfind(" [");
  return at == std::string::npos ? message : message.substr(0, at);
}

std::string gib(double bytes) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(1) << bytes / (1ull << 30) << " GiB";
  return out.str();
}

}  // namespace

EvaluatedLayout evaluate_layout(const model::ModelConfig& model, const Layout& layout,
                                const PlanOptions& options, const ClusterSpec& cluster) {
  EvaluatedLayout e;
  e.layout = layout;
  const double runtime = cluster.runtime_reserved_gib * (1ull << 30);
  for (int s = 0; s < layout.pp; ++s) {
    e.stages.push_back(stage_memory(model, layout, s, options, runtime));
    if (e.stages.back().peak() > e.peak) {
      e.peak = e.stages.back().peak();
      e.worst_stage = s;
    }
  }
  e.time = step_time(model, layout, options, cluster);
  return e;
}

PlanResult plan_layouts(const PlanRequest& r) {
  const int world = r.nodes * r.cluster.gpus_per_node;
  const auto& o = r.options;
  MEGASFT_CHECK(r.nodes >= 1, "--nodes must be at least 1, got ", r.nodes);
  MEGASFT_CHECK(o.seq_len >= 2 && o.seq_len <= r.model.max_position_embeddings, "--seq-len ",
                o.seq_len, " must be in [2, model max-position-embeddings ",
                r.model.max_position_embeddings, "]");
  MEGASFT_CHECK(o.global_batch >= 1, "--global-batch must be positive, got ", o.global_batch);
  PlanResult result;
  result.usable_bytes = r.cluster.memory_bytes() * (1 - o.headroom);
  auto reject = [&](const Layout& l, const char* category, const std::string& reason) {
    result.rejected.push_back({l, category, reason, {}});
  };

  const auto tp_sizes =
      r.tp_sizes.empty() ? divisors(world, 2 * r.cluster.gpus_per_node) : r.tp_sizes;
  for (int tp : tp_sizes) {
    Layout base;
    base.tp = tp;
    if (world % tp != 0) {
      reject(
          base, "layout",
          "TP " + std::to_string(tp) + " does not divide the " + std::to_string(world) + " GPUs");
      continue;
    }
    if (tp > r.cluster.gpus_per_node) {
      reject(base, "TP crosses nodes",
             "TP " + std::to_string(tp) + " > " + std::to_string(r.cluster.gpus_per_node) +
                 " GPUs per node");
      continue;
    }
    try {
      r.model.validate(tp);
    } catch (const Error& e) {
      reject(base, "model shape", without_location(e.what()));
      continue;
    }
    const auto pp_sizes = r.pp_sizes.empty() ? divisors(world / tp, world) : r.pp_sizes;
    for (int pp : pp_sizes) {
      Layout staged = base;
      staged.pp = pp;
      if ((world / tp) % pp != 0) {
        reject(staged, "layout",
               "TP x PP " + std::to_string(tp * pp) + " does not divide the " +
                   std::to_string(world) + " GPUs");
        continue;
      }
      staged.dp = world / (tp * pp);
      staged.pipeline_layers = split_layers(r.model.num_layers, pp);
      if (staged.pipeline_layers.empty()) {
        reject(staged, "pipeline",
               std::to_string(pp) + " stages > " + std::to_string(r.model.num_layers) + " layers");
        continue;
      }
      for (int64_t mb : r.micro_batches) {
        Layout batched = staged;
        batched.micro_batch = mb;
        if (o.global_batch % (mb * staged.dp) != 0) {
          reject(batched, "batch",
                 "global batch " + std::to_string(o.global_batch) +
                     " is not a multiple of mb x DP = " + std::to_string(mb * staged.dp));
          continue;
        }
        for (bool recompute : r.recompute)
          for (bool sp : r.sequence_parallel) {
            if (sp && tp == 1) continue;
            Layout layout = batched;
            layout.recompute = recompute;
            layout.sequence_parallel = sp;
            if (sp && o.seq_len % tp != 0) {
              reject(layout, "sequence parallel",
                     "seq-len " + std::to_string(o.seq_len) + " is not a multiple of TP");
              continue;
            }
            auto evaluated = evaluate_layout(r.model, layout, o, r.cluster);
            if (evaluated.peak > result.usable_bytes) {
              reject(layout, "memory",
                     "peak " + gib(evaluated.peak) + " on stage " +
                         std::to_string(evaluated.worst_stage) + " > " + gib(result.usable_bytes) +
                         " usable");
              result.rejected.back().evaluated = std::move(evaluated);
              continue;
            }
            result.feasible.push_back(std::move(evaluated));
          }
      }
    }
  }
  std::stable_sort(result.feasible.begin(), result.feasible.end(),
                   [](const auto& a, const auto& b) {
                     if (a.time.tokens_per_s_per_gpu != b.time.tokens_per_s_per_gpu)
                       return a.time.tokens_per_s_per_gpu > b.time.tokens_per_s_per_gpu;
                     return a.peak < b.peak;
                   });
  return result;
}

}  // namespace megasft::plan
