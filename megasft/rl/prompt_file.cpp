// Reads GRPO's JSONL prompt rows, checking each one whole so a bad row is named by file and line
// before any rollout starts; a numeric answer keeps the digits the file wrote (SAX sees its text).
#include "megasft/rl/prompt_file.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <utility>

#include "kernels/check.h"

namespace megasft::rl {

namespace {

using nlohmann::json;

// The text of a top-level "answer" that is a floating-point number, as the file spells it: the DOM
// keeps only the double, which dumps 1e-3 as "0.001" and 2.50 as "2.5".
class AnswerTextReader : public nlohmann::json_sax<json> {
 public:
  const std::string& text() const { return text_; }

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t& s) override {
    if (depth_ == 1 && key_ == "answer") text_ = s;
    return true;
  }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return enter(); }
  bool end_object() override { return leave(); }
  bool start_array(std::size_t) override { return enter(); }
  bool end_array() override { return leave(); }
  bool key(string_t& k) override {
    if (depth_ == 1) key_ = k;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  bool enter() {
    ++depth_;
    return true;
  }
  bool leave() {
    --depth_;
    return true;
  }

  int depth_ = 0;
  std::string key_, text_;
};

std::string string_field(const json& object, const char* key, const std::string& where,
                         const std::string& field) {
  const auto it = object.find(key);
  MEGASFT_CHECK(it != object.end(), where, ": missing field '", field, "'");
  MEGASFT_CHECK(it->is_string(), where, ": field '", field, "' must be a string but is ",
                it->type_name());
  return it->get<std::string>();
}

std::vector<data::ChatMessage> parse_messages(const json& list, const std::string& where) {
  MEGASFT_CHECK(list.is_array(), where, ": field 'messages' must be an array but is ",
                list.type_name());
  MEGASFT_CHECK(!list.empty(), where, ": field 'messages' is empty");
  std::vector<data::ChatMessage> messages;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string field = "messages[" + std::to_string(i) + "]";
    MEGASFT_CHECK(list[i].is_object(), where, ": '", field, "' must be an object but is ",
                  list[i].type_name());
    data::ChatMessage m{string_field(list[i], "role", where, field + ".role"),
                        string_field(list[i], "content", where, field + ".content")};
    MEGASFT_CHECK(m.role == "system" || m.role == "user" || m.role == "assistant", where, ": '",
                  field, ".role' is '", m.role, "' (expected system, user or assistant)");
    messages.push_back(std::move(m));
  }
  // The policy writes the next assistant turn, so the conversation must be waiting for one.
  MEGASFT_CHECK(messages.back().role == "user", where, ": the last message is a '",
                messages.back().role, "' turn; a prompt must end with a user turn");
  return messages;
}

std::string answer_text(const json& row, const std::string& line, const std::string& where) {
  const auto it = row.find("answer");
  MEGASFT_CHECK(it != row.end(), where, ": missing field 'answer'");
  std::string answer;
  if (it->is_string()) {
    answer = it->get<std::string>();
  } else if (it->is_number_float()) {
    AnswerTextReader reader;
    json::sax_parse(line, &reader);
    answer = reader.text().empty() ? it->dump() : reader.text();
  } else {
    // Integers print exactly as JSON allows them to be written.
    MEGASFT_CHECK(it->is_number(), where, ": field 'answer' must be a string or a number but is ",
                  it->type_name());
    answer = it->dump();
  }
  // An empty gold answer can never be matched, so every rollout of it would be scored wrong.
  MEGASFT_CHECK(answer.find_first_not_of(" \t\r\n") != std::string::npos, where,
                ": field 'answer' is empty");
  return answer;
}

PromptRow parse_row(const std::string& line, const std::string& where) {
  json row;
  try {
    row = json::parse(line);
  } catch (const json::exception& e) {
    // nlohmann's message names the byte and what it expected (or the number out of range); drop
    // its "[json.exception...]" tag.
    const std::string what = e.what();
    const size_t tag = what.find("] ");
    MEGASFT_FAIL(where, ": invalid JSON: ", tag == std::string::npos ? what : what.substr(tag + 2));
  }
  MEGASFT_CHECK(row.is_object(), where, ": the row must be a JSON object but is ", row.type_name());
  const bool has_prompt = row.contains("prompt"), has_messages = row.contains("messages");
  MEGASFT_CHECK(has_prompt || has_messages, where, ": the row has neither 'prompt' nor 'messages'");
  MEGASFT_CHECK(!(has_prompt && has_messages), where,
                ": the row has both 'prompt' and 'messages'; which one is meant?");
  PromptRow out;
  if (has_prompt) {
    out.prompt = string_field(row, "prompt", where, "prompt");
  } else {
    out.messages = parse_messages(row["messages"], where);
  }
  out.answer = answer_text(row, line, where);
  out.raw = line;
  return out;
}

}  // namespace

std::vector<data::ChatMessage> PromptRow::conversation() const {
  if (!messages.empty()) return messages;
  return {data::ChatMessage{"user", prompt}};
}

std::vector<PromptRow> read_prompt_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  MEGASFT_CHECK(in.is_open(), "cannot open prompt file '", path, "'");
  std::vector<PromptRow> rows;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    // A UTF-8 byte order mark would otherwise be written back into the middle of a filtered file.
    if (number == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    PromptRow row = parse_row(line, path + ":" + std::to_string(number));
    row.line = number;
    rows.push_back(std::move(row));
  }
  MEGASFT_CHECK(!in.bad(), "error reading prompt file '", path, "'");
  MEGASFT_CHECK(!rows.empty(), path, ": no prompt rows (the file is empty or blank)");
  return rows;
}

void write_prompt_rows(const std::string& path, const std::vector<PromptRow>& rows) {
  namespace fs = std::filesystem;
  MEGASFT_CHECK(!path.empty(), "write_prompt_rows: the output path is empty");
  for (const PromptRow& row : rows) {
    // A row built in code has no original text; writing "" would drop it silently.
    MEGASFT_CHECK(!row.raw.empty() && row.raw.find('\n') == std::string::npos,
                  "write_prompt_rows: the row from line ", row.line,
                  " has no single-line original text to write to '", path, "'");
  }
  std::error_code ec;
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) {
    fs::create_directories(parent, ec);
    MEGASFT_CHECK(!ec, "cannot create directory '", parent.string(), "' for prompt file '", path,
                  "': ", ec.message());
  }
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    MEGASFT_CHECK(out.is_open(), "cannot create '", tmp, "' for prompt file '", path, "'");
    for (const PromptRow& row : rows) out << row.raw << '\n';
    out.flush();
    if (!out.good()) {
      out.close();
      fs::remove(tmp, ec);
      MEGASFT_FAIL("error writing '", tmp, "' for prompt file '", path, "'");
    }
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    MEGASFT_FAIL("cannot rename '", tmp, "' to prompt file '", path, "': ", ec.message());
  }
}

}  // namespace megasft::rl
