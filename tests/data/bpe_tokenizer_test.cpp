// The BPE tokenizer without the network: merge order, added tokens, the pre-tokenizer regex,
// UTF-8 handling, and malformed tokenizer.json files that must name the file and the field.
#include "megasft/data/bpe_tokenizer.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "kernels/check.h"
#include "megasft/data/added_tokens.h"
#include "megasft/data/regex_splitter.h"
#include "megasft/data/unicode_text.h"
#include "temp_dir.h"
#include "tiny_tokenizer.h"

namespace megasft::data {
namespace {

using nlohmann::json;
using testing::TempDir;

BpeTokenizer tiny(const TempDir& dir, const std::function<void(json&)>& edit = {}) {
  json j = testing::tiny_tokenizer_json();
  if (edit) edit(j);
  return BpeTokenizer::from_file(testing::write_json(dir.file("tokenizer.json"), j));
}

TEST(BpeTokenizer, MergesByRankAndDecodesBack) {
  TempDir dir;
  const BpeTokenizer tok = tiny(dir);
  const std::vector<int32_t> ids = tok.encode("hello world");
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(tok.token_bytes(ids[0]), "hello");
  EXPECT_EQ(tok.token_bytes(ids[1]), " world");
  EXPECT_EQ(tok.decode(ids), "hello world");
  // "aaaaa": rank 10 merges (a,a) leftmost first -> aa aa a, then (aa,aa) -> aaaa a.
  const std::vector<int32_t> a5 = tok.encode("aaaaa");
  ASSERT_EQ(a5.size(), 2u);
  EXPECT_EQ(tok.token_bytes(a5[0]), "aaaa");
  EXPECT_EQ(tok.token_bytes(a5[1]), "a");
  // Cached words give the same ids again; very long words (not cached) merge the same way.
  EXPECT_EQ(tok.encode("aaaaa"), a5);
  const std::vector<int32_t> long_word = tok.encode(std::string(1001, 'a'));
  EXPECT_EQ(long_word.size(), 251u);  // 250 x "aaaa" + "a"
  EXPECT_EQ(tok.decode(long_word), std::string(1001, 'a'));
}

TEST(BpeTokenizer, IgnoreMergesEmitsVocabularyWordsWhole) {
  TempDir dir;
  // "hel" is in no merge path of "hel" -> (he)(l); with ignore_merges a vocab entry wins.
  const BpeTokenizer with = tiny(dir, [](json& j) {
    j["model"]["vocab"]["hel"] = 999;
    j["model"]["ignore_merges"] = true;
  });
  EXPECT_EQ(with.encode("hel"), std::vector<int32_t>{999});
  TempDir dir2;
  const BpeTokenizer without = tiny(dir2, [](json& j) { j["model"]["vocab"]["hel"] = 999; });
  EXPECT_EQ(without.encode("hel").size(), 2u);
}

TEST(BpeTokenizer, SplitsAddedTokensLeftmostLongest) {
  TempDir dir;
  const BpeTokenizer tok = tiny(dir);
  const int32_t eot = *tok.added_token_id("<|eot_id|>");
  const std::vector<int32_t> ids = tok.encode("hello<|eot_id|><|eot_id|");
  ASSERT_GE(ids.size(), 3u);
  EXPECT_EQ(ids[1], eot);
  EXPECT_EQ(tok.decode(ids), "hello<|eot_id|><|eot_id|");
  // lstrip / rstrip swallow the whitespace beside the token.
  AddedTokenMatcher m(
      {{7, "<x>", true, true, true, false}, {8, "<x><y>", true, false, false, false}});
  std::vector<TextSegment> seg;
  m.split("a  <x>\u3000b<x><y>c", seg);
  ASSERT_EQ(seg.size(), 5u);
  EXPECT_EQ(seg[0].text, "a");
  EXPECT_EQ(seg[1].id, 7);
  EXPECT_EQ(seg[1].text, "  <x>\u3000");
  EXPECT_EQ(seg[2].text, "b");
  EXPECT_EQ(seg[3].id, 8);  // longest match wins over the shorter <x>
  EXPECT_EQ(seg[4].text, "c");
}

TEST(BpeTokenizer, RegexUsesUnicodeWhiteSpaceLikeOniguruma) {
  EXPECT_EQ(oniguruma_to_pcre2("\\s+(?!\\S)|[^\\s\\p{L}]", "t"),
            "[\\t\\n\\x0B\\f\\r\\x{85}\\p{Z}]+(?![^\\t\\n\\x0B\\f\\r\\x{85}\\p{Z}])|"
            "[^\\t\\n\\x0B\\f\\r\\x{85}\\p{Z}\\p{L}]");
  EXPECT_THROW(oniguruma_to_pcre2("[\\S]", "t"), Error);
  const RegexSplitter split(testing::kLlama3Pattern, false, "test");
  std::vector<std::string_view> pieces;
  // U+180E is not White_Space (Unicode >= 6.3), though PCRE2's own \s would take it.
  split.split("a\u180E b  \n\nc 12345 don't", pieces);
  const std::vector<std::string_view> expected = {"a", "\u180E", " b", "  \n\n", "c",
                                                  " ", "123",    "45", " don",   "'t"};
  EXPECT_EQ(pieces, expected);
  // A 1 MB run of spaces and a 1 MB word stay within PCRE2's JIT stack.
  pieces.clear();
  const std::string spaces(1 << 20, ' ');
  split.split(spaces + "x", pieces);
  ASSERT_EQ(pieces.size(), 2u);
  EXPECT_EQ(pieces[0].size(), spaces.size() - 1);
}

TEST(BpeTokenizer, RejectsInvalidUtf8AndRepairsDecodedBytes) {
  TempDir dir;
  const BpeTokenizer tok = tiny(dir);
  try {
    tok.encode("ok \xC3\x28");
    ADD_FAILURE() << "invalid UTF-8 must throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("byte offset 3"), std::string::npos) << e.what();
  }
  // One U+FFFD per maximal ill-formed subsequence, as Rust's from_utf8_lossy.
  EXPECT_EQ(repair_utf8("a\xF0\x9F\x98"
                        "b\xFF"),
            "a\uFFFD"
            "b\uFFFD");
  EXPECT_EQ(repair_utf8("\xED\xA0\x80"), "\uFFFD\uFFFD\uFFFD");  // a surrogate: 3 replacements
  const std::vector<int32_t> partial = {0xF0, 0x9F};             // byte tokens have ids 0..255 here
  EXPECT_EQ(tok.decode(partial), "\uFFFD");
  EXPECT_THROW(tok.decode(std::vector<int32_t>{tok.vocab_size()}), Error);
  EXPECT_EQ(python_strip(" \t\u3000\x1f hi \u00a0\n"), "hi");
  EXPECT_EQ(nfc("cafe\u0301"), "caf\u00e9");
}

// The malformed-file cases: each message must name the file and the field.
void expect_tokenizer_error(const std::function<void(json&)>& edit, const std::string& field,
                            const std::string& more = "") {
  TempDir dir;
  const std::string path = dir.file("tokenizer.json");
  json j = testing::tiny_tokenizer_json();
  edit(j);
  testing::write_json(path, j);
  try {
    BpeTokenizer::from_file(path);
    ADD_FAILURE() << "expected an error naming '" << field << "'";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find(field), std::string::npos) << msg;
    EXPECT_NE(msg.find(more), std::string::npos) << msg;
  }
}

TEST(TokenizerJson, MalformedFilesNameTheFileAndField) {
  expect_tokenizer_error(
      [](json& j) {
        j["normalizer"] = {{"type", "NFKC"}};
      },
      "normalizer.type", "NFKC");
  expect_tokenizer_error(
      [](json& j) { j["pre_tokenizer"]["pretokenizers"][0]["behavior"] = "Removed"; },
      "pre_tokenizer.pretokenizers[0].behavior", "Removed");
  expect_tokenizer_error(
      [](json& j) {
        j["pre_tokenizer"]["pretokenizers"][0]["pattern"] = {{"Regex", "(unclosed"}};
      },
      "pre_tokenizer.pretokenizers[0].pattern.Regex");
  expect_tokenizer_error([](json& j) { j["pre_tokenizer"]["pretokenizers"].erase(1); },
                         "pre_tokenizer", "ByteLevel");
  expect_tokenizer_error([](json& j) { j["model"]["type"] = "WordPiece"; }, "model.type");
  expect_tokenizer_error([](json& j) { j["model"]["byte_fallback"] = true; },
                         "model.byte_fallback");
  expect_tokenizer_error([](json& j) { j["model"]["merges"][2] = "he"; }, "model.merges[2]");
  expect_tokenizer_error([](json& j) { j["model"]["merges"][3] = "zz qq"; }, "model.merges[3]",
                         "zz");
  expect_tokenizer_error([](json& j) { j["model"]["vocab"].erase("Ā"); }, "model.vocab", "byte 0");
  expect_tokenizer_error([](json& j) { j.erase("model"); }, "model", "missing");
  expect_tokenizer_error([](json& j) { j["added_tokens"][1]["single_word"] = true; },
                         "added_tokens[1].single_word");
  expect_tokenizer_error([](json& j) { j["decoder"] = {{"type", "Metaspace"}}; }, "decoder.type");
  expect_tokenizer_error([](json& j) { j["truncation"] = {{"max_length", 8}}; }, "truncation");

  TempDir dir;
  const std::string path = dir.file("broken.json");
  std::ofstream(path) << "{\"model\": ";
  try {
    BpeTokenizer::from_file(path);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path + "' is not valid JSON"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(BpeTokenizer::from_file(dir.file("missing.json")), Error);
}

TEST(TokenizerJson, ReadsBothMergeFormsAndNfc) {
  TempDir dir;
  const BpeTokenizer strings = tiny(dir);
  TempDir dir2;
  const BpeTokenizer pairs = tiny(dir2, [](json& j) {
    json merges = json::array();
    for (const auto& [a, b] : testing::tiny_merges()) merges.push_back({a, b});
    j["model"]["merges"] = merges;
    j["normalizer"] = {{"type", "Sequence"}, {"normalizers", json::array({{{"type", "NFC"}}})}};
  });
  EXPECT_EQ(strings.encode("hello world"), pairs.encode("hello world"));
  EXPECT_EQ(pairs.decode(pairs.encode("cafe\u0301")), "caf\u00e9");
  EXPECT_EQ(strings.decode(strings.encode("cafe\u0301")), "cafe\u0301");
}

}  // namespace
}  // namespace megasft::data
