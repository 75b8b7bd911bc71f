// Self-BLEU against nltk 3.8 (values printed by tests/eval/self_bleu_reference.py), the GEM variant
// against sacrebleu's formula worked by hand, and the 13a tokenizer against hand-tokenised text.
#include "megasft/eval/self_bleu.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/check.h"
#include "megasft/eval/generations_file.h"
#include "megasft/eval/self_bleu_report.h"
#include "megasft/eval/tokenizer_13a.h"

namespace megasft::eval {
namespace {

constexpr double kTolerance = 1e-9;

Tokens words(const std::string& text) {
  Tokens tokens;
  std::istringstream in(text);
  for (std::string w; in >> w;) tokens.push_back(w);
  return tokens;
}

std::vector<Tokens> all_words(const std::vector<std::string>& texts) {
  std::vector<Tokens> out;
  for (const auto& t : texts) out.push_back(words(t));
  return out;
}

double mean(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x;
  return sum / static_cast<double>(v.size());
}

std::string write_file(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

// ---- the 13a tokenizer (each expectation also checked against sacrebleu 2.4.3's tokenizer) ----

TEST(Tokenizer13a, SplitsPunctuationAndSymbols) {
  EXPECT_EQ(tokenize_13a("Hello, world!"), (Tokens{"Hello", ",", "world", "!"}));
  EXPECT_EQ(tokenize_13a("x{y}|z~[q]^_`@?=<>;:/+*()%#"),
            (Tokens{"x", "{", "y", "}", "|", "z", "~", "[", "q", "]", "^", "_", "`", "@",
                    "?", "=", "<", ">", ";", ":", "/", "+", "*", "(", ")", "%", "#"}));
  // The apostrophe and a '-' between letters are not split.
  EXPECT_EQ(tokenize_13a("don't say \"no\""), (Tokens{"don't", "say", "\"", "no", "\""}));
}

TEST(Tokenizer13a, KeepsPeriodsAndCommasInsideNumbers) {
  EXPECT_EQ(tokenize_13a("It costs $3.50, or 3,000 units."),
            (Tokens{"It", "costs", "$", "3.50", ",", "or", "3,000", "units", "."}));
  // '-' is split only after a digit; a final "2." is split thanks to the padding space.
  EXPECT_EQ(tokenize_13a("pre-2020 text-based 10-20 version 2."),
            (Tokens{"pre-2020", "text-based", "10", "-", "20", "version", "2", "."}));
  // Rule 2 consumes "a." so the second '.' is split by rule 3; "1.a" and "a.1" split once.
  EXPECT_EQ(tokenize_13a("a..b 1.a a.1 1.5"),
            (Tokens{"a", ".", ".", "b", "1", ".", "a", "a", ".", "1", "1.5"}));
}

TEST(Tokenizer13a, UnescapesEntitiesAndJoinsLines) {
  // &amp; is unescaped before &lt;, so "&amp;lt;" becomes "<".
  EXPECT_EQ(tokenize_13a("&amp; &lt;b&gt; &amp;lt; &quot;"),
            (Tokens{"&", "<", "b", ">", "<", "\""}));
  // Trailing whitespace goes first, so a final "-\n" keeps its '-'.
  EXPECT_EQ(tokenize_13a("line-\nbreak word end-\n"), (Tokens{"linebreak", "word", "end-"}));
  EXPECT_EQ(tokenize_13a("a<skipped>b"), (Tokens{"ab"}));
}

TEST(Tokenizer13a, SplitsOnUnicodeWhitespaceAndKeepsOtherCharacters) {
  EXPECT_EQ(tokenize_13a("a\u00a0b\u3000c\t\nd"), (Tokens{"a", "b", "c", "d"}));
  EXPECT_EQ(tokenize_13a("caf\u00e9. na\u00efve,\u00e9t\u00e9"),
            (Tokens{"caf\u00e9", ".", "na\u00efve", ",", "\u00e9t\u00e9"}));
  EXPECT_TRUE(tokenize_13a("").empty());
  EXPECT_TRUE(tokenize_13a("   ").empty());
}

// ---- nltk's sentence_bleu with SmoothingFunction().method1 ----

TEST(NltkSentenceBleu, MatchesNltk) {
  struct Case {
    const char* name;
    std::string hypothesis;
    std::vector<std::string> references;
    int order;
    double nltk;  // self_bleu_reference.py, nltk 3.8
  };
  const std::vector<Case> cases = {
      {"identical", "the cat sat on the mat", {"the cat sat on the mat"}, 4, 1.0},
      {"disjoint", "a b c d e", {"f g h i j"}, 4, 0.0},
      // p = 1/4, 0.1/3, 0.1/2, 0.1/1 and no brevity penalty: (4.1667e-5)^(1/4).
      {"unigram_only", "a b c d", {"a x y z"}, 4, 0.08034284189446518},
      {"shorter_than_order", "the cat", {"the cat sat on the mat"}, 4, 0.04279677428117006},
      {"one_token", "cat", {"cat sat"}, 4, 0.06541924356118012},
      {"clipping",
       "the the the the the the the",
       {"the cat is on the mat", "there is a cat on the mat"},
       4,
       0.039281465090051315},
      // Lengths 3 and 7 are both 2 away from 5: nltk takes 3, so there is no brevity penalty.
      {"closest_length_tie_to_shorter", "a b c d e", {"a b c", "a b c d e f g"}, 4, 1.0},
      // Closest reference has 6 tokens for a hypothesis of 4: exp(1 - 6/4).
      {"brevity_penalty", "a b c d", {"a b c d e f", "x a b c d e f g h"}, 4, 0.6065306597126334},
      {"repeated_bigrams", "a b a b a b c", {"a b c a b", "b a b a"}, 4, 0.5466325569645467},
      {"order_2",
       "the quick brown fox jumps",
       {"the quick red fox jumps high"},
       2,
       0.5178107940302672},
      {"order_3",
       "it is a guide to action",
       {"it is a guide to action that ensures", "it is the guiding principle"},
       3,
       1.0},
      {"order_1", "a a b c", {"a b b"}, 1, 0.5},
      {"empty_hypothesis", "", {"a b c"}, 4, 0.0},
  };
  for (const Case& c : cases)
    EXPECT_NEAR(nltk_sentence_bleu(words(c.hypothesis), all_words(c.references), c.order), c.nltk,
                kTolerance)
        << c.name;
}

TEST(NltkSentenceBleu, RejectsNoReferencesAndOrderZero) {
  EXPECT_THROW(nltk_sentence_bleu(words("a b"), {}, 4), megasft::Error);
  EXPECT_THROW(nltk_sentence_bleu(words("a b"), {words("a b")}, 0), megasft::Error);
}

// Each sample against all the others, averaged; values from self_bleu_reference.py's GROUPS.
TEST(SelfBleuNltk, MatchesNltkPerPrompt) {
  struct Group {
    const char* name;
    std::vector<std::string> samples;
    int order;
    double nltk;
  };
  const std::vector<Group> groups = {
      {"varied",
       {"the cat sat on the mat", "a cat sat on a mat", "the dog ran in the park"},
       4,
       0.16864961313169488},
      {"with_duplicate",
       {"one two three four five", "one two three four five", "one two three six seven",
        "eight nine"},
       4,
       0.5664786987118123},
      {"identical",
       {"same words here again", "same words here again", "same words here again"},
       4,
       1.0},
      {"disjoint", {"alpha beta gamma", "delta epsilon zeta", "eta theta iota"}, 4, 0.0},
      {"order_2", {"x y z x y", "y z x", "z z z y"}, 2, 0.46445110431751196},
  };
  for (const Group& g : groups) {
    const std::vector<Tokens> samples = all_words(g.samples);
    const std::vector<double> scores =
        self_bleu_sample_scores(samples, SelfBleuVariant::kNltk, g.order);
    EXPECT_NEAR(mean(scores), g.nltk, kTolerance) << g.name;
    // The best/second-best clipping agrees with scoring each sample against the others directly.
    for (size_t h = 0; h < samples.size(); ++h) {
      std::vector<Tokens> others = samples;
      others.erase(others.begin() + static_cast<std::ptrdiff_t>(h));
      EXPECT_NEAR(scores[h], nltk_sentence_bleu(samples[h], others, g.order), 1e-15) << g.name;
    }
  }
  EXPECT_THROW(self_bleu_sample_scores({words("a b")}, SelfBleuVariant::kNltk, 4), megasft::Error);
}

// ---- sacrebleu 2.x corpus_bleu, worked by hand (and equal to sacrebleu 2.4.3's output) ----

TEST(SacreBleu, MatchesTheFormulaWorkedByHand) {
  // hyp "the cat sat on the mat" / ref "the cat is on the mat", 6 and 6 tokens, BP = 1.
  // 1-grams: the x2, cat, on, mat match of 6 -> 100 * 5/6; 2-grams: the cat, on the, the mat of 5
  // -> 100 * 3/5; 3-grams: on the mat of 4 -> 100 * 1/4; 4-grams: none of 3, the first zero ->
  // 100 / (2 * 3). BLEU = geometric mean = 37.99178428257963.
  EXPECT_NEAR(sacrebleu_bleu(words("the cat sat on the mat"), words("the cat is on the mat")),
              std::pow((500.0 / 6) * 60.0 * 25.0 * (100.0 / 6), 0.25), kTolerance);
  // hyp "a b c d e" (5) / ref "a b x d e f g" (7): BP = exp(1 - 7/5). 1-grams a b d e: 4/5;
  // 2-grams ab de: 2/4; 3-grams none of 3 -> 100/(2*3); 4-grams none of 2 -> 100/(4*2).
  EXPECT_NEAR(sacrebleu_bleu(words("a b c d e"), words("a b x d e f g")),
              std::exp(1.0 - 7.0 / 5.0) * std::pow(80.0 * 50.0 * (100.0 / 6) * 12.5, 0.25),
              kTolerance);
  // hyp "the the the the" / ref "the cat": BP = 1 (4 >= 2). 1-grams: the x4 clipped to 1 -> 1/4;
  // 2-, 3-, 4-grams: 0 of 3, 2, 1 -> 100/(2*3), 100/(4*2), 100/(8*1).
  EXPECT_NEAR(sacrebleu_bleu(words("the the the the"), words("the cat")),
              std::pow(25.0 * (100.0 / 6) * 12.5 * 12.5, 0.25), kTolerance);
  // Fewer tokens than the order: no 4-grams, whose precision 0 makes BLEU 0 even for a copy.
  EXPECT_EQ(sacrebleu_bleu(words("a b c"), words("a b c")), 0.0);
  // Nothing matches: 0 before any smoothing.
  EXPECT_EQ(sacrebleu_bleu(words("a b c d"), words("x y z w")), 0.0);
  EXPECT_EQ(sacrebleu_bleu({}, words("x y z w")), 0.0);
}

// GEM: each sample against only the first other one (sample 1 for sample 0, else sample 0).
TEST(SelfBleuGem, ComparesWithTheFirstOtherSampleOnly) {
  const std::vector<Tokens> samples =
      all_words({"a b c d e", "a b c d f", "a b x d e", "q r s t u"});
  // s0 vs s1 and s1 vs s0: 4/5, 3/4, 2/3, 1/2 of equal lengths. (Against all others, s0 would
  // also match "d e" of s2 and score higher.)
  const double s0 = std::pow(80.0 * 75.0 * (200.0 / 3) * 50.0, 0.25);  // 66.87403049764218
  // s2 vs s0: a b d e 4/5; ab de 2/4; 0 of 3 -> 100/(2*3); 0 of 2 -> 100/(4*2).
  const double s2 = std::pow(80.0 * 50.0 * (100.0 / 6) * 12.5, 0.25);  // 30.213753973567677
  const std::vector<double> scores = self_bleu_sample_scores(samples, SelfBleuVariant::kGem, 4);
  ASSERT_EQ(scores.size(), 4u);
  EXPECT_NEAR(scores[0], s0, kTolerance);
  EXPECT_NEAR(scores[1], s0, kTolerance);
  EXPECT_NEAR(scores[2], s2, kTolerance);
  EXPECT_EQ(scores[3], 0.0);
  EXPECT_NEAR(mean(scores), 40.990453742213006, kTolerance);  // sacrebleu 2.4.3 gives the same
}

// ---- the file, the grouping and the report ----

TEST(SelfBleuReport, GroupsRowsOfEveryFormAndAveragesOverPrompts) {
  const std::string path = write_file(
      "self_bleu_mixed.jsonl",
      "{\"prompt\": \"p1\", \"samples\": [\"the cat sat on the mat\", \"a cat sat on a mat\", "
      "\"the dog ran in the park\"]}\n"
      "{\"benchmark\": \"math\", \"problem_index\": 3, \"problem_id\": \"q3\", \"prompt\": \"p2\", "
      "\"sample_index\": 2, \"response\": \"one two three six seven\", \"correct\": false}\n"
      "\n"
      "{\"prompt_id\": 7, \"response\": \"alpha beta gamma\"}\n"
      "{\"benchmark\": \"math\", \"problem_index\": 3, \"problem_id\": \"q3\", \"prompt\": \"p2\", "
      "\"sample_index\": 0, \"response\": \"one two three four five\", \"correct\": true}\n"
      "{\"prompt_id\": 7, \"response\": \"delta epsilon zeta\"}\n"
      "{\"prompt\": \"lonely\", \"samples\": [\"only one sample\"]}\n"
      "{\"benchmark\": \"math\", \"problem_index\": 3, \"problem_id\": \"q3\", \"prompt\": \"p2\", "
      "\"sample_index\": 3, \"response\": \"eight nine\", \"correct\": false}\n"
      "{\"prompt\": \"p4\", \"samples\": [\"same words here again\", \"same words here again\"]}\n"
      "{\"benchmark\": \"math\", \"problem_index\": 3, \"problem_id\": \"q3\", \"prompt\": \"p2\", "
      "\"sample_index\": 1, \"response\": \"one two three four five\", \"correct\": true}\n"
      "{\"prompt\": \"p4\", \"samples\": [\"same words here again\"]}\n"
      "{\"prompt_id\": 7, \"response\": \"eta theta iota\"}\n");
  const std::vector<PromptGenerations> prompts = read_generations_file(path);
  ASSERT_EQ(prompts.size(), 5u);
  EXPECT_EQ(prompts[1].key, "[\"problem_index\",\"math\",3]");
  EXPECT_EQ(prompts[1].first_line, 2);
  EXPECT_EQ(prompts[1].samples,  // sorted by sample_index
            (std::vector<std::string>{"one two three four five", "one two three four five",
                                      "one two three six seven", "eight nine"}));
  EXPECT_EQ(prompts[2].key, "[\"prompt_id\",7]");

  const SelfBleuReport report = self_bleu_report(prompts, SelfBleuVariant::kNltk, 4);
  // self_bleu_reference.py: the mean of varied, with_duplicate, identical and disjoint.
  EXPECT_NEAR(report.self_bleu, 0.4337820779608768, kTolerance);
  EXPECT_EQ(report.prompts, 4);
  EXPECT_EQ(report.prompts_skipped, 1);
  EXPECT_EQ(report.samples, 13);

  const nlohmann::json json = self_bleu_report_json(report);
  EXPECT_EQ(json["variant"], "nltk");
  EXPECT_EQ(json["scale"], 1.0);
  EXPECT_EQ(json["prompts_skipped"], 1);
  EXPECT_EQ(json["tokenization"], std::string(kTokenizer13aDescription));
  EXPECT_FALSE(json.contains("bleu_diversity_score"));
  const std::string text = self_bleu_report_text(report);
  EXPECT_NE(text.find("self-BLEU: 0.433782 (0-1"), std::string::npos) << text;
  EXPECT_NE(text.find("4 scored, 1 skipped"), std::string::npos) << text;
}

TEST(SelfBleuReport, GemVariantUsesSampleIndexOrder) {
  // Written out of order: sorted by sample_index, sample 0 is "a b c d e" as in SelfBleuGem.
  const std::string path =
      write_file("self_bleu_gem.jsonl",
                 "{\"prompt\": \"p\", \"sample_index\": 2, \"response\": \"a b x d e\"}\n"
                 "{\"prompt\": \"p\", \"sample_index\": 0, \"response\": \"a b c d e\"}\n"
                 "{\"prompt\": \"p\", \"sample_index\": 3, \"response\": \"q r s t u\"}\n"
                 "{\"prompt\": \"p\", \"sample_index\": 1, \"response\": \"a b c d f\"}\n");
  const SelfBleuReport report =
      self_bleu_report(read_generations_file(path), SelfBleuVariant::kGem, 4);
  EXPECT_NEAR(report.self_bleu, 40.990453742213006, kTolerance);
  const nlohmann::json json = self_bleu_report_json(report);
  EXPECT_EQ(json["variant"], "gem");
  EXPECT_EQ(json["scale"], 100.0);
  EXPECT_NEAR(json["bleu_diversity_score"].get<double>(), 100.0 - 40.990453742213006, kTolerance);
  EXPECT_NE(self_bleu_report_text(report).find("GEM bleu_diversity_score"), std::string::npos);
  // Another order is not GEM's 4-gram BLEU.
  EXPECT_THROW(self_bleu_report(read_generations_file(path), SelfBleuVariant::kGem, 2),
               megasft::Error);
}

void expect_error(const std::string& name, const std::string& text, const std::string& needle) {
  const std::string path = write_file(name, text);
  try {
    read_generations_file(path);
    ADD_FAILURE() << "no error for " << name;
  } catch (const megasft::Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(GenerationsFile, BadRowsNameFileAndLine) {
  const std::string ok = "{\"prompt\": \"p\", \"response\": \"a\"}\n";
  expect_error("bad_json.jsonl", ok + ok + "{\"prompt\": \n", "bad_json.jsonl:3: not valid JSON");
  expect_error("not_object.jsonl", ok + "[1, 2]\n",
               "not_object.jsonl:2: a row must be a JSON object");
  expect_error("no_key.jsonl", "{\"response\": \"a\"}\n", "no_key.jsonl:1: a row needs");
  expect_error("neither.jsonl", "{\"prompt\": \"p\"}\n",
               "neither.jsonl:1: a row needs exactly one");
  expect_error("both.jsonl", "{\"prompt\": \"p\", \"response\": \"a\", \"samples\": []}\n",
               "both.jsonl:1: a row needs exactly one");
  expect_error("bad_sample.jsonl", "{\"prompt\": \"p\", \"samples\": [\"a\", 3]}\n",
               "bad_sample.jsonl:1: \"samples\"[1] must be a string");
  expect_error("null_response.jsonl", "{\"prompt\": \"p\", \"response\": null}\n",
               "null_response.jsonl:1: \"response\" must be a string");
  expect_error("repeated.jsonl",
               "{\"prompt\": \"p\", \"sample_index\": 0, \"response\": \"a\"}\n"
               "{\"prompt\": \"p\", \"sample_index\": 0, \"response\": \"b\"}\n",
               "repeated.jsonl:2: sample_index 0 of prompt [\"prompt\",\"p\"] already appeared at "
               "line 1");
  expect_error("empty.jsonl", "\n\n", "has no rows");
  EXPECT_THROW(read_generations_file(::testing::TempDir() + "does_not_exist.jsonl"),
               megasft::Error);
}

TEST(SelfBleuReport, NeedsAPromptWithTwoSamples) {
  const std::vector<PromptGenerations> prompts = {{"[\"prompt\",\"p\"]", 1, {"one sample"}}};
  EXPECT_THROW(self_bleu_report(prompts, SelfBleuVariant::kNltk, 4), megasft::Error);
}

}  // namespace
}  // namespace megasft::eval
