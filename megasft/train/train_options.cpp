// Boost.Program_options description of the training options. Values from the command line are stored
// first, so the config file only fills in what the command line left unset.
#include "megasft/train/train_options.h"

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

#include "kernels/check.h"
#include "megasft/checkpoint/hf_export.h"
#include "megasft/model/hf_config.h"
#include "megasft/objectives/objective_program_options.h"
#include "megasft/train/config_options.h"

namespace megasft::train {
namespace po = boost::program_options;

namespace {

po::options_description describe(TrainOptions& o, const objectives::ObjectiveProgramOptions& objective,
                                 bool& help) {
  po::options_description run("Run");
  run.add_options()
      ("help,h", po::bool_switch(&help), "print this help")
      ("config", po::value(&o.config_path), "config file (INI: key = value, [model] section)")
      ("run-dir", po::value(&o.run_dir)->default_value(o.run_dir), "where metrics and metadata go")
      ("train-data", po::value(&o.train_data), "HDF5 token dataset to train on")
      ("model-dir", po::value(&o.model_dir), "Hugging Face model folder to start from (replaces the [model] keys)")
      ("save-hf", po::value(&o.save_hf_dir), "export the trained model to this Hugging Face folder at the end")
      ("save-hf-dtype", po::value(&o.save_hf_dtype)->default_value(o.save_hf_dtype), "bf16 | fp16 | fp32 for --save-hf")
      ("tp", po::value(&o.tp)->default_value(o.tp), "tensor-parallel size")
      ("pp", po::value(&o.pp)->default_value(o.pp), "pipeline-parallel size (data parallelism takes the rest)")
      ("pipeline-layers", po::value<std::string>(), "decoder layers per pipeline stage, e.g. 3,5 (default: even)")
      ("recompute", po::value(&o.recompute)->default_value(o.recompute), "recompute layer activations in backward")
      ("sequence-parallel", po::value(&o.sequence_parallel)->default_value(o.sequence_parallel),
       "split norm and residual activations along the sequence over TP (needs seq-length % tp == 0)")
      ("params-dtype", po::value(&o.params_dtype)->default_value(o.params_dtype),
       "fp32 | bf16 parameters and activations (fp32 master weights and gradient accumulation)")
      ("seed", po::value(&o.seed)->default_value(o.seed), "seed of initialisation and data order")
      ("max-steps", po::value(&o.max_steps)->default_value(o.max_steps), "optimizer steps")
      ("seq-length", po::value(&o.seq_length)->default_value(o.seq_length), "tokens per sequence")
      ("micro-batch-size", po::value(&o.micro_batch_size)->default_value(o.micro_batch_size),
       "sequences per micro-batch per data-parallel rank")
      ("global-batch-size", po::value(&o.global_batch_size)->default_value(o.global_batch_size),
       "sequences per step over all data-parallel ranks (0: one micro-batch per rank)")
      ("save", po::value(&o.save_dir), "checkpoint root to save to")
      ("save-interval", po::value(&o.save_interval)->default_value(o.save_interval),
       "save every N steps (0: only at the end); the last step is always saved")
      ("keep", po::value(&o.keep)->default_value(o.keep), "completed checkpoints to keep under --save")
      ("load", po::value(&o.load_dir), "checkpoint to start from: a root (its latest) or an iter_N directory")
      ("resume", po::bool_switch(&o.resume), "continue from --save's newest good checkpoint when there is one")
      ("exit-interval", po::value(&o.exit_interval)->default_value(o.exit_interval),
       "stop once the step is a multiple of N, after saving (Megatron's --exit-interval); 0: never")
      ("loss-chunk-tokens", po::value(&o.loss_chunk_tokens)->default_value(o.loss_chunk_tokens),
       "tokens per chunk of the fused LM head + objective (bounds its memory)")
      ("log-interval", po::value(&o.log_interval)->default_value(o.log_interval), "steps between progress lines")
      ("dist-timeout", po::value(&o.dist_timeout_s)->default_value(o.dist_timeout_s),
       "seconds before a rendezvous or collective is declared hung");

  po::options_description optim("Optimizer");
  optim.add_options()
      ("lr", po::value(&o.lr)->default_value(o.lr), "peak learning rate")
      ("min-lr", po::value(&o.min_lr)->default_value(o.min_lr), "learning rate at the end of the cosine")
      ("warmup-fraction", po::value(&o.warmup_fraction)->default_value(o.warmup_fraction),
       "fraction of max-steps of linear warm-up")
      ("weight-decay", po::value(&o.weight_decay)->default_value(o.weight_decay), "AdamW decoupled weight decay")
      ("adam-beta1", po::value(&o.adam_beta1)->default_value(o.adam_beta1), "AdamW beta1")
      ("adam-beta2", po::value(&o.adam_beta2)->default_value(o.adam_beta2), "AdamW beta2")
      ("adam-eps", po::value(&o.adam_eps)->default_value(o.adam_eps), "AdamW epsilon")
      ("clip-grad", po::value(&o.clip_grad)->default_value(o.clip_grad), "global gradient-norm clip (0: off)")
      ("use-distributed-optimizer", po::value(&o.use_distributed_optimizer)->default_value(o.use_distributed_optimizer),
       "shard fp32 master weights and Adam moments over data parallelism (ZeRO-1)")
      ("grad-bucket-mb", po::value(&o.grad_bucket_mb)->default_value(o.grad_bucket_mb), "gradient-reduction bucket size (MiB)");

  po::options_description calibration("Tau calibration (SED-SFT)");
  calibration.add_options()
      ("calibration-data", po::value(&o.calibration_data), "held-out HDF5 dataset for tau calibration")
      ("calibration-samples", po::value(&o.calibration_samples)->default_value(o.calibration_samples),
       "examples used to calibrate tau")
      ("calibration-positions", po::value(&o.calibration_positions)->default_value(o.calibration_positions),
       "all | supervised");

  auto& m = o.model;
  po::options_description model("Model ([model] section)");
  model.add_options()
      ("model.vocab-size", po::value(&m.vocab_size), "vocabulary size")
      ("model.hidden-size", po::value(&m.hidden_size), "hidden size")
      ("model.intermediate-size", po::value(&m.intermediate_size), "SwiGLU inner size")
      ("model.num-layers", po::value(&m.num_layers), "decoder layers")
      ("model.num-attention-heads", po::value(&m.num_attention_heads), "query heads")
      ("model.num-key-value-heads", po::value(&m.num_key_value_heads), "key/value heads (GQA)")
      ("model.max-position-embeddings", po::value(&m.max_position_embeddings)->default_value(m.max_position_embeddings), "longest sequence")
      ("model.rope-theta", po::value(&m.rope_theta)->default_value(m.rope_theta), "RoPE base")
      ("model.rms-norm-eps", po::value(&m.rms_norm_eps)->default_value(m.rms_norm_eps), "RMSNorm epsilon")
      ("model.tie-word-embeddings", po::value(&m.tie_word_embeddings)->default_value(m.tie_word_embeddings), "share embedding and LM head")
      ("model.qkv-bias", po::value(&m.qkv_bias)->default_value(m.qkv_bias), "biases on q, k, v (Qwen2)")
      ("model.init-std", po::value(&m.init_std)->default_value(m.init_std), "std of the normal initialisation")
      ("model.make-vocab-size-divisible-by", po::value(&m.make_vocab_size_divisible_by)->default_value(m.make_vocab_size_divisible_by),
       "pad the vocabulary to a multiple of this times tp");

  po::options_description all("megasft train options");
  all.add(run).add(optim).add(objective.description()).add(calibration).add(model);
  return all;
}

template <typename T>
void check_positive(T value, const char* option) {
  MEGASFT_CHECK(value > 0, "--", option, " must be positive, got ", value);
}

}  // namespace

TrainOptions TrainOptions::parse(const std::vector<std::string>& args, Purpose purpose) {
  TrainOptions o;
  objectives::ObjectiveProgramOptions objective(o.objective);
  bool help = false;
  auto description = describe(o, objective, help);
  const auto vm = parse_command_line_and_config(args, description, "train");
  o.show_help = help;
  if (help) return o;

  objective.finish(vm);
  if (vm.count("pipeline-layers")) {
    const std::string list = vm["pipeline-layers"].as<std::string>();
    std::stringstream in(list);
    for (std::string item; std::getline(in, item, ',');) {
      try {
        size_t used = 0;
        o.pipeline_layers.push_back(std::stoll(item, &used));
        MEGASFT_CHECK(used == item.size(), "");
      } catch (const std::exception&) {
        MEGASFT_FAIL("--pipeline-layers '", list, "': '", item, "' is not a layer count");
      }
    }
  }
  MEGASFT_CHECK(o.pp >= 1, "--pp must be at least 1, got ", o.pp);
  MEGASFT_CHECK(o.params_dtype == "fp32" || o.params_dtype == "bf16", "--params-dtype '", o.params_dtype,
                "' must be fp32 or bf16");
  if (purpose == Purpose::kTrain)
    MEGASFT_CHECK(!o.train_data.empty(), "--train-data is required (an HDF5 token dataset)");
  else
    MEGASFT_CHECK(!o.calibration_data.empty(), "--data is required (held-out HDF5 token dataset)");
  check_positive(o.loss_chunk_tokens, "loss-chunk-tokens");
  check_positive(o.grad_bucket_mb, "grad-bucket-mb");
  MEGASFT_CHECK(o.save_interval >= 0, "--save-interval must be >= 0, got ", o.save_interval);
  MEGASFT_CHECK(o.exit_interval >= 0, "--exit-interval must be >= 0, got ", o.exit_interval);
  MEGASFT_CHECK(o.keep >= 1, "--keep must be at least 1, got ", o.keep);
  MEGASFT_CHECK(!o.resume || !o.save_dir.empty(), "--resume needs --save (the checkpoint root to resume from)");
  MEGASFT_CHECK(o.tp >= 1, "--tp must be at least 1, got ", o.tp);
  check_positive(o.max_steps, "max-steps");
  check_positive(o.micro_batch_size, "micro-batch-size");
  check_positive(o.log_interval, "log-interval");
  check_positive(o.dist_timeout_s, "dist-timeout");
  check_positive(o.calibration_samples, "calibration-samples");
  MEGASFT_CHECK(o.seq_length >= 2, "--seq-length must be at least 2, got ", o.seq_length);
  MEGASFT_CHECK(o.global_batch_size >= 0, "--global-batch-size must be >= 0, got ", o.global_batch_size);
  MEGASFT_CHECK(o.lr >= 0 && o.min_lr >= 0 && o.min_lr <= o.lr, "--lr ", o.lr, " and --min-lr ",
                o.min_lr, " must satisfy 0 <= min-lr <= lr");
  MEGASFT_CHECK(o.warmup_fraction >= 0 && o.warmup_fraction < 1, "--warmup-fraction ",
                o.warmup_fraction, " must be in [0, 1)");
  MEGASFT_CHECK(o.calibration_positions == "all" || o.calibration_positions == "supervised",
                "--calibration-positions '", o.calibration_positions, "' must be all or supervised");
  MEGASFT_CHECK(o.objective.gem_beta > 0, "--gem-beta must be positive, got ", o.objective.gem_beta);
  if (!o.model_dir.empty()) {
    for (const auto& option : description.options()) {
      const auto& key = option->long_name();
      MEGASFT_CHECK(key.rfind("model.", 0) != 0 || key == "model.make-vocab-size-divisible-by" || !vm.count(key) ||
                        vm[key].defaulted(),
                    key, " conflicts with --model-dir '", o.model_dir, "', whose config.json gives the model");
    }
    auto hf = model::read_hf_config(o.model_dir + "/config.json");
    hf.make_vocab_size_divisible_by = o.model.make_vocab_size_divisible_by;
    o.model = hf;
  }
  checkpoint::parse_export_dtype(o.save_hf_dtype, "--save-hf-dtype");
  o.model.validate(o.tp);
  return o;
}

std::string TrainOptions::help() {
  TrainOptions o;
  objectives::ObjectiveProgramOptions objective(o.objective);
  bool help = false;
  std::ostringstream out;
  out << "usage: megasft train --config FILE [--option value ...]\n" << describe(o, objective, help);
  return out.str();
}

std::string TrainOptions::to_json() const {
  nlohmann::json j;
  j["config"] = config_path;
  j["run_dir"] = run_dir;
  j["train_data"] = train_data;
  j["model_dir"] = model_dir;
  j["save_hf"] = {{"dir", save_hf_dir}, {"dtype", save_hf_dtype}};
  j["tp"] = tp;
  j["pp"] = pp;
  j["pipeline_layers"] = pipeline_layers;
  j["recompute"] = recompute;
  j["sequence_parallel"] = sequence_parallel;
  j["params_dtype"] = params_dtype;
  j["seed"] = seed;
  j["max_steps"] = max_steps;
  j["seq_length"] = seq_length;
  j["micro_batch_size"] = micro_batch_size;
  j["global_batch_size"] = global_batch_size;
  j["optimizer"] = {{"lr", lr}, {"min_lr", min_lr}, {"warmup_fraction", warmup_fraction},
                    {"weight_decay", weight_decay}, {"beta1", adam_beta1}, {"beta2", adam_beta2},
                    {"eps", adam_eps}, {"clip_grad", clip_grad},
                    {"distributed", use_distributed_optimizer}, {"grad_bucket_mb", grad_bucket_mb}};
  j["objective"] = {{"name", objectives::objective_kind_name(objective.kind)}, {"top_k", objective.top_k},
                    {"sed_lambda", objective.sed_lambda}, {"sed_ratio", objective.sed_ratio},
                    {"gem_beta", objective.gem_beta}, {"gem_h", objectives::gem_h_name(objective.gem_h)}};
  j["loss_chunk_tokens"] = loss_chunk_tokens;
  j["checkpoint"] = {{"save", save_dir}, {"save_interval", save_interval}, {"keep", keep}, {"load", load_dir},
                     {"resume", resume}};
  j["model"] = {{"vocab_size", model.vocab_size}, {"hidden_size", model.hidden_size},
                {"intermediate_size", model.intermediate_size}, {"num_layers", model.num_layers},
                {"num_attention_heads", model.num_attention_heads},
                {"num_key_value_heads", model.num_key_value_heads}, {"rope_theta", model.rope_theta},
                {"rms_norm_eps", model.rms_norm_eps}, {"tie_word_embeddings", model.tie_word_embeddings},
                {"qkv_bias", model.qkv_bias}};
  return j.dump(2);
}

}  // namespace megasft::train
