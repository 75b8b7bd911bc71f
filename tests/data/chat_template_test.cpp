// Chat templates token by token against the reference: transformers.js renders each conversation
// with the official Llama 3 / Qwen2.5 Jinja template and encodes the text with special tokens
// split out; megasft must render the same text and produce the same ids. Then the loss mask:
// exactly the assistant contents and their end-of-turn tokens.
#include "megasft/data/chat_template.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kernels/check.h"
#include "megasft/data/unicode_text.h"
#include "tokenizer_reference.h"

namespace megasft::data {
namespace {

using nlohmann::json;
using testing::reference_tokenizer;
using testing::ReferenceTokenizerTest;
using testing::run_reference;
using Conversation = std::vector<ChatMessage>;

const std::vector<Conversation>& conversations() {
  static const std::vector<Conversation> all = {
      {{"user", "Hi"}, {"assistant", "Hello there."}},
      {{"system", "You are terse."}, {"user", "2+2?"}, {"assistant", "4"}},
      {{"system", "  padded system  "},
       {"user", "  spaces around  \n"},
       {"assistant", "\n\n  Answer with spaces.  \n"},
       {"user", "again"},
       {"assistant", "Second answer."}},
      {{"user", "Write code"}, {"assistant", "```python\ndef f(x):\n    return x\n```"}},
      {{"user", "你好"}, {"assistant", "你好！有什么可以帮你的吗？ 😀"}},
      {{"user", "cafe\u0301?"}, {"assistant", "café — naïve"}},
      {{"user", "empty answer"}, {"assistant", ""}},
      {{"user", "say <|eot_id|> or <|im_end|>"},
       {"assistant", "I said <|im_end|> and <|eot_id|>."}},
      {{"user", "q1"},
       {"assistant", "a1"},
       {"system", "mid-conversation system"},
       {"user", "q2"},
       {"assistant", "a2"}},
      {{"user", "newline first"}, {"assistant", "\nstarts with a newline"}},
  };
  return all;
}

json to_json(const Conversation& c) {
  json messages = json::array();
  for (const ChatMessage& m : c) messages.push_back({{"role", m.role}, {"content", m.content}});
  return {{"messages", messages}};
}

// Runs of consecutive supervised tokens, decoded.
std::vector<std::string> supervised_runs(const BpeTokenizer& tok, const TokenizedChat& chat) {
  std::vector<std::string> runs;
  std::vector<int32_t> run;
  for (size_t i = 0; i <= chat.tokens.size(); ++i) {
    if (i < chat.tokens.size() && chat.loss_mask[i] == 1) {
      run.push_back(chat.tokens[i]);
    } else if (!run.empty()) {
      runs.push_back(tok.decode(run));
      run.clear();
    }
  }
  return runs;
}

void expect_template_matches_reference(ChatTemplateKind kind, const std::string& tokenizer,
                                       const std::string& mode) {
  const BpeTokenizer& tok = reference_tokenizer(tokenizer);
  const ChatTemplate chat(kind, tok);
  // With --system-prompt, the reference gets the system message written out.
  const ChatTemplate with_prompt(kind, tok, "Custom system prompt.");
  std::vector<json> inputs;
  for (const Conversation& c : conversations()) inputs.push_back(to_json(c));
  for (const Conversation& c : conversations()) {
    Conversation explicit_system = c;
    if (c.front().role != "system")
      explicit_system.insert(explicit_system.begin(), {"system", "Custom system prompt."});
    inputs.push_back(to_json(explicit_system));
  }
  const std::vector<json> expected = run_reference(tokenizer, mode, inputs);
  ASSERT_EQ(expected.size(), 2 * conversations().size());
  const bool llama = kind == ChatTemplateKind::kLlama3;
  const std::string end_of_turn = llama ? "<|eot_id|>" : "<|im_end|>";
  for (size_t i = 0; i < expected.size(); ++i) {
    const Conversation& c = conversations()[i % conversations().size()];
    const ChatTemplate& t = i < conversations().size() ? chat : with_prompt;
    SCOPED_TRACE(mode + " conversation " + std::to_string(i) + " " + to_json(c).dump());
    EXPECT_EQ(t.render(c), expected[i]["text"].get<std::string>());
    const TokenizedChat got = t.encode(c);
    EXPECT_EQ(got.tokens, expected[i]["ids"].get<std::vector<int32_t>>());
    ASSERT_EQ(got.loss_mask.size(), got.tokens.size());
    EXPECT_EQ(got.loss_mask.front(), 0);
    bool straddles = false;  // qwen2 content starting with "\n": see LossMaskPositions
    for (const ChatMessage& m : c)
      straddles |= !llama && m.role == "assistant" && m.content.rfind('\n', 0) == 0;
    if (straddles) continue;
    // The mask covers each assistant content (trimmed for llama3) plus its end-of-turn token.
    std::string want, got_text;
    for (const ChatMessage& m : c) {
      if (m.role == "assistant")
        want += std::string(llama ? python_strip(m.content) : m.content) + end_of_turn + "|";
    }
    for (const std::string& run : supervised_runs(tok, got)) got_text += run + "|";
    const std::string normalized = llama ? want : tok.normalize(want);
    EXPECT_EQ(got_text, normalized);
  }
}

TEST_F(ReferenceTokenizerTest, Llama3TemplateEqualsReference) {
  expect_template_matches_reference(ChatTemplateKind::kLlama3, "llama3", "chat-llama3");
}

TEST_F(ReferenceTokenizerTest, Qwen2TemplateEqualsReference) {
  expect_template_matches_reference(ChatTemplateKind::kQwen2, "qwen3", "chat-qwen2");
}

// Token by token, which positions are supervised.
TEST_F(ReferenceTokenizerTest, LossMaskPositions) {
  const BpeTokenizer& llama = reference_tokenizer("llama3");
  const TokenizedChat l = ChatTemplate(ChatTemplateKind::kLlama3, llama)
                              .encode({{"user", "Hi"}, {"assistant", "Hello there."}});
  // <|begin_of_text|> <|start_header_id|> user <|end_header_id|> \n\n Hi <|eot_id|>
  // <|start_header_id|> assistant <|end_header_id|> \n\n Hello ␣there . <|eot_id|>
  const std::vector<int32_t> llama_ids = {128000, 128006, 882, 128007, 271,  13347, 128009, 128006,
                                          78191,  128007, 271, 9906,   1070, 13,    128009};
  EXPECT_EQ(l.tokens, llama_ids);
  EXPECT_EQ(l.loss_mask, (std::vector<uint8_t>{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1}));

  const BpeTokenizer& qwen = reference_tokenizer("qwen3");
  const TokenizedChat q = ChatTemplate(ChatTemplateKind::kQwen2, qwen, "S")
                              .encode({{"user", "Hi"}, {"assistant", "Hello."}});
  // <|im_start|> system \n S <|im_end|> \n <|im_start|> user \n Hi <|im_end|> \n
  // <|im_start|> assistant \n Hello . <|im_end|> \n
  const std::vector<int32_t> qwen_ids = {151644, 8948, 198,   50,     151645, 198,    151644,
                                         872,    198,  13048, 151645, 198,    151644, 77091,
                                         198,    9707, 13,    151645, 198};
  EXPECT_EQ(q.tokens, qwen_ids);
  EXPECT_EQ(q.loss_mask,
            (std::vector<uint8_t>{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0}));

  // Qwen, content starting with "\n": "assistant\n" + "\nX" pre-tokenizes as "assistant", "\n\n",
  // "X"; the straddling "\n\n" holds answer text, so it is supervised.
  const TokenizedChat s = ChatTemplate(ChatTemplateKind::kQwen2, qwen, "S")
                              .encode({{"user", "Hi"}, {"assistant", "\nX"}});
  const std::vector<std::string> runs = supervised_runs(qwen, s);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0], "\n\nX<|im_end|>");
}

TEST_F(ReferenceTokenizerTest, TemplateErrors) {
  const BpeTokenizer& llama = reference_tokenizer("llama3");
  const ChatTemplate chat(ChatTemplateKind::kLlama3, llama);
  EXPECT_THROW(chat.encode({}), Error);
  try {
    chat.encode({{"user", "x"}, {"tool", "y"}});
    ADD_FAILURE() << "a tool message must be refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("message 1 has unknown role 'tool'"), std::string::npos)
        << e.what();
  }
  // The Qwen template needs <|im_start|>, which the Llama 3 tokenizer lacks.
  EXPECT_THROW(ChatTemplate(ChatTemplateKind::kQwen2, llama), Error);
  EXPECT_THROW(parse_chat_template_kind("mistral"), Error);
}

}  // namespace
}  // namespace megasft::data
