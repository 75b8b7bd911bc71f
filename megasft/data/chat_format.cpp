#include "megasft/data/chat_format.h"

#include <string>

namespace megasft::data {

TokenizedSamples tokenize_chat(const std::vector<ChatExample>& examples, const CharTokenizer& tok) {
  TokenizedSamples out;
  out.vocab_size = tok.vocab_size();
  out.tokenizer = std::string(CharTokenizer::kName);
  out.offsets.reserve(examples.size() + 1);
  out.offsets.push_back(0);
  for (const ChatExample& ex : examples) {
    const std::vector<int32_t> context = tok.encode("User: " + ex.prompt + "\nAssistant: ");
    const std::vector<int32_t> answer = tok.encode(ex.answer);
    out.tokens.push_back(tok.bos_id());
    out.tokens.insert(out.tokens.end(), context.begin(), context.end());
    out.loss_mask.insert(out.loss_mask.end(), 1 + context.size(), uint8_t{0});
    out.tokens.insert(out.tokens.end(), answer.begin(), answer.end());
    out.tokens.push_back(tok.eos_id());
    out.loss_mask.insert(out.loss_mask.end(), answer.size() + 1, uint8_t{1});
    out.offsets.push_back(static_cast<int64_t>(out.tokens.size()));
  }
  return out;
}

}  // namespace megasft::data
