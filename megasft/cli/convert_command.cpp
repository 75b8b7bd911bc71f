// `megasft convert --from-hf DIR --to-hf DIR`: a Hugging Face checkpoint read into megasft's
// (TP/PP-sharded) model and written back out. With the default --dtype keep every tensor comes back
// bit for bit in its original dtype, which checks the whole import/export path; bf16/fp16/fp32
// converts instead. `--from-checkpoint DIR` exports a training checkpoint (at any layout) instead.
#include <boost/program_options.hpp>
#include <chrono>
#include <iostream>

#include "kernels/check.h"
#include "megasft/checkpoint/distributed_checkpoint.h"
#include "megasft/checkpoint/hf_export.h"
#include "megasft/checkpoint/hf_import.h"
#include "megasft/cli/command_options.h"
#include "megasft/cli/commands.h"
#include "megasft/model/hf_config.h"
#include "parallel/parallel_state.h"

namespace megasft::cli {
namespace po = boost::program_options;

namespace {

// A training checkpoint into a Hugging Face folder: the model rebuilt from the config the checkpoint
// records, its parameters loaded at this layout, the tokenizer files copied from --model-dir if the
// run started from one.
void export_checkpoint(const std::string& from, const std::string& to, const std::string& dtype,
                       const parallel::ParallelState& state, int pp) {
  const auto progress = checkpoint::read_checkpoint_metadata(from);
  MEGASFT_CHECK(progress.model_config.is_object(), "checkpoint '", from,
                "' records no model_config (saved by an older megasft): cannot rebuild its model");
  auto config = model::parse_hf_config(progress.model_config, from + "/metadata.json");
  const auto stage = model::PipelineStage::split(config.num_layers, state.pp_rank(), pp);
  model::LlamaModel model(config, state.tensor(), stage);
  optim::DistributedOptimizer optimizer(model.parameters(), state, {});
  checkpoint::DistributedCheckpointer(state, 1).load(from, /*fallback=*/false, model.parameters(), optimizer);

  checkpoint::HfExportOptions options;
  options.dir = to;
  options.dtype = checkpoint::parse_export_dtype(dtype, "--dtype");
  options.source_dir = progress.options.value("model_dir", "");
  if (state.dp_rank() == 0) checkpoint::export_hf(model, state.pipeline(), options);
  state.world()->barrier();
  if (state.is_first_rank())
    std::cout << "megasft convert: checkpoint step " << progress.step << " (saved at " << progress.layout
              << ") -> " << to << " (" << dtype << ", layout " << state.layout().to_string() << ")" << std::endl;
}

}  // namespace

int convert_command(const Args& args) {
  std::string from, from_checkpoint, to, dtype = "keep";
  int tp = 0, pp = 1;
  double timeout_s = 300;
  bool help = false;
  po::options_description description("megasft convert");
  description.add_options()("help,h", po::bool_switch(&help), "print this help")(
      "from-hf", po::value(&from), "Hugging Face model folder to read")(
      "from-checkpoint", po::value(&from_checkpoint), "megasft checkpoint (root or iter_N) to export")(
      "to-hf", po::value(&to),
      "Hugging Face model folder to write (config, generation config, tokenizer copied)")(
      "dtype", po::value(&dtype)->default_value(dtype),
      "keep (each tensor's own dtype) | bf16 | fp16 | fp32")(
      "tp", po::value(&tp)->default_value(0),
      "tensor-parallel size (0: every rank megasft-run started, / pp)")(
      "pp", po::value(&pp)->default_value(pp), "pipeline stages (one output file each)")(
      "dist-timeout", po::value(&timeout_s)->default_value(timeout_s),
      "seconds before a collective is hung");
  const auto vm = parse_command_options(args, description, "convert");
  if (help) {
    std::cout
        << "usage: [megasft-run --nproc-per-node N] megasft convert --from-hf DIR --to-hf DIR\n"
        << description;
    return 0;
  }
  MEGASFT_CHECK(from.empty() != from_checkpoint.empty() && !to.empty(),
                "megasft convert needs one of --from-hf and --from-checkpoint, and --to-hf");
  MEGASFT_CHECK(pp >= 1, "--pp must be at least 1, got ", pp);

  auto env = parallel::DistributedEnv::from_environment();
  const int tp_size = tp > 0 ? tp : env.world_size / pp;
  auto state = parallel::ParallelState::initialize(
      env, tp_size, pp, std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000)));
  if (!from_checkpoint.empty()) {
    export_checkpoint(from_checkpoint, to, dtype == "keep" ? "bf16" : dtype, *state, pp);
    return 0;
  }
  auto config = model::read_hf_config(from + "/config.json");
  checkpoint::HfCheckpoint source(from);
  const auto stage = model::PipelineStage::split(config.num_layers, state->pp_rank(), pp);
  model::LlamaModel model(config, state->tensor(), stage);
  checkpoint::load_hf_weights(model, source);

  checkpoint::HfExportOptions options;
  options.dir = to;
  options.source_dir = from;
  if (dtype == "keep")
    options.dtypes_from = &source;
  else
    options.dtype = checkpoint::parse_export_dtype(dtype, "--dtype");
  if (state->dp_rank() == 0) checkpoint::export_hf(model, state->pipeline(), options);
  state->world()->barrier();
  if (state->is_first_rank())
    std::cout << "megasft convert: " << config.architecture << ", " << source.tensor_names().size()
              << " tensors in, layout " << state->layout().to_string() << ", dtype " << dtype
              << " -> " << to << std::endl;
  return 0;
}

}  // namespace megasft::cli
