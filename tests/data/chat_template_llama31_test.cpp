// The Llama 3.1 / 3.2 chat template (--template llama3.1) against the text its official Jinja
// template renders, written out here by hand from that template: the system turn with the two date
// lines always comes first; the ids are the tokenizer's encoding of that text; the loss mask covers
// exactly each assistant answer and its <|eot_id|>.
#include <gtest/gtest.h>

#include "kernels/check.h"
#include "megasft/data/chat_template.h"
#include "tests/data/temp_dir.h"
#include "tests/data/tiny_tokenizer.h"

namespace megasft::data {
namespace {

std::string masked_text(const BpeTokenizer& tok, const TokenizedChat& chat) {
  std::vector<int32_t> ids;
  for (size_t i = 0; i < chat.tokens.size(); ++i)
    if (chat.loss_mask[i]) ids.push_back(chat.tokens[i]);
  return tok.decode(ids);
}

TEST(ChatTemplateLlama31, RendersTheDateLinesAndMasksOnlyAnswers) {
  testing::TempDir dir;
  const auto tok = BpeTokenizer::from_file(testing::write_json(dir.file("t.json"), testing::tiny_tokenizer_json()));
  const std::vector<ChatMessage> with_system = {
      {"system", "  Be brief. "}, {"user", "hello world"}, {"assistant", " hello! "}, {"user", "again"},
      {"assistant", "world"}};
  ChatTemplate chat(ChatTemplateKind::kLlama31, tok);
  const std::string expected =
      "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\n"
      "Today Date: 26 Jul 2024\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nhello world"
      "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nhello!<|eot_id|><|start_header_id|>user"
      "<|end_header_id|>\n\nagain<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nworld<|eot_id|>";
  EXPECT_EQ(chat.render(with_system), expected);
  const auto encoded = chat.encode(with_system);
  EXPECT_EQ(encoded.tokens, tok.encode(expected));
  EXPECT_EQ(masked_text(tok, encoded), "hello!<|eot_id|>world<|eot_id|>");

  // No system message: the system turn still comes, with the dates only; a given date is used.
  ChatTemplate dated(ChatTemplateKind::kLlama31, tok, std::nullopt, "23 Nov 2026");
  const std::vector<ChatMessage> bare = {{"user", "hi"}, {"assistant", "hello"}};
  EXPECT_EQ(dated.render(bare),
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\n"
            "Today Date: 23 Nov 2026\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\nhello<|eot_id|>");
  // --system-prompt fills the system turn of conversations without one.
  ChatTemplate prompted(ChatTemplateKind::kLlama31, tok, std::string("Reason step by step."));
  EXPECT_NE(prompted.render(bare).find("Today Date: 26 Jul 2024\n\nReason step by step.<|eot_id|>"), std::string::npos);
  EXPECT_EQ(parse_chat_template_kind("llama3.1"), ChatTemplateKind::kLlama31);
  EXPECT_THROW(ChatTemplate(ChatTemplateKind::kLlama31, tok, std::nullopt, "two\nlines"), megasft::Error);
}

}  // namespace
}  // namespace megasft::data
