// The two codecs: the demo's character format ("User: ...\nAssistant: ", as tokenize_chat builds the
// SFT samples) and a tokenizer.json with its chat template. Both stop at the end-of-turn token and the
// tokenizer's end-of-text token when it has one.
#include "megasft/rl/chat_codec.h"

#include <algorithm>
#include <filesystem>

#include "kernels/check.h"
#include "megasft/data/char_tokenizer.h"

namespace megasft::rl {
namespace {

std::vector<int32_t> without_stops(std::span<const int32_t> ids, const std::vector<int32_t>& stops) {
  std::vector<int32_t> kept;
  for (const int32_t id : ids)
    if (std::find(stops.begin(), stops.end(), id) == stops.end()) kept.push_back(id);
  return kept;
}

class DemoChatCodec final : public ChatCodec {
 public:
  DemoChatCodec() : stops_{tokenizer_.eos_id()} {}

  std::vector<int32_t> encode_prompt(const std::vector<data::ChatMessage>& conversation) const override {
    MEGASFT_CHECK(conversation.size() == 1 && conversation.front().role == "user",
                  "the demo's character format has one user turn per prompt, got ", conversation.size(),
                  " message(s)");
    std::vector<int32_t> ids{tokenizer_.bos_id()};
    auto text = tokenizer_.encode("User: " + conversation.front().content + "\nAssistant: ");
    ids.insert(ids.end(), text.begin(), text.end());
    return ids;
  }
  std::string decode(std::span<const int32_t> response) const override {
    return tokenizer_.decode(without_stops(response, stops_));
  }
  const std::vector<int32_t>& stop_ids() const override { return stops_; }
  int32_t pad_id() const override { return tokenizer_.pad_id(); }
  int64_t vocab_size() const override { return tokenizer_.vocab_size(); }
  std::string describe() const override { return std::string(data::CharTokenizer::kName) + " (the demo's chat format)"; }

 private:
  data::CharTokenizer tokenizer_;
  std::vector<int32_t> stops_;
};

class TemplateChatCodec final : public ChatCodec {
 public:
  TemplateChatCodec(const std::string& dir, data::ChatTemplateKind kind, const std::string& kind_name,
                    const ChatCodecOptions& options)
      : template_(kind, data::BpeTokenizer::from_file((std::filesystem::path(dir) / "tokenizer.json").string()),
                  options.system_prompt, options.date_string),
        description_("tokenizer.json of " + dir + ", " + kind_name + " template") {
    stops_.push_back(template_.end_of_turn_id());
    for (const char* eos : {"<|end_of_text|>", "<|endoftext|>"})
      if (auto id = template_.tokenizer().added_token_id(eos)) stops_.push_back(*id);
    pad_ = stops_.back();  // never attended to; any valid id will do
  }
  std::vector<int32_t> encode_prompt(const std::vector<data::ChatMessage>& conversation) const override {
    MEGASFT_CHECK(!conversation.empty() && conversation.back().role == "user",
                  "a prompt must end with a user turn");
    return template_.encode_generation_prompt(conversation);
  }
  std::string decode(std::span<const int32_t> response) const override {
    return template_.tokenizer().decode(without_stops(response, stops_));
  }
  const std::vector<int32_t>& stop_ids() const override { return stops_; }
  int32_t pad_id() const override { return pad_; }
  int64_t vocab_size() const override { return template_.tokenizer().vocab_size(); }
  std::string describe() const override { return description_; }

 private:
  data::ChatTemplate template_;
  std::string description_;
  std::vector<int32_t> stops_;
  int32_t pad_ = 0;
};

}  // namespace

std::unique_ptr<ChatCodec> make_chat_codec(const ChatCodecOptions& options, const model::ModelConfig& model) {
  if (options.tokenizer.empty() || options.tokenizer == "char") {
    MEGASFT_CHECK(model.vocab_size >= data::CharTokenizer().vocab_size(), "the demo's character tokenizer needs ",
                  data::CharTokenizer().vocab_size(), " ids but the model has vocab_size ", model.vocab_size,
                  "; pass --tokenizer DIR (a folder with tokenizer.json)");
    return std::make_unique<DemoChatCodec>();
  }
  const auto file = std::filesystem::path(options.tokenizer) / "tokenizer.json";
  MEGASFT_CHECK(std::filesystem::exists(file), "--tokenizer '", options.tokenizer, "': no tokenizer.json there");
  std::string name = options.chat_template;
  if (name.empty())
    name = model.architecture == "Qwen2ForCausalLM" ? "qwen2" : model.rope_scaling.type == "llama3" ? "llama3.1" : "llama3";
  return std::make_unique<TemplateChatCodec>(options.tokenizer, data::parse_chat_template_kind(name), name, options);
}

}  // namespace megasft::rl
