// Self-BLEU of a generations file as `megasft self-bleu` reports it: mean over prompts of the mean
// over each prompt's samples, with the counts, variant and tokenisation that make it comparable.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "megasft/eval/generations_file.h"
#include "megasft/eval/self_bleu.h"

namespace megasft::eval {

struct SelfBleuReport {
  SelfBleuVariant variant = SelfBleuVariant::kNltk;
  int order = 4;
  double self_bleu = 0.0;       // in [0, self_bleu_scale(variant)]; lower is more diverse
  int64_t prompts = 0;          // prompts scored (two or more samples)
  int64_t prompts_skipped = 0;  // prompts with fewer than two samples, left out of the mean
  int64_t samples = 0;          // samples of the scored prompts
};

// Tokenises every sample with tokenize_13a and scores each prompt with self_bleu_sample_scores.
// Throws when no prompt has two samples, and for kGem when `order` is not 4 (sacrebleu's default,
// which the GEM script uses; any other order would not reproduce its numbers).
SelfBleuReport self_bleu_report(const std::vector<PromptGenerations>& prompts,
                                SelfBleuVariant variant, int order);

// The report with its variant, scale and tokenisation spelled out; kGem adds GEM's own figure,
// bleu_diversity_score = 100 - self-BLEU.
nlohmann::json self_bleu_report_json(const SelfBleuReport& report);
// The same as lines of text for a terminal.
std::string self_bleu_report_text(const SelfBleuReport& report);

}  // namespace megasft::eval
