// The model is built with a group that has the layout's TP size and rank but can send nothing:
// building a shard needs only the group's shape, so any collective here would be a bug, and says
// so.
#include "megasft/plan/dry_run.h"

#include <sstream>

#include "kernels/check.h"
#include "megasft/model/llama_model.h"
#include "parallel/parameter.h"

namespace megasft::plan {
namespace {

class ShapeOnlyGroup : public parallel::Communicator {
 public:
  ShapeOnlyGroup(int rank, int size)
      : Communicator("dry-run tp", rank, size, std::vector<int>(size, 0)) {}
  void all_reduce(at::Tensor&, parallel::ReduceOp) override { refuse("all_reduce"); }
  at::Tensor all_gather(const at::Tensor&) override { refuse("all_gather"); }
  at::Tensor reduce_scatter(const at::Tensor&) override { refuse("reduce_scatter"); }
  void broadcast(at::Tensor&, int) override { refuse("broadcast"); }
  void barrier() override { refuse("barrier"); }
  std::unique_ptr<parallel::PendingSend> isend(const at::Tensor&, int, int) override {
    refuse("isend");
  }
  void recv(at::Tensor&, int, int) override { refuse("recv"); }

 private:
  [[noreturn]] static void refuse(const char* op) {
    MEGASFT_FAIL("megasft plan --dry-run: building a model shard called ", op,
                 "; a dry run communicates nothing");
  }
};

}  // namespace

std::vector<DryRunStage> dry_run(const model::ModelConfig& config, const Layout& layout,
                                 at::ScalarType params_dtype, int tp_rank) {
  MEGASFT_CHECK(tp_rank >= 0 && tp_rank < layout.tp, "dry run: TP rank ", tp_rank, " of ",
                layout.tp);
  auto group = c10::make_intrusive<ShapeOnlyGroup>(tp_rank, layout.tp);
  parallel::ScopedParameterDevice meta(at::kMeta);
  std::vector<DryRunStage> stages;
  for (int s = 0; s < layout.pp; ++s) {
    DryRunStage out;
    out.stage = s;
    out.range =
        model::PipelineStage::split(config.num_layers, s, layout.pp, layout.pipeline_layers);
    model::LlamaModel shard(config, group, out.range, layout.sequence_parallel);
    for (const auto& p : shard.parameters()) {
      MEGASFT_CHECK(p.value.is_meta(), "dry run: parameter ", p.name, " was created on ",
                    p.value.device(), ", not on the meta device");
      out.parameters.push_back({p.name, p.value.numel()});
      out.elements += p.value.numel();
      out.bytes += p.value.numel() * static_cast<int64_t>(c10::elementSize(params_dtype));
    }
    stages.push_back(std::move(out));
  }
  return stages;
}

Layout parse_layout(const std::string& text, int64_t num_layers) {
  std::vector<int> sizes;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    try {
      size_t used = 0;
      sizes.push_back(std::stoi(item, &used));
      MEGASFT_CHECK(used == item.size() && sizes.back() >= 1, "");
    } catch (const std::exception&) {
      MEGASFT_FAIL("--dry-run '", text, "': '", item,
                   "' is not a positive integer (expected TP,PP,DP)");
    }
  }
  MEGASFT_CHECK(sizes.size() == 3, "--dry-run '", text, "' must be TP,PP,DP (three sizes), got ",
                sizes.size());
  Layout layout;
  layout.tp = sizes[0];
  layout.pp = sizes[1];
  layout.dp = sizes[2];
  layout.pipeline_layers = split_layers(num_layers, layout.pp);
  MEGASFT_CHECK(!layout.pipeline_layers.empty(), "--dry-run '", text, "': ", layout.pp,
                " stages but the model has ", num_layers, " layers");
  return layout;
}

}  // namespace megasft::plan
