// Every option of `megasft train`: defaults, a config file (INI syntax of Boost.Program_options) and
// command-line overrides, in that order of precedence. A key nobody knows is an error naming it and the file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "megasft/model/model_config.h"
#include "megasft/objectives/objective_options.h"

namespace megasft::train {

struct TrainOptions {
  bool show_help = false;  // --help: print help() and do nothing else
  std::string config_path;
  std::string run_dir = "runs/default";
  std::string train_data;
  // Hugging Face folders: --model-dir's config.json is the model and its weights the start (instead of the
  // [model] keys and seeded initialisation); --save-hf exports the trained model there at the end.
  std::string model_dir;
  std::string save_hf_dir;
  std::string save_hf_dtype = "bf16";  // bf16 | fp16 | fp32
  // tau calibration (SED-SFT), used when --tau is not given
  std::string calibration_data;
  int64_t calibration_samples = 100;
  std::string calibration_positions = "all";  // all | supervised

  int tp = 1;
  int pp = 1;
  std::vector<int64_t> pipeline_layers;  // layers per stage; empty = an even split
  bool recompute = false;                // recompute each layer's activations in backward
  bool sequence_parallel = false;        // split norms and residuals along the sequence over TP
  std::string params_dtype = "fp32";     // fp32 | bf16 (fp32 master weights and gradient accumulation)
  int64_t seed = 42;
  int64_t max_steps = 100;
  int64_t seq_length = 256;
  int64_t micro_batch_size = 4;    // sequences per micro-batch per data-parallel rank
  int64_t global_batch_size = 0;   // sequences per step over all DP ranks; 0 = micro * dp

  double lr = 2e-5;
  double min_lr = 0.0;
  double warmup_fraction = 0.03;
  double weight_decay = 0.0;
  double adam_beta1 = 0.9;
  double adam_beta2 = 0.95;
  double adam_eps = 1e-8;
  double clip_grad = 1.0;
  bool use_distributed_optimizer = true;  // ZeRO-1: master weights and moments sharded over DP
  double grad_bucket_mb = 32;             // gradient-reduction bucket size

  // Checkpoints (megasft/checkpoint/distributed_checkpoint.h)
  std::string save_dir;        // --save: checkpoint root; empty = no checkpoints
  int64_t save_interval = 0;   // save every N steps (and at the end); 0 = only at the end
  int keep = 3;                // completed checkpoints kept under --save
  std::string load_dir;        // --load: a root (its latest) or one iter_N directory
  bool resume = false;         // --resume: continue from --save's latest good checkpoint, if any
  int64_t exit_interval = 0;   // stop (after saving) once the step is a multiple of this; 0 = never

  int64_t loss_chunk_tokens = 1024;  // tokens per chunk of the fused LM head + objective
  int64_t log_interval = 10;  // progress line every N steps (metrics.jsonl gets every step)
  double dist_timeout_s = 300;

  objectives::ObjectiveOptions objective;
  model::ModelConfig model;

  // Throws megasft::Error naming the option, the file and the value on any bad input. `calibrate`
  // parses the same options but needs calibration data rather than training data.
  enum class Purpose { kTrain, kCalibrate };
  static TrainOptions parse(const std::vector<std::string>& args, Purpose purpose = Purpose::kTrain);
  static std::string help();
  std::string to_json() const;  // recorded in the run directory
  std::string tau_file() const { return run_dir + "/tau.json"; }  // written by `megasft calibrate`
};

}  // namespace megasft::train
