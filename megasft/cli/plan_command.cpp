// `megasft plan`: which layout to book for a model on N nodes, from a memory model and a time model
// of megasft itself; `--dry-run TP,PP,DP` builds the real model's shards on the meta device and
// counts them.
#include <boost/program_options.hpp>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "kernels/check.h"
#include "megasft/cli/commands.h"
#include "megasft/plan/dry_run.h"
#include "megasft/plan/layout_search.h"
#include "megasft/plan/model_source.h"
#include "megasft/plan/plan_report.h"

namespace megasft::cli {
namespace po = boost::program_options;
namespace {

template <typename T>
std::vector<T> parse_list(const std::string& text, const char* option) {
  std::vector<T> values;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    try {
      size_t used = 0;
      const long long v = std::stoll(item, &used);
      MEGASFT_CHECK(used == item.size() && v >= 1, "");
      values.push_back(static_cast<T>(v));
    } catch (const std::exception&) {
      MEGASFT_FAIL("--", option, " '", text, "': '", item, "' is not a positive integer");
    }
  }
  MEGASFT_CHECK(!values.empty(), "--", option, " '", text, "' lists nothing");
  return values;
}

std::vector<bool> parse_switch(const std::string& text, const char* option) {
  if (text == "both") return {false, true};
  if (text == "true") return {true};
  if (text == "false") return {false};
  MEGASFT_FAIL("--", option, " '", text, "' must be both, true or false");
}

// --cluster.KEY VALUE (or --cluster.KEY=VALUE) overrides a key of the cluster file; the rest goes
// to Boost.
Args take_cluster_overrides(const Args& args, std::map<std::string, std::string>& overrides) {
  Args rest;
  const std::string prefix = "--cluster.";
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i].rfind(prefix, 0) != 0) {
      rest.push_back(args[i]);
      continue;
    }
    std::string key = args[i].substr(prefix.size()), value;
    if (const auto eq = key.find('='); eq != std::string::npos) {
      value = key.substr(eq + 1);
      key = key.substr(0, eq);
    } else {
      MEGASFT_CHECK(i + 1 < args.size(), args[i], " needs a value");
      value = args[++i];
    }
    overrides[key] = value;
  }
  return rest;
}

}  // namespace

int plan_command(const Args& all_args) {
  std::map<std::string, std::string> cluster_overrides;
  const Args args = take_cluster_overrides(all_args, cluster_overrides);
  plan::PlanRequest request;
  auto& o = request.options;
  std::string model_path, cluster_path, json_path, dry_run, micro_batches = "1,2,4,8", tp_list,
                                                            pp_list;
  std::string recompute = "both", sequence_parallel = "both";
  int top = 5;
  bool help = false;
  po::options_description description("megasft plan");
  description.add_options()("help,h", po::bool_switch(&help), "print this help")(
      "model", po::value(&model_path),
      "config.json, or a config file with a [model] section (configs/models/*.cfg)")(
      "cluster", po::value(&cluster_path),
      "cluster file (configs/clusters/*.cfg); --cluster.KEY VALUE overrides a key")(
      "nodes", po::value(&request.nodes)->default_value(1), "nodes")(
      "seq-len", po::value(&o.seq_len)->default_value(o.seq_len), "tokens per sequence")(
      "global-batch", po::value(&o.global_batch)->default_value(o.global_batch),
      "sequences per optimizer step")("micro-batch",
                                      po::value(&micro_batches)->default_value(micro_batches),
                                      "micro-batch sizes to try")(
      "tp", po::value(&tp_list),
      "TP sizes to try (default: every divisor of the GPUs up to two nodes' worth)")(
      "pp", po::value(&pp_list), "PP sizes to try (default: every divisor of GPUs / TP)")(
      "recompute", po::value(&recompute)->default_value(recompute), "both | true | false")(
      "sequence-parallel", po::value(&sequence_parallel)->default_value(sequence_parallel),
      "both | true | false (tried only with TP > 1)")(
      "params-dtype", po::value(&o.params_dtype)->default_value(o.params_dtype),
      "bf16 | fp32, as megasft train's")(
      "objective", po::value(&o.objective)->default_value(o.objective),
      "ce | sed | sed-nomask | gem | dft")("top-k", po::value(&o.top_k)->default_value(o.top_k),
                                           "SED's k (the head all-gathers k + 1 floats per token)")(
      "loss-chunk-tokens", po::value(&o.loss_chunk_tokens)->default_value(o.loss_chunk_tokens),
      "tokens per chunk of the fused LM head + objective")(
      "grad-bucket-mb", po::value(&o.grad_bucket_mb)->default_value(o.grad_bucket_mb),
      "gradient bucket size (MiB)")("headroom", po::value(&o.headroom)->default_value(o.headroom),
                                    "fraction of GPU memory left unplanned")(
      "dp-overlap", po::value(&o.dp_overlap)->default_value(o.dp_overlap),
      "fraction of the DP reduce-scatter/all-gather hidden behind compute (megasft today: 0)")(
      "top", po::value(&top)->default_value(top), "layouts to show")(
      "json", po::value(&json_path),
      "write every layout, its breakdown and the rejections as JSON")(
      "dry-run", po::value(&dry_run),
      "TP,PP,DP: build one rank's shard of each stage on the meta device and count it");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(description).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    MEGASFT_FAIL("megasft plan: ", e.what(), " (see megasft plan --help)");
  }
  if (help) {
    std::cout << "usage: megasft plan --model FILE --cluster FILE --nodes N --seq-len S "
                 "--global-batch B [options]\n"
              << "       megasft plan --model FILE --dry-run TP,PP,DP [--params-dtype bf16]\n"
              << description;
    return 0;
  }
  MEGASFT_CHECK(!model_path.empty(),
                "megasft plan: --model is required (config.json or configs/models/*.cfg)");
  MEGASFT_CHECK(o.params_dtype == "bf16" || o.params_dtype == "fp32", "--params-dtype '",
                o.params_dtype, "' must be bf16 or fp32");
  MEGASFT_CHECK(o.objective == "ce" || o.objective == "sed" || o.objective == "sed-nomask" ||
                    o.objective == "gem" || o.objective == "dft",
                "--objective '", o.objective, "' must be ce, sed, sed-nomask, gem or dft");
  MEGASFT_CHECK(o.top_k >= 1 && o.loss_chunk_tokens >= 1 && o.grad_bucket_mb > 0, "--top-k ",
                o.top_k, ", --loss-chunk-tokens ", o.loss_chunk_tokens, " and --grad-bucket-mb ",
                o.grad_bucket_mb, " must be positive");
  MEGASFT_CHECK(o.headroom >= 0 && o.headroom < 1, "--headroom must be in [0, 1), got ",
                o.headroom);
  MEGASFT_CHECK(o.dp_overlap >= 0 && o.dp_overlap <= 1, "--dp-overlap must be in [0, 1], got ",
                o.dp_overlap);
  MEGASFT_CHECK(top >= 1, "--top must be positive, got ", top);
  request.model = plan::read_model_source(model_path);

  if (!dry_run.empty()) {
    const auto layout = plan::parse_layout(dry_run, request.model.num_layers);
    const auto dtype = o.params_dtype == "bf16" ? at::kBFloat16 : at::kFloat;
    const auto stages = plan::dry_run(request.model, layout, dtype);
    std::vector<int64_t> planned;
    bool match = true;
    for (const auto& s : stages) {
      planned.push_back(
          plan::total_numel(plan::stage_parameters(request.model, layout.tp, s.range)));
      match = match && planned.back() == s.elements;
    }
    std::cout << plan::format_dry_run(layout, stages, planned, o.params_dtype);
    return match ? 0 : 1;
  }

  MEGASFT_CHECK(!cluster_path.empty(),
                "megasft plan: --cluster is required (configs/clusters/*.cfg)");
  request.cluster = plan::read_cluster_file(cluster_path, cluster_overrides);
  request.micro_batches = parse_list<int64_t>(micro_batches, "micro-batch");
  if (!tp_list.empty()) request.tp_sizes = parse_list<int>(tp_list, "tp");
  if (!pp_list.empty()) request.pp_sizes = parse_list<int>(pp_list, "pp");
  request.recompute = parse_switch(recompute, "recompute");
  request.sequence_parallel = parse_switch(sequence_parallel, "sequence-parallel");

  const auto result = plan::plan_layouts(request);
  std::cout << plan::format_plan(request, result, top);
  if (!json_path.empty()) {
    std::ofstream out(json_path);
    out << plan::plan_json(request, result).dump(2) << '\n';
    MEGASFT_CHECK(out.good(), "cannot write --json '", json_path, "'");
    std::cout << "\nwrote " << json_path << "\n";
  }
  return result.feasible.empty() ? 1 : 0;
}

}  // namespace megasft::cli
