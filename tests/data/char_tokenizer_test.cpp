#include "megasft/data/char_tokenizer.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "kernels/check.h"

namespace megasft::data {
namespace {

std::string all_supported_characters() {
  std::string text = "\n";
  for (int c = 32; c <= 126; ++c) text += static_cast<char>(c);
  return text;
}

TEST(CharTokenizer, SpecialIdsAndVocabulary) {
  const CharTokenizer tok;
  EXPECT_EQ(tok.pad_id(), 0);
  EXPECT_EQ(tok.bos_id(), 1);
  EXPECT_EQ(tok.eos_id(), 2);
  EXPECT_EQ(tok.vocab_size(), 3 + 1 + 95);
  EXPECT_EQ(CharTokenizer::kName, "char-v1");
}

TEST(CharTokenizer, RoundTripsEveryCharacterWithDistinctIds) {
  const CharTokenizer tok;
  const std::string text = all_supported_characters();
  const std::vector<int32_t> ids = tok.encode(text);
  ASSERT_EQ(ids.size(), text.size());
  std::set<int32_t> distinct(ids.begin(), ids.end());
  EXPECT_EQ(distinct.size(), text.size());
  for (int32_t id : ids) {
    EXPECT_GE(id, 3);
    EXPECT_LT(id, tok.vocab_size());
  }
  EXPECT_EQ(tok.decode(ids), text);
  EXPECT_EQ(tok.decode(tok.encode("User: 12 + 7 = 19?\n")), "User: 12 + 7 = 19?\n");
  EXPECT_TRUE(tok.encode("").empty());
}

TEST(CharTokenizer, DecodesSpecials) {
  const CharTokenizer tok;
  std::vector<int32_t> ids = {tok.bos_id()};
  for (int32_t id : tok.encode("hi")) ids.push_back(id);
  ids.push_back(tok.eos_id());
  ids.push_back(tok.pad_id());
  EXPECT_EQ(tok.decode(ids), "<|bos|>hi<|eot|><|pad|>");
}

TEST(CharTokenizer, RejectsCharactersOutsideTheAlphabet) {
  const CharTokenizer tok;
  try {
    tok.encode("ab\tc");
    FAIL() << "tab must be rejected";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("0x09"), std::string::npos) << msg;
    EXPECT_NE(msg.find("byte offset 2"), std::string::npos) << msg;
  }
  try {
    tok.encode("caf\xc3\xa9");
    FAIL() << "non-ASCII must be rejected";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("0xc3"), std::string::npos) << msg;
    EXPECT_NE(msg.find("byte offset 3"), std::string::npos) << msg;
  }
}

TEST(CharTokenizer, RejectsOutOfRangeIds) {
  const CharTokenizer tok;
  const std::vector<int32_t> too_big = {5, tok.vocab_size()};
  const std::vector<int32_t> negative = {-1};
  EXPECT_THROW(tok.decode(too_big), Error);
  EXPECT_THROW(tok.decode(negative), Error);
  try {
    tok.decode(too_big);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("99"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace megasft::data
