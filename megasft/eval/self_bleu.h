// Self-BLEU (Zhu et al. 2018, Texygen): how alike one prompt's samples are, each scored with BLEU
// against the others; lower is more diverse. Two variants, both on 13a tokens (tokenizer_13a.h).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace megasft::eval {

using Tokens = std::vector<std::string>;

enum class SelfBleuVariant {
  // Each sample against all the other samples of its prompt, with nltk 3.8's
  // sentence_bleu(references, hypothesis, weights=(1/order,)*order,
  //               smoothing_function=SmoothingFunction().method1), a score in [0, 1].
  kNltk,
  // The GEM repository's evaluation/evaluation_diversity.py (github.com/liziniu/GEM):
  // sacrebleu.corpus_bleu([sample], [others]) with sacrebleu 2.x defaults (13a, mixed case, exp
  // smoothing, 4-grams, no effective order), a score in [0, 100]. sacrebleu reads `[others]` as one
  // reference stream of len(others) segments and zips it with the one hypothesis, so each sample is
  // compared with only the first other sample: sample 1 for sample 0, sample 0 for every other.
  kGem,
};

// What a variant computes, in one line, for reports and --help.
std::string_view self_bleu_variant_description(SelfBleuVariant variant);
// The score's upper end: 1 for kNltk, 100 for kGem.
double self_bleu_scale(SelfBleuVariant variant);

// nltk's sentence BLEU: n-gram counts clipped by their largest count in any one reference, brevity
// penalty from the reference length closest to the hypothesis length (ties to the shorter), 0 when
// no unigram matches, else every zero n-gram precision becomes 0.1 / max(1, hypothesis n-grams)
// (method1; a hypothesis shorter than n has one phantom n-gram, so that precision is 0.1).
double nltk_sentence_bleu(const Tokens& hypothesis, const std::vector<Tokens>& references,
                          int order);

// sacrebleu 2.x's corpus_bleu([hypothesis], [[reference]]) on already tokenised text, in [0, 100]:
// 0 when nothing matches or the hypothesis is shorter than `order`, else the i-th zero precision
// (in order of n) becomes 100 / (2^i * hypothesis n-grams) (the "exp" smoothing of mteval-v13a).
double sacrebleu_bleu(const Tokens& hypothesis, const Tokens& reference, int order = 4);

// The score of every sample against the others of its prompt under `variant`; needs two samples.
// The kNltk variant clips with the best and second-best count of each n-gram over the samples, so
// a prompt costs O(samples x tokens x order), not O(samples^2 x tokens x order).
std::vector<double> self_bleu_sample_scores(const std::vector<Tokens>& samples,
                                            SelfBleuVariant variant, int order);

}  // namespace megasft::eval
