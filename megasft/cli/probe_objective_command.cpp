// `megasft probe-objective`: evaluate an objective on dumped logits under any TP size (run it under
// megasft-run --nproc-per-node N; each rank reads only its vocabulary shard).
#include <boost/program_options.hpp>

#include <chrono>
#include <cmath>
#include <iostream>

#include "kernels/check.h"
#include "megasft/cli/command_options.h"
#include "megasft/cli/commands.h"
#include "megasft/objectives/logits_probe.h"
#include "megasft/objectives/objective_program_options.h"
#include "parallel/parallel_state.h"

namespace megasft::cli {
namespace po = boost::program_options;

int probe_objective_command(const Args& args) {
  std::string input, output;
  double timeout_s = 300;
  bool help = false;
  objectives::ObjectiveOptions options;
  objectives::ObjectiveProgramOptions objective(options);
  po::options_description io("megasft probe-objective");
  io.add_options()
      ("help,h", po::bool_switch(&help), "print this help")
      ("input", po::value(&input), "HDF5 with /logits float32 [T, V] and /targets int64 [T] (-100 = ignored)")
      ("output", po::value(&output), "HDF5 to write: loss, token_loss, grad, p_target, topk_sum, mask")
      ("dist-timeout", po::value(&timeout_s)->default_value(timeout_s), "seconds before a collective is hung");
  io.add(objective.description());
  const auto vm = parse_command_options(args, io, "probe-objective");
  if (help) {
    std::cout << io;
    return 0;
  }
  objective.finish(vm);
  MEGASFT_CHECK(!input.empty() && !output.empty(), "megasft probe-objective needs --input and --output");

  auto env = parallel::DistributedEnv::from_environment();
  auto state = parallel::ParallelState::initialize(env, /*tp=*/env.world_size, /*pp=*/1,
                                                   std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000)));
  auto result = objectives::probe_objective(input, output, options, state->tensor());
  if (state->is_first_rank()) {
    std::cout << "probe-objective " << objectives::objective_kind_name(options.kind) << ": loss " << result.loss
              << " over " << result.supervised << " of " << result.tokens << " tokens, vocab " << result.vocab
              << ", tp " << state->layout().tp;
    if (!std::isnan(result.tau)) std::cout << ", tau " << result.tau;
    std::cout << " -> " << output << std::endl;
  }
  return 0;
}

}  // namespace megasft::cli
