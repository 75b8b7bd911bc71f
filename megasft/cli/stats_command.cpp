// `megasft stats`: per-token target probabilities and top-k probability sums of a Hugging Face
// model on a token dataset, vocab-parallel under megasft-run (--nproc-per-node = TP), written to
// HDF5 with a summary, and the paper's Figures 2 and 3 as PNG and SVG (--plots).
#include <boost/program_options.hpp>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <optional>
#include <sstream>

#include "kernels/check.h"
#include "megasft/checkpoint/hf_import.h"
#include "megasft/cli/command_options.h"
#include "megasft/cli/commands.h"
#include "megasft/data/bpe_tokenizer.h"
#include "megasft/eval/stats_figures.h"
#include "megasft/eval/topk_statistics.h"
#include "megasft/model/hf_config.h"
#include "parallel/parallel_state.h"

namespace megasft::cli {
namespace po = boost::program_options;
namespace {

constexpr const char* kPlotsBesideOutput = "<output>_plots";

std::vector<int> parse_k_list(const std::string& list) {
  std::vector<int> ks;
  std::stringstream in(list);
  for (std::string item; std::getline(in, item, ',');) {
    try {
      size_t used = 0;
      ks.push_back(std::stoi(item, &used));
      MEGASFT_CHECK(used == item.size() && ks.back() >= 1, "");
    } catch (const std::exception&) {
      MEGASFT_FAIL("--top-k '", list, "': '", item, "' is not a positive integer");
    }
  }
  MEGASFT_CHECK(!ks.empty(), "--top-k '", list, "' lists no k");
  std::sort(ks.begin(), ks.end());
  ks.erase(std::unique(ks.begin(), ks.end()), ks.end());
  return ks;
}

// --plots alone puts the figures beside the output, in <output without extension>_plots/.
std::string resolve_plots_dir(const std::string& plots, const std::string& output) {
  if (plots != kPlotsBesideOutput) return plots;
  return std::filesystem::path(output).replace_extension("").string() + "_plots";
}

}  // namespace

int stats_command(const Args& args) {
  std::string model_dir, data_path, output, top_k = "1,2,3,5,10", plots;
  int tp = 0;
  double timeout_s = 300;
  bool help = false, plot_token_text = true;
  eval::TopkStatisticsOptions options;
  eval::StatsFigureOptions figure_options;
  int64_t divisible_by = model::ModelConfig{}.make_vocab_size_divisible_by;
  po::options_description description("megasft stats");
  description.add_options()("help,h", po::bool_switch(&help), "print this help")(
      "model", po::value(&model_dir), "Hugging Face model folder (config.json + safetensors)")(
      "data", po::value(&data_path), "megasft-tokens HDF5 dataset")(
      "output", po::value(&output),
      "HDF5 to write: p_target, topk_sum, k, sample_offsets, target, supervised, position")(
      "top-k", po::value(&top_k)->default_value(top_k),
      "comma-separated k of the cumulative top-k probabilities (with --plots, 1..10 are added)")(
      "plots", po::value(&plots)->implicit_value(kPlotsBesideOutput),
      "also draw topk_cumulative.{png,svg} (Figure 3) and target_probability_heatmap.{png,svg} "
      "(Figure 2) into this folder; --plots alone: <output without .h5>_plots beside the output")(
      "plot-samples",
      po::value(&figure_options.heatmap_samples)->default_value(figure_options.heatmap_samples),
      "heatmap rows: the first samples with a supervised token")(
      "plot-positions",
      po::value(&figure_options.heatmap_positions)->default_value(figure_options.heatmap_positions),
      "heatmap columns: positions from each sample's first supervised token")(
      "plot-token-text", po::value(&plot_token_text)->default_value(plot_token_text),
      "write each token's text in the heatmap, decoded with the model folder's tokenizer.json when "
      "it has one")(
      "max-samples", po::value(&options.max_samples)->default_value(0),
      "rows of the dataset to use (0: all)")(
      "max-length", po::value(&options.max_length)->default_value(0),
      "longest sequence run at once; longer ones are cut and the cut positions counted (0: "
      "max_position_embeddings)")(
      "chunk-tokens", po::value(&options.chunk_tokens)->default_value(options.chunk_tokens),
      "positions per logits chunk")("tp", po::value(&tp)->default_value(0),
                                    "tensor-parallel size (0: every rank megasft-run started)")(
      "make-vocab-size-divisible-by", po::value(&divisible_by)->default_value(divisible_by),
      "pad the vocabulary to a multiple of this times tp (padding is excluded from every "
      "statistic)")("dist-timeout", po::value(&timeout_s)->default_value(timeout_s),
                    "seconds before a collective is hung");
  const auto vm = parse_command_options(args, description, "stats");
  if (help) {
    std::cout << "usage: megasft-run --nproc-per-node TP megasft stats --model DIR --data FILE.h5 "
                 "--output FILE.h5\n"
              << description;
    return 0;
  }
  MEGASFT_CHECK(!model_dir.empty() && !data_path.empty() && !output.empty(),
                "megasft stats needs --model, --data and --output");
  MEGASFT_CHECK(options.chunk_tokens > 0, "--chunk-tokens must be positive, got ",
                options.chunk_tokens);
  MEGASFT_CHECK(options.max_samples >= 0 && options.max_length >= 0,
                "--max-samples and --max-length must be >= 0");
  options.top_k = parse_k_list(top_k);
  const std::string plots_dir = resolve_plots_dir(plots, output);
  if (!plots_dir.empty()) {
    options.top_k = eval::with_plotted_k(options.top_k);
    MEGASFT_CHECK(figure_options.heatmap_samples > 0 && figure_options.heatmap_positions > 0,
                  "--plot-samples (", figure_options.heatmap_samples, ") and --plot-positions (",
                  figure_options.heatmap_positions, ") must be positive");
  }
  // Loaded before the long computation, on every rank, so a tokenizer it cannot read fails at once.
  std::optional<data::BpeTokenizer> tokenizer;
  const std::string tokenizer_path = model_dir + "/tokenizer.json";
  if (!plots_dir.empty() && plot_token_text && std::filesystem::exists(tokenizer_path))
    tokenizer = data::BpeTokenizer::from_file(tokenizer_path);

  auto env = parallel::DistributedEnv::from_environment();
  const int tp_size = tp > 0 ? tp : env.world_size;
  auto state = parallel::ParallelState::initialize(
      env, tp_size, /*pp=*/1, std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000)));
  MEGASFT_CHECK(state->layout().dp == 1, "megasft stats runs one model replica: start --tp (",
                tp_size, ") processes, not ", state->world_size());
  auto config = model::read_hf_config(model_dir + "/config.json");
  config.make_vocab_size_divisible_by = divisible_by;
  model::LlamaModel model(config, state->tensor());
  checkpoint::load_hf_weights(model, checkpoint::HfCheckpoint(model_dir));
  auto data = data::TokenDataset::open(data_path);
  const auto start = std::chrono::steady_clock::now();
  auto stats = eval::compute_topk_statistics(model, data, options);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (state->is_first_rank()) {
    eval::write_topk_statistics(output, stats, model_dir, data_path);
    std::cout << "megasft stats: " << config.architecture << " from " << model_dir << ", tp "
              << tp_size << ", " << seconds << " s -> " << output << "\n"
              << eval::summarize_topk_statistics(stats, {0.5, 0.6, 0.7, 0.8, 0.9}) << std::flush;
    if (!plots_dir.empty()) {
      eval::StatsFigureData figure_data{stats.k, stats.topk_sum, stats.p_target, stats.supervised,
                                        stats.sample_offsets, stats.target, {}};
      if (tokenizer)
        figure_data.token_text = [&](int32_t id) { return tokenizer->decode_bytes({&id, 1}); };
      for (const auto& path : eval::write_stats_figures(plots_dir, figure_data, figure_options))
        std::cout << "megasft stats: figure " << path << "\n";
    }
  }
  return 0;
}

}  // namespace megasft::cli
