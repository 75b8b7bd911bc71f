// Both BLEUs share one counting step: every n-gram of a prompt's samples gets a dense integer id,
// so clipping is array lookups. The scores then follow nltk 3.8's bleu_score.py and sacrebleu 2.x's
// BLEU.compute_bleu term by term, including their edge cases (empty or short hypotheses).
#include "megasft/eval/self_bleu.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <unordered_map>

#include "kernels/check.h"

namespace megasft::eval {
namespace {

// nltk's SmoothingFunction(epsilon=0.1): the count method1 adds to a zero n-gram match count.
constexpr double kNltkMethod1Epsilon = 0.1;

struct NgramCount {
  int32_t id = 0;
  int32_t count = 0;
};

struct SampleNgrams {
  int64_t length = 0;                             // tokens
  std::vector<std::vector<NgramCount>> by_order;  // [order][distinct n-grams of that order]
};

// Ids for every n-gram (1 <= n <= order) seen: an n-gram is its (n-1)-gram prefix's id plus one
// token id, one 64-bit key, so n-grams of any order are never spelled out as strings.
class NgramIndex {
 public:
  explicit NgramIndex(int order) : order_(order) {}

  SampleNgrams add(const Tokens& tokens) {
    SampleNgrams sample;
    sample.length = static_cast<int64_t>(tokens.size());
    sample.by_order.resize(order_);
    std::vector<int32_t> token_ids(tokens.size());
    for (size_t i = 0; i < tokens.size(); ++i) token_ids[i] = token_id(tokens[i]);
    std::vector<int32_t> ids(
        tokens.size());  // [position], the n-gram starting there, n = 1, 2, ...
    for (size_t i = 0; i < tokens.size(); ++i) ids[i] = intern(-1, token_ids[i]);
    for (int n = 1; n <= order_ && static_cast<size_t>(n) <= tokens.size(); ++n) {
      if (n > 1) {
        ids.pop_back();  // the last start position no longer has n tokens after it
        for (size_t i = 0; i < ids.size(); ++i) ids[i] = intern(ids[i], token_ids[i + n - 1]);
      }
      std::vector<int32_t> sorted = ids;
      std::sort(sorted.begin(), sorted.end());
      auto& counts = sample.by_order[n - 1];
      for (size_t i = 0; i < sorted.size();) {
        size_t j = i;
        while (j < sorted.size() && sorted[j] == sorted[i]) ++j;
        counts.push_back({sorted[i], static_cast<int32_t>(j - i)});
        i = j;
      }
    }
    return sample;
  }

  int32_t size() const { return static_cast<int32_t>(ngram_ids_.size()); }

 private:
  int32_t token_id(const std::string& token) {
    return token_ids_.try_emplace(token, static_cast<int32_t>(token_ids_.size())).first->second;
  }
  int32_t intern(int32_t prefix, int32_t token) {
    const uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(prefix + 1)) << 32) |
                         static_cast<uint32_t>(token);
    return ngram_ids_.try_emplace(key, static_cast<int32_t>(ngram_ids_.size())).first->second;
  }

  int order_;
  std::unordered_map<std::string, int32_t> token_ids_;
  std::unordered_map<uint64_t, int32_t> ngram_ids_;
};

// The clipped match counts both BLEUs start from.
struct MatchStats {
  int64_t hypothesis_length = 0;
  int64_t reference_length = 0;
  std::vector<int64_t> correct;  // [order] clipped matches
  std::vector<int64_t> total;    // [order] hypothesis n-grams
};

// `reference_count(id)`: the largest count of n-gram `id` in the references.
template <typename ReferenceCount>
MatchStats match(const SampleNgrams& hypothesis, int64_t reference_length,
                 ReferenceCount reference_count) {
  const size_t order = hypothesis.by_order.size();
  MatchStats stats{hypothesis.length, reference_length, std::vector<int64_t>(order, 0),
                   std::vector<int64_t>(order, 0)};
  for (size_t n = 0; n < order; ++n) {
    for (const NgramCount& g : hypothesis.by_order[n]) {
      stats.total[n] += g.count;
      stats.correct[n] += std::min<int64_t>(g.count, reference_count(g.id));
    }
  }
  return stats;
}

// nltk's corpus_bleu on one hypothesis with uniform weights and SmoothingFunction().method1.
double nltk_score(const MatchStats& s) {
  if (s.correct[0] == 0) return 0.0;  // nltk returns 0 before smoothing when no unigram matches
  const double r = static_cast<double>(s.reference_length);
  const double c = static_cast<double>(s.hypothesis_length);
  const double brevity = s.hypothesis_length > s.reference_length ? 1.0 : std::exp(1.0 - r / c);
  const double weight = 1.0 / static_cast<double>(s.correct.size());
  double log_sum = 0.0;
  for (size_t n = 0; n < s.correct.size(); ++n) {
    // nltk's modified_precision keeps the denominator at least 1 (a hypothesis shorter than n).
    const double denominator = static_cast<double>(std::max<int64_t>(1, s.total[n]));
    const double precision = s.correct[n] > 0 ? static_cast<double>(s.correct[n]) / denominator
                                              : kNltkMethod1Epsilon / denominator;
    log_sum += weight * std::log(precision);
  }
  return brevity * std::exp(log_sum);
}

// sacrebleu 2.x's BLEU.compute_bleu with smooth_method="exp" and effective_order=False.
double sacrebleu_score(const MatchStats& s) {
  double brevity = 1.0;
  if (s.hypothesis_length < s.reference_length) {
    brevity = s.hypothesis_length > 0 ? std::exp(1.0 - static_cast<double>(s.reference_length) /
                                                           static_cast<double>(s.hypothesis_length))
                                      : 0.0;
  }
  if (std::all_of(s.correct.begin(), s.correct.end(), [](int64_t c) { return c == 0; })) return 0.0;
  double smooth = 1.0;  // doubles at each order with no match
  double log_sum = 0.0;
  for (size_t n = 0; n < s.correct.size(); ++n) {
    // No n-grams of this order: sacrebleu leaves its precision at 0, whose floored log
    // (-9999999999) makes the score exactly 0.
    if (s.total[n] == 0) return 0.0;
    const double total = static_cast<double>(s.total[n]);
    double precision;
    if (s.correct[n] == 0) {
      smooth *= 2.0;
      precision = 100.0 / (smooth * total);
    } else {
      precision = 100.0 * static_cast<double>(s.correct[n]) / total;
    }
    log_sum += std::log(precision);
  }
  return brevity * std::exp(log_sum / static_cast<double>(s.correct.size()));
}

// Per n-gram id, its largest count over a prompt's samples, which sample has it, and the
// second-largest count: the largest count among the samples other than h is then one lookup.
struct TopTwoCounts {
  std::vector<int32_t> best, best_sample, second;

  TopTwoCounts(const std::vector<SampleNgrams>& samples, int32_t ngrams)
      : best(ngrams, 0), best_sample(ngrams, -1), second(ngrams, 0) {
    for (size_t s = 0; s < samples.size(); ++s)
      for (const auto& counts : samples[s].by_order)
        for (const NgramCount& g : counts) {
          if (g.count > best[g.id]) {
            second[g.id] = best[g.id];
            best[g.id] = g.count;
            best_sample[g.id] = static_cast<int32_t>(s);
          } else if (g.count > second[g.id]) {
            second[g.id] = g.count;
          }
        }
  }
  int32_t best_without(int32_t id, size_t h) const {
    return best_sample[id] == static_cast<int32_t>(h) ? second[id] : best[id];
  }
};

// nltk's closest_ref_length over every sample but h: min by (|length - hypothesis|, length).
int64_t closest_other_length(const std::vector<SampleNgrams>& samples, size_t h) {
  const int64_t hypothesis = samples[h].length;
  int64_t closest = -1;
  for (size_t r = 0; r < samples.size(); ++r) {
    if (r == h) continue;
    const int64_t length = samples[r].length;
    const int64_t diff = std::llabs(length - hypothesis), best = std::llabs(closest - hypothesis);
    if (closest < 0 || diff < best || (diff == best && length < closest)) closest = length;
  }
  return closest;
}

double nltk_score_against_others(const std::vector<SampleNgrams>& samples, const TopTwoCounts& top,
                                 size_t h) {
  return nltk_score(match(samples[h], closest_other_length(samples, h),
                          [&](int32_t id) { return top.best_without(id, h); }));
}

// A sample's n-gram counts indexed by id, for clipping against that one sample.
std::vector<int32_t> dense_counts(const SampleNgrams& sample, int32_t ngrams) {
  std::vector<int32_t> counts(ngrams, 0);
  for (const auto& order : sample.by_order)
    for (const NgramCount& g : order) counts[g.id] = g.count;
  return counts;
}

double sacrebleu_score_against(const SampleNgrams& hypothesis, const SampleNgrams& reference,
                               const std::vector<int32_t>& reference_counts) {
  return sacrebleu_score(
      match(hypothesis, reference.length, [&](int32_t id) { return reference_counts[id]; }));
}

void check_order(int order) {
  MEGASFT_CHECK(order >= 1, "BLEU order (--order) must be at least 1, got ", order);
}

}  // namespace

std::string_view self_bleu_variant_description(SelfBleuVariant variant) {
  if (variant == SelfBleuVariant::kGem)
    return "GEM-compatible (github.com/liziniu/GEM evaluation/evaluation_diversity.py): sacrebleu "
           "2.x "
           "corpus_bleu of each sample against only the first other sample of its prompt (as "
           "corpus_bleu([sample], [others]) reads its arguments), exp smoothing, mixed case, 0-100";
  return "nltk 3.8 sentence_bleu of each sample against all other samples of its prompt, uniform "
         "weights up to the order, SmoothingFunction().method1 (epsilon 0.1), 0-1";
}

double self_bleu_scale(SelfBleuVariant variant) {
  return variant == SelfBleuVariant::kGem ? 100.0 : 1.0;
}

double nltk_sentence_bleu(const Tokens& hypothesis, const std::vector<Tokens>& references,
                          int order) {
  check_order(order);
  MEGASFT_CHECK(!references.empty(), "nltk_sentence_bleu needs at least one reference");
  NgramIndex index(order);
  std::vector<SampleNgrams> samples;
  samples.push_back(index.add(hypothesis));
  for (const Tokens& reference : references) samples.push_back(index.add(reference));
  return nltk_score_against_others(samples, TopTwoCounts(samples, index.size()), 0);
}

double sacrebleu_bleu(const Tokens& hypothesis, const Tokens& reference, int order) {
  check_order(order);
  NgramIndex index(order);
  const SampleNgrams h = index.add(hypothesis);
  const SampleNgrams r = index.add(reference);
  return sacrebleu_score_against(h, r, dense_counts(r, index.size()));
}

std::vector<double> self_bleu_sample_scores(const std::vector<Tokens>& samples,
                                            SelfBleuVariant variant, int order) {
  check_order(order);
  MEGASFT_CHECK(samples.size() >= 2, "Self-BLEU needs at least two samples of a prompt, got ",
                samples.size());
  NgramIndex index(order);
  std::vector<SampleNgrams> ngrams;
  ngrams.reserve(samples.size());
  for (const Tokens& sample : samples) ngrams.push_back(index.add(sample));

  std::vector<double> scores(samples.size());
  if (variant == SelfBleuVariant::kNltk) {
    const TopTwoCounts top(ngrams, index.size());
    for (size_t h = 0; h < ngrams.size(); ++h)
      scores[h] = nltk_score_against_others(ngrams, top, h);
  } else {
    // "The first other sample" is sample 0, except for sample 0 itself, which gets sample 1.
    const std::vector<int32_t> first = dense_counts(ngrams[0], index.size());
    const std::vector<int32_t> second = dense_counts(ngrams[1], index.size());
    scores[0] = sacrebleu_score_against(ngrams[0], ngrams[1], second);
    for (size_t h = 1; h < ngrams.size(); ++h)
      scores[h] = sacrebleu_score_against(ngrams[h], ngrams[0], first);
  }
  return scores;
}

}  // namespace megasft::eval
