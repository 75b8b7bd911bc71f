// megasft: one binary, one subcommand per job. Every megasft::Error ends here as one clear line on
// stderr and a non-zero exit, so a launcher sees the failure and stops the other ranks.
#include <exception>
#include <iostream>
#include <map>
#include <string>

#include "kernels/check.h"
#include "megasft/cli/commands.h"

namespace {

void print_usage() {
  std::cerr << "usage: megasft <command> [options]\n\n"
               "commands:\n"
               "  train            supervised fine-tuning (ce, sed, sed-nomask, gem, dft) under tensor parallelism\n"
               "  calibrate        SED-SFT's tau from held-out data, written where train picks it up\n"
               "  probe-objective  an objective's loss, statistics and gradient on logits dumped to HDF5\n"
               "  make-demo-data   generate the demo arithmetic dataset as HDF5\n"
               "  tokenize         encode text to ids (or --decode) with a tokenizer.json\n"
               "  convert          Hugging Face checkpoint -> megasft's sharded model -> Hugging Face folder\n"
               "  stats            per-token target probability and top-k probability sums of a model on data\n"
               "  plan             which TP/PP/DP layout fits in memory and runs fastest on N nodes\n"
               "  preprocess       chat JSONL -> Llama 3 / Qwen2.5 template -> HDF5 tokens\n"
               "  grpo             GRPO on math prompts: rollouts on the model's shards, grader reward, clipped updates\n"
               "  rollout-filter   keep the prompts whose samples are neither all right nor all wrong\n"
               "  eval             math benchmarks sampled K times: Avg@K, pass@k and the paper's Table 1\n"
               "  self-bleu        Self-BLEU of sampled generations (lower is more diverse)\n"
               "  report           HTML report of a run: training curves, evaluation tables, Self-BLEU\n\n"
               "Run `megasft <command> --help` for the options of a command.\n";
}

}  // namespace

int main(int argc, char** argv) {
  using Command = int (*)(const megasft::cli::Args&);
  const std::map<std::string, Command> commands = {
      {"train", megasft::cli::train_command},
      {"calibrate", megasft::cli::calibrate_command},
      {"probe-objective", megasft::cli::probe_objective_command},
      {"make-demo-data", megasft::cli::make_demo_data_command},
      {"tokenize", megasft::cli::tokenize_command},
      {"preprocess", megasft::cli::preprocess_command},
      {"convert", megasft::cli::convert_command},
      {"stats", megasft::cli::stats_command},
      {"plan", megasft::cli::plan_command},
      {"grpo", megasft::cli::grpo_command},
      {"rollout-filter", megasft::cli::rollout_filter_command},
      {"self-bleu", megasft::cli::self_bleu_command},
      {"eval", megasft::cli::eval_command},
      {"report", megasft::cli::report_command},
  };
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    print_usage();
    return argc < 2 ? 2 : 0;
  }
  auto it = commands.find(argv[1]);
  if (it == commands.end()) {
    std::cerr << "megasft: unknown command '" << argv[1] << "'\n";
    print_usage();
    return 2;
  }
  const std::string rank = std::getenv("RANK") ? std::string(" [rank ") + std::getenv("RANK") + "]" : "";
  try {
    return it->second(megasft::cli::Args(argv + 2, argv + argc));
  } catch (const megasft::Error& e) {
    std::cerr << "megasft " << argv[1] << rank << ": error: " << e.what() << std::endl;
  } catch (const std::exception& e) {
    std::cerr << "megasft " << argv[1] << rank << ": internal error: " << e.what() << std::endl;
  }
  return 1;
}
