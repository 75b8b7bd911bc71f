// `megasft make-demo-data`: writes the demo arithmetic chat dataset (train and optional held-out)
// in the HDF5 token format, tokenized with the character tokenizer.
#include <boost/program_options.hpp>
#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <unordered_set>
#include <vector>

#include "kernels/check.h"
#include "megasft/cli/command_options.h"
#include "megasft/cli/commands.h"
#include "megasft/data/char_tokenizer.h"
#include "megasft/data/chat_format.h"
#include "megasft/data/demo_math.h"
#include "megasft/data/rng.h"
#include "megasft/data/token_dataset.h"

namespace megasft::cli {

namespace {

namespace po = boost::program_options;
using data::ChatExample;

// Held-out (and RL) problems come from their own seed stream and exclude any prompt seen before, so
// evaluation never measures memorization. The stream is a prefix-stable sequence, so asking for
// more candidates keeps the earlier ones and the result is deterministic.
constexpr uint64_t kHeldoutStream = 0x68656c64;  // "held"
constexpr uint64_t kRlStream = 0x726c;           // "rl"

std::vector<ChatExample> distinct_problems(uint64_t seed, uint64_t stream, int64_t count,
                                           const std::vector<ChatExample>& exclude) {
  std::unordered_set<std::string> seen;
  for (const ChatExample& ex : exclude) seen.insert(ex.prompt);
  const uint64_t heldout_seed = data::derive_seed(seed, stream);
  for (int64_t candidates = 2 * count + 64;; candidates *= 2) {
    std::vector<ChatExample> out;
    std::unordered_set<std::string> taken = seen;  // also keeps held-out prompts distinct
    for (ChatExample& ex : data::generate_arithmetic_problems(heldout_seed, candidates)) {
      if (!taken.insert(ex.prompt).second) continue;
      out.push_back(std::move(ex));
      if (static_cast<int64_t>(out.size()) == count) return out;
    }
    MEGASFT_CHECK(candidates < (int64_t{1} << 24), "make-demo-data: could not find ", count,
                  " held-out problems distinct from the training set; ask for fewer samples");
  }
}

std::string write_split(const std::string& path, const std::vector<ChatExample>& examples,
                        const data::CharTokenizer& tok) {
  const data::TokenizedSamples samples = data::tokenize_chat(examples, tok);
  data::write_token_dataset(path, samples);
  int64_t supervised = 0;
  for (uint8_t m : samples.loss_mask) supervised += m;
  const auto tokens = static_cast<int64_t>(samples.tokens.size());
  std::ostringstream out;
  out << examples.size() << " samples, " << tokens << " tokens, " << std::fixed
      << std::setprecision(1) << (tokens > 0 ? 100.0 * supervised / tokens : 0.0)
      << "% supervised -> " << path;
  return out.str();
}

// GRPO's prompt file for the same problems: {"prompt": ..., "answer": "N"}, N taken from the \boxed{N}
// that ends every demo answer.
void write_prompts_jsonl(const std::string& path, const std::vector<ChatExample>& examples) {
  std::ofstream out(path);
  MEGASFT_CHECK(out.good(), "make-demo-data: cannot write '", path, "'");
  for (const ChatExample& ex : examples) {
    const auto open = ex.answer.rfind("\\boxed{"), close = ex.answer.rfind('}');
    MEGASFT_CHECK(open != std::string::npos && close > open, "demo answer without \\boxed{}: ", ex.answer);
    out << nlohmann::json({{"prompt", ex.prompt}, {"answer", ex.answer.substr(open + 7, close - open - 7)}}).dump()
        << '\n';
  }
  MEGASFT_CHECK(out.good(), "make-demo-data: cannot write '", path, "'");
}

}  // namespace

int make_demo_data_command(const Args& args) {
  std::string output;
  std::string heldout;
  int64_t samples = 4000;
  int64_t heldout_samples = 200;
  uint64_t seed = 1234;
  std::string prompts_jsonl, heldout_prompts_jsonl, rl_prompts_jsonl;
  int64_t rl_prompts = 2000;
  po::options_description desc("megasft make-demo-data options");
  // clang-format off
  desc.add_options()
      ("help,h", "show this help")
      ("output", po::value(&output), "train dataset file to write (.h5), required")
      ("heldout", po::value(&heldout), "held-out dataset file to write (.h5), optional")
      ("samples", po::value(&samples)->default_value(samples), "number of train samples")
      ("heldout-samples", po::value(&heldout_samples)->default_value(heldout_samples),
       "number of held-out samples")
      ("seed", po::value(&seed)->default_value(seed), "generator seed")
      ("prompts-jsonl", po::value(&prompts_jsonl), "also write the train problems as GRPO prompts (JSONL)")
      ("heldout-prompts-jsonl", po::value(&heldout_prompts_jsonl),
       "also write the held-out problems as GRPO prompts (JSONL; needs --heldout)")
      ("rl-prompts-jsonl", po::value(&rl_prompts_jsonl),
       "write fresh problems (in neither split) as GRPO training prompts (JSONL)")
      ("rl-prompts", po::value(&rl_prompts)->default_value(rl_prompts), "number of --rl-prompts-jsonl problems");
  // clang-format on
  const auto vm = parse_command_options(args, desc, "make-demo-data");
  if (vm.count("help") > 0) {
    std::cout << "usage: megasft make-demo-data --output PATH [--heldout PATH] [options]\n" << desc;
    return 0;
  }
  MEGASFT_CHECK(!output.empty(), "make-demo-data: --output PATH is required");
  MEGASFT_CHECK(samples >= 1, "make-demo-data: --samples must be >= 1, got ", samples);
  MEGASFT_CHECK(heldout.empty() || heldout_samples >= 1,
                "make-demo-data: --heldout-samples must be >= 1, got ", heldout_samples);
  MEGASFT_CHECK(heldout.empty() || heldout != output,
                "make-demo-data: --heldout and --output name the same file '", output, "'");

  const data::CharTokenizer tok;
  const std::vector<ChatExample> train = data::generate_arithmetic_problems(seed, samples);
  std::string summary = "make-demo-data: train " + write_split(output, train, tok);
  MEGASFT_CHECK(heldout_prompts_jsonl.empty() || !heldout.empty(), "make-demo-data: --heldout-prompts-jsonl needs --heldout");
  MEGASFT_CHECK(rl_prompts_jsonl.empty() || !heldout.empty(), "make-demo-data: --rl-prompts-jsonl needs --heldout");
  MEGASFT_CHECK(rl_prompts >= 1, "make-demo-data: --rl-prompts must be >= 1, got ", rl_prompts);
  if (!prompts_jsonl.empty()) write_prompts_jsonl(prompts_jsonl, train);
  if (!heldout.empty()) {
    const auto heldout_examples = distinct_problems(seed, kHeldoutStream, heldout_samples, train);
    summary += "; held-out " + write_split(heldout, heldout_examples, tok);
    if (!heldout_prompts_jsonl.empty()) write_prompts_jsonl(heldout_prompts_jsonl, heldout_examples);
    if (!rl_prompts_jsonl.empty()) {
      // RL prompts the SFT model has not memorized, from the same generator as the held-out set.
      auto seen = train;
      seen.insert(seen.end(), heldout_examples.begin(), heldout_examples.end());
      write_prompts_jsonl(rl_prompts_jsonl, distinct_problems(seed, kRlStream, rl_prompts, seen));
      summary += "; " + std::to_string(rl_prompts) + " RL prompts -> " + rl_prompts_jsonl;
    }
  }
  std::cout << summary << std::endl;
  return 0;
}

}  // namespace megasft::cli
