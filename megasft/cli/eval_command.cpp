// `megasft eval`: math benchmarks sampled K times per problem under any TP x PP x DP layout, graded
// (equivalent mode by default) and summarised as Avg@K and pass@k, the paper's Table 1. Replica d
// takes problems i with i % dp == d; each replica's first rank writes its graded samples to
// OUTPUT/parts, and rank 0 merges them by (benchmark, problem, sample), so the files do not depend
// on the layout. Rank 0 polls for the parts instead of waiting in a collective: replicas can finish
// far apart on long generations, beyond any --dist-timeout. OUTPUT must be shared by every node.
#include <algorithm>
#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <tuple>

#include "kernels/check.h"
#include "megasft/checkpoint/model_source.h"
#include "megasft/cli/command_options.h"
#include "megasft/cli/commands.h"
#include "megasft/eval/eval_results.h"
#include "megasft/eval/math_benchmarks.h"
#include "megasft/rl/chat_codec.h"
#include "megasft/rl/math_grader.h"
#include "megasft/rl/rollout_engine.h"
#include "parallel/parallel_state.h"

namespace megasft::cli {
namespace po = boost::program_options;
namespace fs = std::filesystem;
namespace {

// The recipe's system prompt (docs: objectives.md, "Paper recipe"), which --preset paper also sets.
constexpr const char* kPaperSystemPrompt =
    "Please reason step by step, and put your final answer within \\boxed{}.";

struct Benchmark {
  eval::BenchmarkSpec spec;
  std::vector<eval::MathProblem> problems;
  int64_t samples = 1;
  double temperature = 1.0;
  std::vector<std::vector<int32_t>> prompts;  // encoded, one per problem
};

// The random stream of a sample, from what it is rather than where it runs: the benchmark's name (a
// 24-bit FNV-1a hash), the problem and the sample. Two names sharing a hash only correlate the
// noise of different prompts.
int64_t sample_id(const std::string& benchmark, int64_t problem, int64_t sample) {
  uint64_t hash = 1469598103934665603ull;
  for (unsigned char c : benchmark) hash = (hash ^ c) * 1099511628211ull;
  return static_cast<int64_t>(((hash & 0xFFFFFFull) << 36) |
                              (static_cast<uint64_t>(problem) << 12) |
                              static_cast<uint64_t>(sample));
}
constexpr int64_t kMaxProblems = int64_t{1} << 24, kMaxSamples = int64_t{1} << 12;

std::string clock_text(double seconds) {
  const auto s = static_cast<int64_t>(std::max(0.0, seconds));
  char text[32];
  std::snprintf(text, sizeof(text), "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  return text;
}

// Rank 0's view of its own replica: the others run at about the same pace, so its ETA is the job's.
class Progress {
 public:
  Progress(int64_t total_sequences, int dp) : total_(total_sequences), dp_(dp) {}
  void add(const std::string& benchmark, int64_t problems_done, int64_t problems_mine,
           int64_t sequences, int64_t tokens) {
    done_ += sequences;
    tokens_ += tokens;
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    if (elapsed - last_ < 10 && problems_done < problems_mine) return;
    last_ = elapsed;
    const double eta =
        done_ > 0 ? elapsed / static_cast<double>(done_) * static_cast<double>(total_ - done_) : 0;
    std::cerr << "megasft eval: " << benchmark << " " << problems_done << "/" << problems_mine
              << " problems on replica 0 of " << dp_ << ", " << done_ << "/" << total_
              << " samples, "
              << static_cast<int64_t>(static_cast<double>(tokens_) / std::max(elapsed, 1e-9))
              << " tok/s per replica, elapsed " << clock_text(elapsed) << ", ETA "
              << clock_text(eta) << std::endl;
  }

 private:
  int64_t total_, done_ = 0, tokens_ = 0;
  int dp_;
  double last_ = -1e9;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

std::string part_path(const std::string& output, int replica) {
  return (fs::path(output) / "parts" / ("replica-" + std::to_string(replica) + ".jsonl")).string();
}

// Rank 0: every replica's part, read once its writer has renamed it into place.
std::vector<eval::SampleResult> gather_parts(const std::string& output, int dp) {
  std::vector<eval::SampleResult> rows;
  auto last_note = std::chrono::steady_clock::now();
  for (int d = 0; d < dp; ++d) {
    const auto path = part_path(output, d);
    while (!fs::exists(path)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      if (std::chrono::steady_clock::now() - last_note > std::chrono::minutes(1)) {
        last_note = std::chrono::steady_clock::now();
        std::cerr << "megasft eval: waiting for replica " << d << " of " << dp << " (" << path
                  << "; --output must be on a file system every node shares)" << std::endl;
      }
    }
    auto part = eval::read_sample_rows(path);
    rows.insert(rows.end(), std::make_move_iterator(part.begin()),
                std::make_move_iterator(part.end()));
  }
  return rows;
}

struct EvalOptions {
  std::string model, output, preset, tokenizer, chat_template, date_string;
  std::string grading = "equivalent", params_dtype = "fp32";
  std::optional<std::string> system_prompt;
  std::vector<std::string> benchmarks;
  int64_t samples = 1, limit = 0, seed = 0;
  double temperature = 1.0, timeout_s = 300;
  bool samples_given = false;  // --samples or --temperature on the command line
  int tp = 1, pp = 1;
  rl::GenerationOptions generation;
  bool help = false;
};

EvalOptions parse_eval_options(const Args& args) {
  EvalOptions o;
  std::string system_prompt;
  auto& g = o.generation;
  po::options_description d("megasft eval");
  // clang-format off
  d.add_options()
      ("help,h", po::bool_switch(&o.help), "print this help")
      ("model", po::value(&o.model), "Hugging Face folder or megasft checkpoint (root or iter_N)")
      ("benchmark", po::value(&o.benchmarks)->composing(),
       "NAME=FILE.jsonl in Qwen2.5-Math's layout (aime24 aime25 amc23 gsm8k math math500 gaokao2023en "
       "olympiadbench college_math), or LOADER:NAME=FILE for a file of another benchmark in a known "
       "layout (generic: question/problem and answer); repeatable")
      ("output", po::value(&o.output), "folder for samples.jsonl, results.json, results.md")
      ("preset", po::value(&o.preset), "paper: 8 samples at T 0.7 on aime24/aime25/amc23, 1 at T 1.0 "
       "elsewhere, and the recipe's system prompt unless --system-prompt is given")
      ("samples", po::value(&o.samples)->default_value(o.samples), "samples per problem (K of Avg@K, pass@k)")
      ("temperature", po::value(&o.temperature)->default_value(o.temperature), "0: greedy")
      ("top-p", po::value(&g.sampling.top_p)->default_value(g.sampling.top_p), "nucleus mass (1: off)")
      ("top-k", po::value(&g.sampling.top_k)->default_value(g.sampling.top_k), "0: off")
      ("max-new-tokens", po::value(&g.max_new_tokens)->default_value(g.max_new_tokens), "response length limit")
      ("max-prompt-tokens", po::value(&g.max_prompt_tokens)->default_value(g.max_prompt_tokens),
       "a longer prompt is an error (never truncated)")
      ("generation-batch-size", po::value(&g.batch_size)->default_value(g.batch_size),
       "sequences decoded together per data-parallel replica")
      ("grading", po::value(&o.grading)->default_value(o.grading), "equivalent | strict")
      ("tokenizer", po::value(&o.tokenizer), "folder with tokenizer.json, or `char` (demo); default: the model's")
      ("template", po::value(&o.chat_template), "llama3 | llama3.1 | qwen2 (default: from the model)")
      ("system-prompt", po::value(&system_prompt), "system turn of every prompt (default: the template's)")
      ("date-string", po::value(&o.date_string), "llama3.1's Today Date line")
      ("params-dtype", po::value(&o.params_dtype)->default_value(o.params_dtype), "fp32 | bf16")
      ("seed", po::value(&o.seed)->default_value(o.seed), "seed of sampling")
      ("limit", po::value(&o.limit)->default_value(o.limit), "first N problems of each benchmark (0: all)")
      ("tp", po::value(&o.tp)->default_value(o.tp), "tensor-parallel size")
      ("pp", po::value(&o.pp)->default_value(o.pp), "pipeline-parallel size (data parallelism takes the rest)")
      ("dist-timeout", po::value(&o.timeout_s)->default_value(o.timeout_s), "seconds before a collective is hung");
  // clang-format on
  const auto vm = parse_command_options(args, d, "eval");
  if (o.help) {
    std::cout << "usage: [megasft-run --nproc-per-node N] megasft eval --model DIR --benchmark "
                 "NAME=FILE.jsonl "
                 "[--benchmark ...] --output DIR [--preset paper]\n"
              << d;
    return o;
  }
  if (vm.count("system-prompt")) o.system_prompt = system_prompt;
  o.samples_given = !vm["samples"].defaulted() || !vm["temperature"].defaulted();
  MEGASFT_CHECK(!o.model.empty() && !o.output.empty() && !o.benchmarks.empty(),
                "megasft eval needs --model, --output and at least one --benchmark NAME=FILE");
  MEGASFT_CHECK(o.preset.empty() || o.preset == "paper", "--preset '", o.preset,
                "' is unknown; the one preset is 'paper'");
  MEGASFT_CHECK(
      o.preset.empty() || !o.samples_given,
      "--preset paper sets --samples and --temperature per benchmark; drop them or the preset");
  MEGASFT_CHECK(o.samples >= 1 && o.samples < kMaxSamples, "--samples must be in 1..",
                kMaxSamples - 1, ", got ", o.samples);
  MEGASFT_CHECK(o.temperature > 0 || o.samples == 1, "--temperature 0 (greedy) with --samples ",
                o.samples, " would give identical samples");
  MEGASFT_CHECK(o.limit >= 0, "--limit must be >= 0, got ", o.limit);
  MEGASFT_CHECK(o.tp >= 1 && o.pp >= 1, "--tp and --pp must be >= 1, got ", o.tp, " and ", o.pp);
  MEGASFT_CHECK(o.params_dtype == "fp32" || o.params_dtype == "bf16", "--params-dtype '",
                o.params_dtype, "' is not fp32 or bf16");
  rl::parse_grading_mode(o.grading);  // throws on an unknown mode
  return o;
}

// Every benchmark read, cut to --limit and given its samples and temperature, before any model is
// loaded, so a bad file fails in seconds.
std::vector<Benchmark> load_benchmarks(const EvalOptions& o) {
  std::vector<Benchmark> benchmarks;
  for (const auto& text : o.benchmarks) {
    Benchmark b;
    b.spec = eval::parse_benchmark_spec(text);
    for (const auto& other : benchmarks)
      MEGASFT_CHECK(other.spec.name != b.spec.name, "--benchmark ", b.spec.name, " is given twice");
    b.problems = eval::load_math_benchmark(b.spec.loader, b.spec.path);
    if (o.limit > 0 && static_cast<int64_t>(b.problems.size()) > o.limit)
      b.problems.resize(static_cast<size_t>(o.limit));
    MEGASFT_CHECK(static_cast<int64_t>(b.problems.size()) < kMaxProblems, b.spec.path,
                  ": more than ", kMaxProblems, " problems");
    const auto setting = o.preset.empty() ? eval::SamplingPreset{o.samples, o.temperature}
                                          : eval::paper_preset(b.spec.name);
    b.samples = setting.samples;
    b.temperature = setting.temperature;
    auto sampling = o.generation.sampling;
    sampling.temperature = b.temperature;
    sampling.validate();
    benchmarks.push_back(std::move(b));
  }
  return benchmarks;
}

// This replica's share (problem i of every benchmark when i % dp == dp_rank), generated and, on the
// replica's writer rank, decoded and graded.
std::vector<eval::SampleResult> evaluate_share(const model::LlamaModel& model,
                                               const parallel::ParallelState& state,
                                               const rl::ChatCodec& codec,
                                               const std::vector<Benchmark>& benchmarks,
                                               const rl::GenerationOptions& generation,
                                               rl::GradingMode grading) {
  const auto dp = static_cast<size_t>(state.layout().dp);
  const bool writer = state.tp_rank() == 0 && state.pp_rank() == 0;
  int64_t my_sequences = 0;
  for (const auto& b : benchmarks)
    for (size_t i = static_cast<size_t>(state.dp_rank()); i < b.problems.size(); i += dp)
      my_sequences += b.samples;
  Progress progress(my_sequences, state.layout().dp);
  std::vector<eval::SampleResult> rows;
  for (const auto& b : benchmarks) {
    auto options = generation;
    options.sampling.temperature = b.temperature;
    std::vector<size_t> mine;
    for (size_t i = static_cast<size_t>(state.dp_rank()); i < b.problems.size(); i += dp)
      mine.push_back(i);
    // Whole problems per call, about one decode batch, so progress is reported as problems finish.
    const auto K = static_cast<size_t>(b.samples);
    const size_t chunk = std::max<size_t>(1, static_cast<size_t>(generation.batch_size) / K);
    for (size_t begin = 0; begin < mine.size(); begin += chunk) {
      const size_t end = std::min(mine.size(), begin + chunk);
      std::vector<std::vector<int32_t>> prompts;
      std::vector<int64_t> ids;
      for (size_t k = begin; k < end; ++k)
        for (size_t s = 0; s < K; ++s) {
          prompts.push_back(b.prompts[mine[k]]);
          ids.push_back(
              sample_id(b.spec.name, static_cast<int64_t>(mine[k]), static_cast<int64_t>(s)));
        }
      const auto rollouts = rl::generate(model, state, prompts, ids, options);
      int64_t tokens = 0;
      for (size_t r = 0; r < rollouts.size(); ++r) {
        tokens += static_cast<int64_t>(rollouts[r].response.size());
        if (!writer) continue;
        const size_t index = mine[begin + r / K];
        const auto& problem = b.problems[index];
        eval::SampleResult row;
        row.benchmark = b.spec.name;
        row.problem_index = static_cast<int64_t>(index);
        row.problem_id = problem.id;
        row.prompt = problem.question;
        row.sample_index = static_cast<int64_t>(r % K);
        row.response = codec.decode(rollouts[r].response);
        const auto grade = rl::grade_response(row.response, problem.answer, grading);
        row.extracted = grade.extracted;
        row.correct = !problem.answer.empty() && grade.correct;  // an empty gold matches nothing
        row.gold = problem.answer;
        row.stopped = rollouts[r].stopped;
        row.response_tokens = static_cast<int64_t>(rollouts[r].response.size());
        rows.push_back(std::move(row));
      }
      if (state.is_first_rank())
        progress.add(b.spec.name, static_cast<int64_t>(end), static_cast<int64_t>(mine.size()),
                     static_cast<int64_t>(rollouts.size()), tokens);
    }
  }
  return rows;
}

// Rank 0: every replica's rows in (benchmark, problem, sample) order, the table, and the files.
void write_results(const EvalOptions& o, const std::vector<Benchmark>& benchmarks, int dp,
                   const nlohmann::json& settings) {
  auto all = gather_parts(o.output, dp);
  const auto position = [&](const std::string& name) {
    return std::find_if(benchmarks.begin(), benchmarks.end(),
                        [&](const Benchmark& b) { return b.spec.name == name; }) -
           benchmarks.begin();
  };
  std::sort(all.begin(), all.end(), [&](const eval::SampleResult& x, const eval::SampleResult& y) {
    return std::make_tuple(position(x.benchmark), x.problem_index, x.sample_index) <
           std::make_tuple(position(y.benchmark), y.problem_index, y.sample_index);
  });
  eval::EvalReport report;
  report.model = o.model;
  report.grading = rl::grading_mode_name(rl::parse_grading_mode(o.grading));
  for (const auto& b : benchmarks)
    report.benchmarks.push_back(eval::summarize_benchmark(
        b.spec.name, static_cast<int64_t>(b.problems.size()), b.samples, b.temperature, all));
  eval::write_sample_rows((fs::path(o.output) / "samples.jsonl").string(), all);
  eval::write_eval_report(o.output, report);
  std::ofstream(fs::path(o.output) / "eval_settings.json") << settings.dump(2) << "\n";
  fs::remove_all(fs::path(o.output) / "parts");
  std::cout << eval::results_markdown(report) << std::flush;
  std::cerr << "megasft eval: " << all.size() << " samples -> " << o.output
            << "/samples.jsonl, results.json, results.md" << std::endl;
}

}  // namespace

int eval_command(const Args& args) {
  auto o = parse_eval_options(args);
  if (o.help) return 0;
  auto benchmarks = load_benchmarks(o);

  auto env = parallel::DistributedEnv::from_environment();
  auto state = parallel::ParallelState::initialize(
      env, o.tp, o.pp, std::chrono::milliseconds(static_cast<int64_t>(o.timeout_s * 1000)));
  const auto source = checkpoint::resolve_model_source(o.model);
  const auto model_ptr = checkpoint::load_model(source, *state, o.params_dtype);
  const auto& model = *model_ptr;

  rl::ChatCodecOptions codec_options;
  codec_options.tokenizer = checkpoint::resolve_tokenizer(o.tokenizer, source);
  codec_options.chat_template = o.chat_template;
  if (!o.date_string.empty()) codec_options.date_string = o.date_string;
  const bool demo_format = codec_options.tokenizer == "char";
  MEGASFT_CHECK(!demo_format || !o.system_prompt,
                "--system-prompt: the demo's character format has no system turn");
  codec_options.system_prompt = o.system_prompt;
  if (!o.system_prompt && !o.preset.empty() && !demo_format)
    codec_options.system_prompt = kPaperSystemPrompt;
  const auto codec = rl::make_chat_codec(codec_options, source.config);
  auto generation = o.generation;
  generation.seed = static_cast<uint64_t>(o.seed);
  generation.stop_ids = codec->stop_ids();
  generation.pad_id = codec->pad_id();
  generation.vocab_limit = codec->vocab_size();  // never sample a head row the tokenizer cannot decode
  for (auto& b : benchmarks)
    for (const auto& problem : b.problems) {
      b.prompts.push_back(codec->encode_prompt({{"user", problem.question}}));
      MEGASFT_CHECK(static_cast<int64_t>(b.prompts.back().size()) <= generation.max_prompt_tokens,
                    b.spec.path, ":", problem.line, ": the prompt has ", b.prompts.back().size(),
                    " tokens, more than --max-prompt-tokens ", generation.max_prompt_tokens);
    }

  // Stale parts of an earlier run must go before any replica can write a new one.
  if (state->is_first_rank()) {
    fs::remove_all(fs::path(o.output) / "parts");
    fs::create_directories(fs::path(o.output) / "parts");
    std::cerr << "megasft eval: " << o.model << " (" << source.config.architecture << "), "
              << codec->describe() << ", layout " << state->layout().to_string() << ", grading "
              << o.grading << "\n";
    for (const auto& b : benchmarks) {
      const auto empty = std::count_if(b.problems.begin(), b.problems.end(),
                                       [](const auto& p) { return p.answer.empty(); });
      std::cerr << "  " << b.spec.name << ": " << b.problems.size() << " problems from "
                << b.spec.path << ", " << b.samples << " sample(s) at temperature "
                << b.temperature;
      if (empty > 0) std::cerr << " (" << empty << " without a gold answer count as unsolved)";
      std::cerr << "\n";
    }
  }
  state->world()->barrier();

  const auto rows = evaluate_share(model, *state, *codec, benchmarks, generation,
                                   rl::parse_grading_mode(o.grading));
  if (state->tp_rank() == 0 && state->pp_rank() == 0)
    eval::write_sample_rows(part_path(o.output, state->dp_rank()), rows);
  if (!state->is_first_rank()) return 0;  // no collective follows: replicas may finish far apart

  const nlohmann::json settings = {
      {"model", o.model},
      {"codec", codec->describe()},
      {"system_prompt",
       codec_options.system_prompt ? nlohmann::json(*codec_options.system_prompt) : nullptr},
      {"layout", state->layout().to_string()},
      {"params_dtype", o.params_dtype},
      {"seed", o.seed},
      {"top_p", generation.sampling.top_p},
      {"top_k", generation.sampling.top_k},
      {"max_new_tokens", generation.max_new_tokens},
      {"preset", o.preset},
      {"limit", o.limit}};
  write_results(o, benchmarks, state->layout().dp, settings);
  return 0;
}

}  // namespace megasft::cli
