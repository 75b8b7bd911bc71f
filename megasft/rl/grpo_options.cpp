// Boost.Program_options description of the GRPO options. The command line is stored first, so a
// config file only fills what it left unset; an unknown key in either is an error naming it.
#include "megasft/rl/grpo_options.h"

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

#include "kernels/check.h"
#include "megasft/train/config_options.h"

namespace megasft::rl {
namespace po = boost::program_options;
using train::parse_command_line_and_config;

namespace {

struct TextOptions {  // parsed into enums after notify
  std::string grading = "strict", loss_agg = "token-mean", kl_estimator = "k3", system_prompt;
};

po::options_description describe(GrpoOptions& o, TextOptions& t, bool& help, GrpoOptions::Purpose purpose) {
  const bool filter = purpose == GrpoOptions::Purpose::kFilter;
  po::options_description run(filter ? "megasft rollout-filter" : "megasft grpo");
  run.add_options()
      ("help,h", po::bool_switch(&help), "print this help")
      ("config", po::value(&o.config_path), "config file (INI: key = value)")
      ("model", po::value(&o.model), "Hugging Face folder or megasft checkpoint (root or iter_N) to start from")
      ("prompts", po::value(&o.prompts), "JSONL prompts: a `prompt` or `messages`, and the gold `answer`")
      ("tokenizer", po::value(&o.tokenizer), "folder with tokenizer.json, or `char` (demo); default: the model's")
      ("template", po::value(&o.chat_template), "chat template: llama3 | llama3.1 | qwen2 (default: from the model)")
      ("system-prompt", po::value(&t.system_prompt), "system prompt for rows without one")
      ("date-string", po::value(&o.date_string), "llama3.1's Today Date line")
      ("tp", po::value(&o.tp)->default_value(o.tp), "tensor-parallel size")
      ("pp", po::value(&o.pp)->default_value(o.pp), "pipeline-parallel size (data parallelism takes the rest)")
      ("params-dtype", po::value(&o.params_dtype)->default_value(o.params_dtype), "fp32 | bf16")
      ("seed", po::value(&o.seed)->default_value(o.seed), "seed of prompt order and sampling")
      ("max-prompt-tokens", po::value(&o.max_prompt_tokens)->default_value(o.max_prompt_tokens),
       "longer prompts are truncated from the left")
      ("max-new-tokens", po::value(&o.max_new_tokens)->default_value(o.max_new_tokens), "response length limit")
      ("generation-batch-size", po::value(&o.generation_batch_size)->default_value(o.generation_batch_size),
       "sequences decoded together per data-parallel rank")
      ("temperature", po::value(&o.sampling.temperature)->default_value(o.sampling.temperature), "0: greedy")
      ("top-p", po::value(&o.sampling.top_p)->default_value(o.sampling.top_p), "nucleus mass (1: off)")
      ("top-k", po::value(&o.sampling.top_k)->default_value(o.sampling.top_k), "0: off")
      ("grading", po::value(&t.grading)->default_value(t.grading), "strict | equivalent")
      ("dist-timeout", po::value(&o.dist_timeout_s)->default_value(o.dist_timeout_s),
       "seconds before a rendezvous or collective is declared hung");
  if (filter) {
    run.add_options()
        ("samples", po::value(&o.samples_per_prompt)->default_value(o.samples_per_prompt), "samples per prompt")
        ("output", po::value(&o.output), "JSONL of the kept prompts (their rows unchanged)")
        ("run-dir", po::value(&o.run_dir)->default_value(o.run_dir), "where the filter's report goes");
    return run;
  }
  run.add_options()
      ("run-dir", po::value(&o.run_dir)->default_value(o.run_dir), "where metrics and metadata go")
      ("max-steps", po::value(&o.max_steps)->default_value(o.max_steps), "rollout steps (0: one pass over the prompts)")
      ("samples-per-prompt", po::value(&o.samples_per_prompt)->default_value(o.samples_per_prompt), "G")
      ("prompts-per-step", po::value(&o.prompts_per_step)->default_value(o.prompts_per_step), "prompts per rollout")
      ("reward-correct", po::value(&o.reward_correct)->default_value(o.reward_correct), "reward of a correct answer")
      ("reward-wrong", po::value(&o.reward_wrong)->default_value(o.reward_wrong), "reward of a wrong or missing one")
      ("no-std", po::bool_switch(&o.no_std), "Dr. GRPO: advantages r - mean, without dividing by the std")
      ("mini-batch-prompts", po::value(&o.mini_batch_prompts)->default_value(o.mini_batch_prompts),
       "prompts per optimizer step")
      ("micro-batch-size", po::value(&o.micro_batch_size)->default_value(o.micro_batch_size),
       "sequences per forward/backward per data-parallel rank")
      ("clip-low", po::value(&o.clip.clip_low)->default_value(o.clip.clip_low), "ratio floor 1 - clip-low")
      ("clip-high", po::value(&o.clip.clip_high)->default_value(o.clip.clip_high), "ratio ceiling 1 + clip-high")
      ("clip-c", po::value(&o.clip.clip_c)->default_value(o.clip.clip_c), "dual-clip bound for A < 0 (<= 1: off)")
      ("loss-agg", po::value(&t.loss_agg)->default_value(t.loss_agg),
       "token-mean | seq-mean-token-mean | seq-mean-token-sum")
      ("kl-coef", po::value(&o.kl_coef)->default_value(o.kl_coef), "KL to a frozen reference model (0: none built)")
      ("kl-estimator", po::value(&t.kl_estimator)->default_value(t.kl_estimator), "k1 | k2 | k3")
      ("kl-in-reward", po::bool_switch(&o.kl_in_reward), "subtract the KL from the reward instead of the loss")
      ("entropy-coef", po::value(&o.entropy_coef)->default_value(o.entropy_coef), "entropy bonus")
      ("lr", po::value(&o.lr)->default_value(o.lr), "learning rate (constant)")
      ("weight-decay", po::value(&o.weight_decay)->default_value(o.weight_decay), "AdamW weight decay")
      ("adam-beta1", po::value(&o.adam_beta1)->default_value(o.adam_beta1), "")
      ("adam-beta2", po::value(&o.adam_beta2)->default_value(o.adam_beta2), "")
      ("adam-eps", po::value(&o.adam_eps)->default_value(o.adam_eps), "")
      ("clip-grad", po::value(&o.clip_grad)->default_value(o.clip_grad), "global gradient-norm clip (0: off)")
      ("use-distributed-optimizer", po::value(&o.use_distributed_optimizer)->default_value(o.use_distributed_optimizer),
       "shard master weights and moments over data parallelism")
      ("grad-bucket-mb", po::value(&o.grad_bucket_mb)->default_value(o.grad_bucket_mb), "")
      ("loss-chunk-tokens", po::value(&o.loss_chunk_tokens)->default_value(o.loss_chunk_tokens),
       "tokens per chunk of the vocab-parallel log-probabilities")
      ("eval-prompts", po::value(&o.eval_prompts), "held-out prompts: greedy accuracy before training and every --eval-interval")
      ("eval-interval", po::value(&o.eval_interval)->default_value(o.eval_interval), "0: before and after only")
      ("eval-limit", po::value(&o.eval_limit)->default_value(o.eval_limit), "first N held-out rows (0: all)")
      ("save", po::value(&o.save_dir), "checkpoint root")
      ("save-interval", po::value(&o.save_interval)->default_value(o.save_interval), "0: only at the end")
      ("keep", po::value(&o.keep)->default_value(o.keep), "completed checkpoints kept")
      ("resume", po::bool_switch(&o.resume), "continue from --save's newest good checkpoint")
      ("exit-interval", po::value(&o.exit_interval)->default_value(o.exit_interval), "stop after saving at multiples of N")
      ("log-interval", po::value(&o.log_interval)->default_value(o.log_interval), "steps between progress lines")
      ("save-rollouts", po::value(&o.save_rollouts)->default_value(o.save_rollouts),
       "write each step's prompts, responses and rewards to <run-dir>/rollouts/step_N.dpR.jsonl");
  return run;
}

}  // namespace

GrpoOptions GrpoOptions::parse(const std::vector<std::string>& args, Purpose purpose) {
  GrpoOptions o;
  TextOptions t;
  bool help = false;
  const char* command = purpose == Purpose::kFilter ? "rollout-filter" : "grpo";
  auto description = describe(o, t, help, purpose);
  const auto vm = parse_command_line_and_config(args, description, command);
  o.show_help = help;
  if (help) return o;
  if (vm.count("system-prompt")) o.system_prompt = t.system_prompt;
  o.grading = parse_grading_mode(t.grading);
  o.loss_agg = parse_loss_aggregation(t.loss_agg);
  o.kl_estimator = parse_kl_estimator(t.kl_estimator);

  MEGASFT_CHECK(!o.model.empty(), "megasft ", command, " needs --model (a Hugging Face folder or a megasft checkpoint)");
  MEGASFT_CHECK(!o.prompts.empty(), "megasft ", command, " needs --prompts FILE.jsonl");
  MEGASFT_CHECK(o.tp >= 1 && o.pp >= 1, "--tp and --pp must be >= 1, got ", o.tp, " and ", o.pp);
  MEGASFT_CHECK(o.params_dtype == "fp32" || o.params_dtype == "bf16", "--params-dtype '", o.params_dtype,
                "' is not fp32 or bf16");
  MEGASFT_CHECK(o.samples_per_prompt >= 1, "--samples-per-prompt must be >= 1, got ", o.samples_per_prompt);
  o.sampling.validate();
  if (purpose == Purpose::kFilter) {
    MEGASFT_CHECK(!o.output.empty(), "megasft rollout-filter needs --output FILE.jsonl");
    MEGASFT_CHECK(o.samples_per_prompt >= 2, "--samples must be >= 2 to tell mixed groups from uniform ones, got ",
                  o.samples_per_prompt);
    return o;
  }
  MEGASFT_CHECK(o.prompts_per_step >= 1 && o.mini_batch_prompts >= 1 && o.prompts_per_step % o.mini_batch_prompts == 0,
                "--prompts-per-step ", o.prompts_per_step, " must be a positive multiple of --mini-batch-prompts ",
                o.mini_batch_prompts);
  MEGASFT_CHECK(o.micro_batch_size >= 1, "--micro-batch-size must be >= 1, got ", o.micro_batch_size);
  MEGASFT_CHECK(o.sampling.temperature > 0, "GRPO samples its rollouts: --temperature must be > 0, got ",
                o.sampling.temperature);
  MEGASFT_CHECK(o.kl_coef >= 0, "--kl-coef must be >= 0, got ", o.kl_coef);
  MEGASFT_CHECK(!o.kl_in_reward || o.kl_coef > 0, "--kl-in-reward needs --kl-coef > 0");
  MEGASFT_CHECK(o.lr >= 0 && o.max_steps >= 0, "--lr and --max-steps must be >= 0");
  return o;
}

std::string GrpoOptions::help(Purpose purpose) {
  GrpoOptions o;
  TextOptions t;
  bool help = false;
  std::ostringstream out;
  out << describe(o, t, help, purpose);
  return out.str();
}

std::string GrpoOptions::to_json() const {
  nlohmann::json j = {
      {"model", model}, {"prompts", prompts}, {"tokenizer", tokenizer}, {"template", chat_template},
      {"tp", tp}, {"pp", pp}, {"params_dtype", params_dtype}, {"seed", seed}, {"max_steps", max_steps},
      {"samples_per_prompt", samples_per_prompt}, {"prompts_per_step", prompts_per_step},
      {"max_prompt_tokens", max_prompt_tokens}, {"max_new_tokens", max_new_tokens},
      {"generation_batch_size", generation_batch_size}, {"temperature", sampling.temperature},
      {"top_p", sampling.top_p}, {"top_k", sampling.top_k}, {"grading", grading_mode_name(grading)},
      {"reward_correct", reward_correct}, {"reward_wrong", reward_wrong}, {"no_std", no_std},
      {"mini_batch_prompts", mini_batch_prompts}, {"micro_batch_size", micro_batch_size},
      {"clip_low", clip.clip_low}, {"clip_high", clip.clip_high}, {"clip_c", clip.clip_c},
      {"loss_agg", loss_aggregation_name(loss_agg)}, {"kl_coef", kl_coef}, {"kl_in_reward", kl_in_reward},
      {"entropy_coef", entropy_coef}, {"lr", lr}, {"weight_decay", weight_decay}, {"adam_beta1", adam_beta1},
      {"adam_beta2", adam_beta2}, {"adam_eps", adam_eps}, {"clip_grad", clip_grad},
      {"eval_prompts", eval_prompts}, {"eval_interval", eval_interval}, {"save", save_dir}};
  if (system_prompt) j["system_prompt"] = *system_prompt;
  return j.dump(2);
}

}  // namespace megasft::rl
