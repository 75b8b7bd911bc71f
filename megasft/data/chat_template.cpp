#include "megasft/data/chat_template.h"

#include "kernels/check.h"
#include "megasft/data/unicode_text.h"

namespace megasft::data {

ChatTemplateKind parse_chat_template_kind(std::string_view name) {
  if (name == "llama3") return ChatTemplateKind::kLlama3;
  if (name == "llama3.1") return ChatTemplateKind::kLlama31;
  if (name == "qwen2") return ChatTemplateKind::kQwen2;
  MEGASFT_FAIL("unknown chat template '", name, "' (expected llama3, llama3.1 or qwen2)");
}

ChatTemplate::ChatTemplate(ChatTemplateKind kind, const BpeTokenizer& tokenizer,
                           std::optional<std::string> system_prompt, std::string date_string)
    : kind_(kind), tokenizer_(tokenizer), system_prompt_(std::move(system_prompt)),
      date_string_(std::move(date_string)) {
  if (system_prompt_) check_utf8(*system_prompt_, "the system prompt");
  MEGASFT_CHECK(date_string_.find('\n') == std::string::npos, "the date string '", date_string_,
                "' must be one line");
  if (kind_ != ChatTemplateKind::kQwen2) {
    bos_ = special_id("<|begin_of_text|>");
    start_header_ = special_id("<|start_header_id|>");
    end_header_ = special_id("<|end_header_id|>");
    eot_ = special_id("<|eot_id|>");
  } else {
    im_start_ = special_id("<|im_start|>");
    im_end_ = special_id("<|im_end|>");
  }
}

int32_t ChatTemplate::special_id(const char* content) const {
  const std::optional<int32_t> id = tokenizer_.added_token_id(content);
  MEGASFT_CHECK(id.has_value(), "chat template ",
                kind_ == ChatTemplateKind::kQwen2 ? "qwen2" : "llama3", " needs the token '",
                content, "', which tokenizer file '", tokenizer_.path(),
                "' does not define (wrong tokenizer for this template?)");
  return *id;
}

std::vector<ChatTemplate::Item> ChatTemplate::items(
    const std::vector<ChatMessage>& messages) const {
  MEGASFT_CHECK(!messages.empty(), "the conversation has no messages");
  for (size_t i = 0; i < messages.size(); ++i) {
    const std::string& role = messages[i].role;
    MEGASFT_CHECK(role == "system" || role == "user" || role == "assistant", "message ", i,
                  " has unknown role '", role, "' (expected system, user or assistant)");
  }
  // The conversation as rendered: a row's own leading system message, else the configured one.
  const bool has_system = messages.front().role == "system";
  std::vector<std::pair<std::string_view, std::string_view>> turns;  // (role, content)
  if (!has_system) {
    if (system_prompt_) {
      turns.emplace_back("system", *system_prompt_);
    } else if (kind_ == ChatTemplateKind::kQwen2) {
      turns.emplace_back("system", kQwen25DefaultSystemPrompt);
    }
  }
  for (const ChatMessage& m : messages) turns.emplace_back(m.role, m.content);

  std::vector<Item> out;
  if (kind_ == ChatTemplateKind::kLlama31) {
    // The system turn is always there: the dates, then the system message (or nothing).
    std::string_view system;
    size_t first = 0;
    if (!turns.empty() && turns.front().first == "system") system = turns[first++].second;
    out.push_back({bos_, false, "", {}});
    out.push_back({start_header_, false, "", {}});
    out.push_back({-1, false, "system", {}});
    out.push_back({end_header_, false, "", {}});
    out.push_back({-1, false, "\n\nCutting Knowledge Date: December 2023\nToday Date: " + date_string_ + "\n\n",
                   python_strip(system)});
    out.push_back({eot_, false, "", {}});
    turns.erase(turns.begin(), turns.begin() + static_cast<std::ptrdiff_t>(first));
  }
  if (kind_ != ChatTemplateKind::kQwen2) {
    if (kind_ == ChatTemplateKind::kLlama3) out.push_back({bos_, false, "", {}});
    for (const auto& [role, content] : turns) {
      const bool answer = role == "assistant";
      out.push_back({start_header_, false, "", {}});
      out.push_back({-1, false, std::string(role), {}});
      out.push_back({end_header_, false, "", {}});
      out.push_back({-1, answer, "\n\n", python_strip(content)});  // Jinja's `| trim`
      out.push_back({eot_, answer, "", {}});
    }
  } else {
    for (const auto& [role, content] : turns) {
      const bool answer = role == "assistant";
      out.push_back({im_start_, false, "", {}});
      out.push_back({-1, answer, std::string(role) + "\n", content});
      out.push_back({im_end_, answer, "", {}});
      out.push_back({-1, false, "\n", {}});
    }
  }
  return out;
}

std::string ChatTemplate::render(const std::vector<ChatMessage>& messages) const {
  std::string text;
  for (const Item& item : items(messages)) {
    if (item.special >= 0) {
      text += tokenizer_.token_bytes(item.special);
    } else {
      text += item.header;
      text += item.body;
    }
  }
  return text;
}

TokenizedChat ChatTemplate::encode(const std::vector<ChatMessage>& messages) const {
  TokenizedChat out;
  std::string run;
  std::vector<int32_t> ids;
  for (const Item& item : items(messages)) {
    if (item.special >= 0) {
      out.tokens.push_back(item.special);
      out.loss_mask.push_back(item.supervised ? 1 : 0);
      continue;
    }
    // Header and body are encoded as one text, exactly as the rendered string would be; the
    // header is ASCII ending in a role or "\n", which NFC leaves alone and never composes with
    // what follows, so its bytes are a prefix of the normalized run and mark where the body starts.
    run.assign(item.header).append(item.body);
    ids.clear();
    tokenizer_.encode_append(run, ids);
    const size_t header = item.header.size();
    size_t end = 0;  // byte offset, in the normalized run, of the end of the current token
    for (const int32_t id : ids) {
      end += tokenizer_.token_bytes(id).size();
      out.tokens.push_back(id);
      out.loss_mask.push_back(item.supervised && end > header ? 1 : 0);
    }
    // Holds unless added tokens with lstrip/rstrip swallow whitespace of the body, which would
    // make the mask boundary unreliable; refuse rather than guess.
    const size_t expected = header + tokenizer_.normalize(item.body).size();
    MEGASFT_CHECK(end == expected, "chat template: the tokens of a ", run.size(),
                  "-byte message span ", end, " bytes but the normalized text has ", expected,
                  "; cannot place the loss mask (tokenizer '", tokenizer_.path(), "')");
  }
  return out;
}

std::vector<int32_t> ChatTemplate::encode_generation_prompt(const std::vector<ChatMessage>& messages) const {
  auto tokens = encode(messages).tokens;
  if (kind_ == ChatTemplateKind::kQwen2) {
    tokens.push_back(im_start_);
    tokenizer_.encode_append("assistant\n", tokens);
  } else {
    tokens.push_back(start_header_);
    tokenizer_.encode_append("assistant", tokens);
    tokens.push_back(end_header_);
    tokenizer_.encode_append("\n\n", tokens);
  }
  return tokens;
}

}  // namespace megasft::data
