// Exact id equality with the JavaScript reference tokenizers for the real Llama 3 and Qwen3
// tokenizer.json files, over a fixed corpus (English, code, numbers, whitespace runs, CJK, emoji,
// accents, contractions, special-token text) plus random mixtures of the hard fragments; and
// decode round trips, including partial UTF-8 that must become U+FFFD as in the reference.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "megasft/data/bpe_tokenizer.h"
#include "megasft/data/rng.h"
#include "megasft/data/unicode_text.h"
#include "tokenizer_reference.h"

namespace megasft::data {
namespace {

using nlohmann::json;
using testing::reference_tokenizer;
using testing::ReferenceTokenizerTest;
using testing::run_reference;

const std::vector<std::string>& fixed_corpus() {
  static const std::vector<std::string> corpus = {
      "",
      "Hello, world!",
      "The quick brown fox jumps over the lazy dog.",
      "don't DON'T we'll I'M you're they've she'd it's O'Neil's rock'n'roll",
      "12345678 3.14159 1,000,000 2024-01-31 0x1F 1e-9 -42 +7 100%",
      "    leading spaces",
      "trailing spaces    ",
      "a  b   c    d     e",
      "line1\nline2\r\nline3\n\n\nline4\n",
      "\t\tindented\ttabs\t",
      "   ",
      "\n",
      " \n \n  \n",
      "def foo(x):\n    return x**2 + 1  # comment\n\n\nclass A:\n\tpass\n",
      "for (int i = 0; i < n; ++i) { sum += a[i]; } // C++\n",
      "<div class=\"x\">&nbsp;</div>",
      "https://example.com/path?q=1&r=2#frag user@example.org",
      "你好，世界！这是一个测试。",
      "日本語のテキストです。カタカナ",
      "한국어 텍스트입니다",
      "Ελληνικά Русский العربية हिन्दी ภาษาไทย",
      "I love 🍕 and 🚀🚀! 👍🏽 👨‍👩‍👧 ✨",
      "café naïve résumé Ångström Zürich São Paulo façade",
      "cafe\u0301 decomposed e\u0301 and a\u030a",
      "∑_{i=1}^{n} x_i² ≤ ∞, ∂f/∂x = ½, \\frac{1}{2} + \\sqrt{x}",
      "Mr. O'Neil's 3rd-place finish—wow!!! (really?) “quoted” ‘single’ …",
      "it’s curly’s ’S",
      "a\u00a0b\u3000c\u2009d\u202fe",
      "a\u180e b a \u180eb \u180e\u180e!",  // U+180E: not White_Space, though PCRE2's \s takes it
      "<|begin_of_text|>Hello<|eot_id|>",
      "<|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>",
      "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
      "<think>\nreasoning\n</think>\n\nanswer",
      "partial <|eot_id <|im_end| <| |> <<||>>",
      std::string(300, 'a'),
      std::string(50, ' ') + "x" + std::string(50, '\n'),
      "supercalifragilisticexpialidocious antidisestablishmentarianism",
  };
  return corpus;
}

// Random concatenations of fragments that sit on the regex's and the merges' edges.
std::vector<std::string> random_corpus(int count) {
  static const std::vector<std::string> fragments = {"the",
                                                     " the",
                                                     "The",
                                                     " quick",
                                                     "Hello",
                                                     ",",
                                                     ".",
                                                     "!",
                                                     "?",
                                                     " ",
                                                     "  ",
                                                     "   ",
                                                     "\n",
                                                     "\n\n",
                                                     "\r\n",
                                                     "\t",
                                                     "'s",
                                                     "'t",
                                                     "'re",
                                                     "'ve",
                                                     "'m",
                                                     "'ll",
                                                     "'d",
                                                     "'S",
                                                     "’s",
                                                     "don't",
                                                     " I'M",
                                                     "1",
                                                     "12",
                                                     "123",
                                                     "1234",
                                                     "12345678",
                                                     "3.14",
                                                     "-",
                                                     "--",
                                                     "...",
                                                     "()",
                                                     "[]",
                                                     "{}",
                                                     "<",
                                                     ">",
                                                     "<|",
                                                     "|>",
                                                     "<|eot_id|>",
                                                     "<|im_end|>",
                                                     "<|im_start|>",
                                                     "<|begin_of_text|>",
                                                     "<think>",
                                                     "</think>",
                                                     "你好",
                                                     "世界",
                                                     "。",
                                                     "，",
                                                     "日本語",
                                                     "한국어",
                                                     "é",
                                                     "e\u0301",
                                                     "ñ",
                                                     "ü",
                                                     "Å",
                                                     "ß",
                                                     "Ω",
                                                     "Привет",
                                                     "مرحبا",
                                                     "नमस्ते",
                                                     "🙂",
                                                     "🚀",
                                                     "👍🏽",
                                                     "👨‍👩‍👧",
                                                     "\u00a0",
                                                     "\u3000",
                                                     "\u2009",
                                                     "x",
                                                     "y",
                                                     "z",
                                                     "_",
                                                     "__init__",
                                                     "def",
                                                     " return",
                                                     "=",
                                                     "==",
                                                     "+=",
                                                     "/*",
                                                     "*/",
                                                     "//",
                                                     "#",
                                                     "$",
                                                     "%",
                                                     "^",
                                                     "&&",
                                                     "||",
                                                     "\\",
                                                     "\"",
                                                     "'",
                                                     "`",
                                                     "~",
                                                     "@",
                                                     "\u200d",
                                                     "\u0301",
                                                     "ǅ",
                                                     "ﬁ",
                                                     "Ⅻ",
                                                     "½",
                                                     "²"};
  std::vector<std::string> out;
  uint64_t state = 20240531;
  auto next = [&](uint64_t bound) {
    state = mix64(state + 0x9E3779B97F4A7C15ULL);
    return state % bound;
  };
  for (int i = 0; i < count; ++i) {
    std::string s;
    const uint64_t pieces = 1 + next(16);
    for (uint64_t k = 0; k < pieces; ++k) s += fragments[next(fragments.size())];
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<std::string> corpus() {
  std::vector<std::string> all = fixed_corpus();
  for (std::string& s : random_corpus(400)) all.push_back(std::move(s));
  // Real English prose in every Debian install (base-files): the GPL, 35 KB, as one text.
  const std::string gpl = "/usr/share/common-licenses/GPL-3";
  if (std::filesystem::exists(gpl)) all.push_back(testing::slurp(gpl));
  return all;
}

std::string show_ids(const std::vector<int32_t>& ids) { return json(ids).dump(); }

void expect_same_ids_as_reference(const std::string& which) {
  const BpeTokenizer& tok = reference_tokenizer(which);
  const std::vector<std::string> texts = corpus();
  const std::vector<json> expected = run_reference(which, "encode", {texts.begin(), texts.end()});
  ASSERT_EQ(expected.size(), texts.size());
  int mismatches = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::vector<int32_t> ids = tok.encode(texts[i]);
    const auto want = expected[i].get<std::vector<int32_t>>();
    if (ids != want && ++mismatches <= 10) {
      ADD_FAILURE() << which << " text " << i << " " << json(texts[i]).dump().substr(0, 300)
                    << "\n  megasft:   " << show_ids(ids).substr(0, 300)
                    << "\n  reference: " << show_ids(want).substr(0, 300);
    }
  }
  EXPECT_EQ(mismatches, 0) << "of " << texts.size() << " texts";
  // A second pass is served from the word cache and must not change anything.
  for (size_t i = 0; i < texts.size(); ++i) {
    EXPECT_EQ(tok.encode(texts[i]), expected[i].get<std::vector<int32_t>>()) << i;
  }
}

TEST_F(ReferenceTokenizerTest, Llama3IdsEqualReference) { expect_same_ids_as_reference("llama3"); }

TEST_F(ReferenceTokenizerTest, Qwen3IdsEqualReference) { expect_same_ids_as_reference("qwen3"); }

void expect_decode_round_trip(const std::string& which, bool nfc_normalizes) {
  const BpeTokenizer& tok = reference_tokenizer(which);
  const std::vector<std::string> texts = corpus();
  std::vector<json> id_lists;
  for (const std::string& text : texts) {
    const std::vector<int32_t> ids = tok.encode(text);
    // Lossless: decoding gives the text back (after NFC when the tokenizer normalizes).
    EXPECT_EQ(tok.decode(ids), nfc_normalizes ? nfc(text) : text) << json(text).dump();
    id_lists.emplace_back(ids);
    // A prefix may end inside a multi-byte character: U+FFFD, as the reference decodes it.
    id_lists.emplace_back(std::vector<int32_t>(
        ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(ids.size() / 2)));
  }
  const std::vector<json> expected = run_reference(which, "decode", id_lists);
  ASSERT_EQ(expected.size(), id_lists.size());
  for (size_t i = 0; i < id_lists.size(); ++i) {
    const auto ids = id_lists[i].get<std::vector<int32_t>>();
    EXPECT_EQ(tok.decode(ids), expected[i].get<std::string>()) << show_ids(ids).substr(0, 300);
  }
}

TEST_F(ReferenceTokenizerTest, Llama3DecodeRoundTrip) { expect_decode_round_trip("llama3", false); }

TEST_F(ReferenceTokenizerTest, Qwen3DecodeRoundTrip) { expect_decode_round_trip("qwen3", true); }

TEST_F(ReferenceTokenizerTest, VocabularySizesAndSpecialIds) {
  const BpeTokenizer& llama = reference_tokenizer("llama3");
  EXPECT_EQ(llama.vocab_size(), 128256);
  EXPECT_EQ(llama.added_token_id("<|begin_of_text|>"), 128000);
  EXPECT_EQ(llama.added_token_id("<|eot_id|>"), 128009);
  EXPECT_TRUE(llama.regex_jit());
  const BpeTokenizer& qwen = reference_tokenizer("qwen3");
  EXPECT_EQ(qwen.vocab_size(), 151669);
  EXPECT_EQ(qwen.added_token_id("<|im_start|>"), 151644);
  EXPECT_EQ(qwen.added_token_id("<|im_end|>"), 151645);
}

}  // namespace
}  // namespace megasft::data
