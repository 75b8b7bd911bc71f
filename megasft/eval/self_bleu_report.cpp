// Prompts are weighted equally whatever their sample count (as Texygen and the GEM script average),
// so a prompt with many samples does not dominate the mean.
#include "megasft/eval/self_bleu_report.h"

#include <sstream>

#include "kernels/check.h"
#include "megasft/eval/tokenizer_13a.h"

namespace megasft::eval {
namespace {

// Where the GEM numbers differ from ours even with --gem-compatible: its script scores the chat-
// template rendering of prompt and response, not the response alone.
constexpr const char* kGemInputNote =
    "GEM's script scores each sample rendered with the chat template (user prompt + response); "
    "give samples in that form to reproduce its numbers exactly";

const char* variant_name(SelfBleuVariant variant) {
  return variant == SelfBleuVariant::kGem ? "gem" : "nltk";
}

}  // namespace

SelfBleuReport self_bleu_report(const std::vector<PromptGenerations>& prompts,
                                SelfBleuVariant variant, int order) {
  MEGASFT_CHECK(order >= 1, "Self-BLEU order (--order) must be at least 1, got ", order);
  MEGASFT_CHECK(variant != SelfBleuVariant::kGem || order == 4,
                "the GEM-compatible Self-BLEU is sacrebleu's default 4-gram BLEU; --order ", order,
                " would not reproduce it");
  SelfBleuReport report;
  report.variant = variant;
  report.order = order;
  double sum = 0.0;
  for (const PromptGenerations& prompt : prompts) {
    if (prompt.samples.size() < 2) {
      ++report.prompts_skipped;
      continue;
    }
    std::vector<Tokens> tokens;
    tokens.reserve(prompt.samples.size());
    for (const std::string& sample : prompt.samples) tokens.push_back(tokenize_13a(sample));
    double prompt_sum = 0.0;
    for (double score : self_bleu_sample_scores(tokens, variant, order)) prompt_sum += score;
    sum += prompt_sum / static_cast<double>(tokens.size());
    ++report.prompts;
    report.samples += static_cast<int64_t>(tokens.size());
  }
  MEGASFT_CHECK(report.prompts > 0, "Self-BLEU needs a prompt with at least two samples; all ",
                prompts.size(), " prompts have fewer");
  report.self_bleu = sum / static_cast<double>(report.prompts);
  return report;
}

nlohmann::json self_bleu_report_json(const SelfBleuReport& report) {
  nlohmann::json out = {
      {"metric", "self_bleu"},
      {"variant", variant_name(report.variant)},
      {"description", self_bleu_variant_description(report.variant)},
      {"self_bleu", report.self_bleu},
      {"scale", self_bleu_scale(report.variant)},
      {"order", report.order},
      {"prompts", report.prompts},
      {"prompts_skipped", report.prompts_skipped},
      {"samples", report.samples},
      {"tokenization", kTokenizer13aDescription},
  };
  if (report.variant == SelfBleuVariant::kGem) {
    out["bleu_diversity_score"] = 100.0 - report.self_bleu;
    out["note"] = kGemInputNote;
  }
  return out;
}

std::string self_bleu_report_text(const SelfBleuReport& report) {
  std::ostringstream out;
  out.precision(6);
  out << std::fixed;
  out << "self-BLEU: " << report.self_bleu << " (0-"
      << static_cast<int>(self_bleu_scale(report.variant)) << ", lower is more diverse)\n";
  if (report.variant == SelfBleuVariant::kGem)
    out << "GEM bleu_diversity_score (100 - self-BLEU): " << 100.0 - report.self_bleu << "\n";
  out << "variant: " << variant_name(report.variant) << ", "
      << self_bleu_variant_description(report.variant) << "\n";
  out << "order: " << report.order << "-grams, uniform weights\n";
  out << "prompts: " << report.prompts << " scored, " << report.prompts_skipped
      << " skipped (fewer than 2 samples); samples scored: " << report.samples << "\n";
  out << "tokenisation: " << kTokenizer13aDescription << "\n";
  if (report.variant == SelfBleuVariant::kGem) out << "note: " << kGemInputNote << "\n";
  return out.str();
}

}  // namespace megasft::eval
