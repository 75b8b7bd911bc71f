// The subcommands of the `megasft` binary; main.cpp dispatches on the first argument.
// Each takes the arguments after the subcommand name and returns the process exit code.
#pragma once

#include <string>
#include <vector>

namespace megasft::cli {

using Args = std::vector<std::string>;

int train_command(const Args& args);           // SFT under any tensor-parallel layout
int calibrate_command(const Args& args);       // SED-SFT tau from held-out data
int probe_objective_command(const Args& args);  // an objective on dumped logits, any TP size
int make_demo_data_command(const Args& args);  // the demo arithmetic dataset, as HDF5
int tokenize_command(const Args& args);        // tokenizer.json encode/decode filter
int preprocess_command(const Args& args);      // chat JSONL -> chat template -> HDF5 tokens
int convert_command(const Args& args);         // Hugging Face folder -> megasft model -> Hugging Face folder
int stats_command(const Args& args);           // per-token target probability and top-k sums to HDF5
int plan_command(const Args& args);            // which TP/PP/DP layout fits and runs fastest on N nodes
int grpo_command(const Args& args);            // GRPO on math prompts: rollouts, grader reward, clipped updates
int rollout_filter_command(const Args& args);  // keep prompts whose samples neither all pass nor all fail
int eval_command(const Args& args);            // math benchmarks: Avg@K, pass@k, the paper's Table 1
int report_command(const Args& args);          // run dir -> self-contained HTML report (curves, eval tables)
int self_bleu_command(const Args& args);       // Self-BLEU diversity of generations JSONL (nltk or GEM variant)

}  // namespace megasft::cli
