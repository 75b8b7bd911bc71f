#include "megasft/data/chat_format.h"

#include <gtest/gtest.h>

namespace megasft::data {
namespace {

TEST(ChatFormat, MasksPromptAndSupervisesAnswerWithEndOfTurn) {
  const CharTokenizer tok;
  const std::vector<ChatExample> examples = {{"1 + 1?", "2"}, {"Hi", "Hello there."}};
  const TokenizedSamples s = tokenize_chat(examples, tok);
  EXPECT_EQ(s.vocab_size, tok.vocab_size());
  EXPECT_EQ(s.tokenizer, "char-v1");
  ASSERT_EQ(s.offsets.size(), 3u);
  EXPECT_EQ(s.offsets[0], 0);
  EXPECT_EQ(s.offsets.back(), static_cast<int64_t>(s.tokens.size()));
  ASSERT_EQ(s.loss_mask.size(), s.tokens.size());
  for (size_t i = 0; i < examples.size(); ++i) {
    const std::string context = "User: " + examples[i].prompt + "\nAssistant: ";
    const std::vector<int32_t> sample(s.tokens.begin() + s.offsets[i],
                                      s.tokens.begin() + s.offsets[i + 1]);
    const std::vector<uint8_t> mask(s.loss_mask.begin() + s.offsets[i],
                                    s.loss_mask.begin() + s.offsets[i + 1]);
    ASSERT_EQ(sample.size(), 1 + context.size() + examples[i].answer.size() + 1);
    EXPECT_EQ(tok.decode(sample), "<|bos|>" + context + examples[i].answer + "<|eot|>");
    for (size_t t = 0; t < sample.size(); ++t) {
      EXPECT_EQ(mask[t], t > context.size() ? 1 : 0) << "sample " << i << " position " << t;
    }
    EXPECT_EQ(sample.front(), tok.bos_id());
    EXPECT_EQ(sample.back(), tok.eos_id());
  }
}

TEST(ChatFormat, EmptyInputGivesNoSamples) {
  const TokenizedSamples s = tokenize_chat({}, CharTokenizer());
  EXPECT_EQ(s.offsets, std::vector<int64_t>{0});
  EXPECT_TRUE(s.tokens.empty());
}

}  // namespace
}  // namespace megasft::data
