// Chat templates for Llama 3 and Qwen2.5 (ChatML): the text Hugging Face's
// apply_chat_template(messages, add_generation_prompt=False) renders, tokenized, with a loss mask
// that covers each assistant turn's content and its end-of-turn token and nothing else.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "megasft/data/bpe_tokenizer.h"

namespace megasft::data {

// llama3: Meta-Llama-3-8B-Instruct's template:
//     <|begin_of_text|>  then per message
//     <|start_header_id|>{role}<|end_header_id|>\n\n{content | trim}<|eot_id|>
// llama3.1: Llama 3.1 and 3.2 Instruct's template without tools: always a system turn first,
//     <|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\n
//     Today Date: {date}\n\n{system | trim}<|eot_id|>
//   ({system} empty when there is none), then the other messages as llama3. {date} is the template's
//   default "26 Jul 2024" unless set (Llama 3.2's template renders the current date through
//   transformers' strftime_now; pass it to match).
// qwen2: Qwen2.5-Instruct's ChatML template (no tools):
//     <|im_start|>system\n{system}<|im_end|>\n  then per other message
//     <|im_start|>{role}\n{content}<|im_end|>\n
//   with "You are Qwen, created by Alibaba Cloud. You are a helpful assistant." as {system} when
//   the conversation has no system message of its own and no --system-prompt is given.
//
// Loss mask (1 = the token is a prediction target), per assistant turn:
//   llama3, llama3.1: the content tokens and <|eot_id|>; not <|start_header_id|>, "assistant",
//           <|end_header_id|> nor the "\n\n" after it.
//   qwen2:  the content tokens and <|im_end|>; not <|im_start|>, "assistant\n", nor the "\n"
//           after <|im_end|>.
// Every other token (BOS, system and user turns) is 0. A token that straddles the header and the
// content (only possible for qwen2 when the content starts with a newline: "\n" + "\n..." merge)
// counts as content, so the mask covers every byte of the answer.
enum class ChatTemplateKind { kLlama3, kLlama31, kQwen2 };

inline constexpr const char* kLlama31DefaultDate = "26 Jul 2024";

inline constexpr const char* kQwen25DefaultSystemPrompt =
    "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";

// "llama3", "llama3.1" or "qwen2"; anything else throws naming the accepted values.
ChatTemplateKind parse_chat_template_kind(std::string_view name);

struct ChatMessage {
  std::string role;  // system, user or assistant
  std::string content;
};

struct TokenizedChat {
  std::vector<int32_t> tokens;
  std::vector<uint8_t> loss_mask;  // one per token
};

class ChatTemplate {
 public:
  // `system_prompt` is used for conversations that do not start with a system message (a row's
  // own system message wins). Throws if the tokenizer lacks the template's special tokens.
  ChatTemplate(ChatTemplateKind kind, const BpeTokenizer& tokenizer,
               std::optional<std::string> system_prompt = std::nullopt,
               std::string date_string = kLlama31DefaultDate);

  // The template's text. Throws megasft::Error for an empty conversation or a role other than
  // system, user, assistant (naming the message index).
  std::string render(const std::vector<ChatMessage>& messages) const;
  // Token ids equal to tokenizer.encode(render(messages)), plus the loss mask.
  TokenizedChat encode(const std::vector<ChatMessage>& messages) const;

  // A prompt for generation: encode(messages).tokens followed by the assistant turn's header, as
  // apply_chat_template(..., add_generation_prompt=True) then encode gives.
  std::vector<int32_t> encode_generation_prompt(const std::vector<ChatMessage>& messages) const;
  // The token that closes an assistant turn: <|eot_id|> (llama3, llama3.1) or <|im_end|> (qwen2).
  int32_t end_of_turn_id() const { return kind_ == ChatTemplateKind::kQwen2 ? im_end_ : eot_; }

  const BpeTokenizer& tokenizer() const { return tokenizer_; }

 private:
  // The rendered conversation as a sequence of template special tokens and text runs. A text run
  // is a fixed ASCII `header` (never supervised) followed by message `body` text.
  struct Item {
    int32_t special = -1;  // a special token's id, or -1 for a text run
    bool supervised = false;
    std::string header;
    std::string_view body;
  };
  std::vector<Item> items(const std::vector<ChatMessage>& messages) const;
  int32_t special_id(const char* content) const;

  ChatTemplateKind kind_;
  BpeTokenizer tokenizer_;
  std::optional<std::string> system_prompt_;
  std::string date_string_;  // llama3.1's "Today Date"
  int32_t bos_ = -1, start_header_ = -1, end_header_ = -1, eot_ = -1;  // llama3
  int32_t im_start_ = -1, im_end_ = -1;                                // qwen2
};

}  // namespace megasft::data
