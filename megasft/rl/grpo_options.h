// Every option of `megasft grpo` and `megasft rollout-filter`: defaults are the paper's RL run (verl,
// GRPO with clip-higher and dual-clip), then a config file, then the command line, in that precedence.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "megasft/rl/math_grader.h"
#include "megasft/rl/policy_loss.h"
#include "megasft/rl/vocab_parallel_sampler.h"

namespace megasft::rl {

struct GrpoOptions {
  bool show_help = false;
  std::string config_path;
  std::string run_dir = "runs/grpo";
  std::string model;    // Hugging Face folder or megasft checkpoint to start from
  std::string prompts;  // JSONL: prompt | messages, answer
  std::string tokenizer;  // folder with tokenizer.json, or "char"; default: the model's
  std::string chat_template;
  std::optional<std::string> system_prompt;
  std::string date_string;

  int tp = 1;
  int pp = 1;
  std::string params_dtype = "fp32";
  int64_t seed = 42;
  int64_t max_steps = 0;  // rollout steps; 0: one pass over the prompts

  // Rollout
  int64_t samples_per_prompt = 8;
  int64_t prompts_per_step = 256;
  int64_t max_prompt_tokens = 1024;
  int64_t max_new_tokens = 3072;
  int64_t generation_batch_size = 64;
  SamplingParams sampling;

  // Reward and advantages
  GradingMode grading = GradingMode::kStrict;
  double reward_correct = 1.0;
  double reward_wrong = -1.0;
  bool no_std = false;  // Dr. GRPO: advantages without the division by the std

  // Update
  int64_t mini_batch_prompts = 32;  // prompts per optimizer step (prompts_per_step / this steps per rollout)
  int64_t micro_batch_size = 8;     // sequences per forward/backward per data-parallel rank
  ClipOptions clip;
  LossAggregation loss_agg = LossAggregation::kTokenMean;
  double kl_coef = 0.0;
  KlEstimator kl_estimator = KlEstimator::kK3;
  bool kl_in_reward = false;  // subtract kl_coef * sum KL from the reward instead of adding it to the loss
  double entropy_coef = 0.0;
  double lr = 1e-6;
  double weight_decay = 0.01;
  double adam_beta1 = 0.9;
  double adam_beta2 = 0.999;
  double adam_eps = 1e-8;
  double clip_grad = 1.0;
  bool use_distributed_optimizer = true;
  double grad_bucket_mb = 32;
  int64_t loss_chunk_tokens = 1024;

  // Held-out greedy accuracy, before training and every eval_interval steps
  std::string eval_prompts;
  int64_t eval_interval = 0;
  int64_t eval_limit = 0;  // first N rows of eval_prompts; 0: all

  // Checkpoints
  std::string save_dir;
  int64_t save_interval = 0;
  int keep = 3;
  bool resume = false;
  int64_t exit_interval = 0;

  std::string output;  // rollout-filter: where the kept prompts go

  bool save_rollouts = false;  // write every step's rollouts to <run-dir>/rollouts/ as JSONL

  int64_t log_interval = 1;
  double dist_timeout_s = 300;

  bool use_reference_model() const { return kl_coef > 0; }

  enum class Purpose { kTrain, kFilter };
  static GrpoOptions parse(const std::vector<std::string>& args, Purpose purpose = Purpose::kTrain);
  static std::string help(Purpose purpose = Purpose::kTrain);
  std::string to_json() const;
};

}  // namespace megasft::rl
