// Prompts in, text out: how generation turns a conversation into prompt tokens (the model's chat
// template with the assistant header, or the demo's character format) and a response back into text.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "megasft/data/chat_template.h"
#include "megasft/model/model_config.h"

namespace megasft::rl {

class ChatCodec {
 public:
  virtual ~ChatCodec() = default;
  // A conversation ending with a user turn, rendered as the template does with add_generation_prompt.
  virtual std::vector<int32_t> encode_prompt(const std::vector<data::ChatMessage>& conversation) const = 0;
  // Response tokens as text; stop tokens are dropped, other special tokens kept.
  virtual std::string decode(std::span<const int32_t> response) const = 0;
  virtual const std::vector<int32_t>& stop_ids() const = 0;
  virtual int32_t pad_id() const = 0;
  virtual int64_t vocab_size() const = 0;  // ids the tokenizer can decode: generation samples only these
  virtual std::string describe() const = 0;  // "char-v1 (demo format)", "tokenizer.json of DIR, qwen2 template"
};

struct ChatCodecOptions {
  std::string tokenizer;      // a folder with tokenizer.json, or "char" (the demo's character tokenizer)
  std::string chat_template;  // llama3 | llama3.1 | qwen2; empty: from the model (Qwen2 -> qwen2,
                              // Llama with llama3 RoPE scaling -> llama3.1, other Llama -> llama3)
  std::optional<std::string> system_prompt;
  std::string date_string = data::kLlama31DefaultDate;
};

// Throws naming the folder when tokenizer.json is missing or lacks the template's special tokens.
std::unique_ptr<ChatCodec> make_chat_codec(const ChatCodecOptions& options, const model::ModelConfig& model);

}  // namespace megasft::rl
