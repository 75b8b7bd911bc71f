// `megasft make-demo-data`: writes the demo arithmetic chat dataset (train and optional held-out)
// in the HDF5 token format, tokenized with the character tokenizer.
#include <boost/program_options.hpp>
#include <cstdint>
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

// Held-out problems come from their own seed stream and exclude any prompt seen in training, so
// evaluation never measures memorization. The stream is a prefix-stable sequence, so asking for
// more candidates keeps the earlier ones and the result is deterministic.
std::vector<ChatExample> heldout_problems(uint64_t seed, int64_t count,
                                          const std::vector<ChatExample>& train) {
  std::unordered_set<std::string> seen;
  for (const ChatExample& ex : train) seen.insert(ex.prompt);
  const uint64_t heldout_seed = data::derive_seed(seed, /*stream=*/0x68656c64);  // "held"
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

}  // namespace

int make_demo_data_command(const Args& args) {
  std::string output;
  std::string heldout;
  int64_t samples = 4000;
  int64_t heldout_samples = 200;
  uint64_t seed = 1234;
  po::options_description desc("megasft make-demo-data options");
  // clang-format off
  desc.add_options()
      ("help,h", "show this help")
      ("output", po::value(&output), "train dataset file to write (.h5), required")
      ("heldout", po::value(&heldout), "held-out dataset file to write (.h5), optional")
      ("samples", po::value(&samples)->default_value(samples), "number of train samples")
      ("heldout-samples", po::value(&heldout_samples)->default_value(heldout_samples),
       "number of held-out samples")
      ("seed", po::value(&seed)->default_value(seed), "generator seed");
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
  if (!heldout.empty()) {
    summary +=
        "; held-out " + write_split(heldout, heldout_problems(seed, heldout_samples, train), tok);
  }
  std::cout << summary << std::endl;
  return 0;
}

}  // namespace megasft::cli
