// `megasft self-bleu`: Self-BLEU of a generations JSONL (lower is more diverse), the nltk sentence-
// BLEU variant by default or the GEM repository's sacrebleu variant; the work is in megasft/eval.
#include <boost/program_options.hpp>
#include <fstream>
#include <iostream>
#include <string>

#include "kernels/check.h"
#include "megasft/cli/command_options.h"
#include "megasft/cli/commands.h"
#include "megasft/eval/generations_file.h"
#include "megasft/eval/self_bleu_report.h"
#include "megasft/eval/tokenizer_13a.h"

namespace megasft::cli {

int self_bleu_command(const Args& args) {
  namespace po = boost::program_options;
  std::string generations_path;
  std::string output_path;
  int order = 4;
  bool gem_compatible = false;
  po::options_description desc("megasft self-bleu options");
  // clang-format off
  desc.add_options()
      ("help,h", "show this help")
      ("generations", po::value(&generations_path), "generations JSONL, required")
      ("order", po::value(&order)->default_value(4), "largest n-gram order (uniform weights 1/order)")
      ("gem-compatible", po::bool_switch(&gem_compatible),
       "the GEM repository's variant: sacrebleu corpus BLEU of each sample against only the first "
       "other sample, 0-100, order 4")
      ("output", po::value(&output_path), "also write the report as JSON to this file");
  // clang-format on
  const auto vm = parse_command_options(args, desc, "self-bleu");
  if (vm.count("help") > 0) {
    std::cout
        << "usage: megasft self-bleu --generations FILE.jsonl [--order 4] [--gem-compatible]\n"
           "                         [--output FILE.json]\n"
           "Self-BLEU: each sample of a prompt scored with BLEU against the prompt's other\n"
           "samples, averaged per prompt, then over prompts; lower is more diverse. Prompts\n"
           "with fewer than 2 samples are skipped and counted.\n"
           "Rows: {\"prompt\": ..., \"samples\": [...]}, or one sample per row {..., "
           "\"response\":\n"
           "...} grouped by benchmark + problem_index (or problem_id) as `megasft eval` writes\n"
           "them, else by prompt_id, else by prompt; sample_index orders a prompt's samples.\n"
           "Default: nltk 3.8 sentence_bleu with SmoothingFunction().method1, against all\n"
           "other samples, 0-1.\n"
           "Tokenisation: "
        << eval::kTokenizer13aDescription << ".\n"
        << desc;
    return 0;
  }
  MEGASFT_CHECK(!generations_path.empty(), "self-bleu: --generations FILE.jsonl is required");
  // An explicit --order with the GEM variant is refused in self_bleu_report unless it is 4.
  const auto variant = gem_compatible ? eval::SelfBleuVariant::kGem : eval::SelfBleuVariant::kNltk;
  const eval::SelfBleuReport report =
      eval::self_bleu_report(eval::read_generations_file(generations_path), variant, order);

  std::cout << eval::self_bleu_report_text(report) << std::flush;
  if (!output_path.empty()) {
    nlohmann::json out = eval::self_bleu_report_json(report);
    out["generations"] = generations_path;
    std::ofstream file(output_path);
    MEGASFT_CHECK(file.good(), "self-bleu: cannot open --output ", output_path, " for writing");
    file << out.dump(2) << "\n";
    file.close();
    MEGASFT_CHECK(file.good(), "self-bleu: cannot write --output ", output_path);
    std::cout << "wrote " << output_path << "\n";
  }
  return 0;
}

}  // namespace megasft::cli
