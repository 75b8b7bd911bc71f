#include "megasft/data/preprocess.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "kernels/check.h"
#include "megasft/data/sample_packing.h"

namespace megasft::data {

namespace {

using nlohmann::json;

std::string string_field(const json& object, const char* key, const std::string& where) {
  const auto it = object.find(key);
  MEGASFT_CHECK(it != object.end(), "missing field '", where, key, "'");
  MEGASFT_CHECK(it->is_string(), "field '", where, key, "' must be a string but is ",
                it->type_name());
  return it->get<std::string>();
}

}  // namespace

std::vector<ChatMessage> parse_chat_row(std::string_view line) {
  json row;
  try {
    row = json::parse(line);
  } catch (const json::parse_error& e) {
    // nlohmann's message names the byte and what it expected; drop its "[json.exception...]" tag.
    std::string what = e.what();
    const size_t tag = what.find("] ");
    MEGASFT_FAIL("invalid JSON: ", tag == std::string::npos ? what : what.substr(tag + 2));
  }
  MEGASFT_CHECK(row.is_object(), "the row must be a JSON object but is ", row.type_name());
  std::vector<ChatMessage> messages;
  const bool has_messages = row.contains("messages");
  const bool has_pair = row.contains("prompt") || row.contains("response");
  MEGASFT_CHECK(has_messages || has_pair,
                "the row has neither 'messages' nor 'prompt' and 'response'");
  MEGASFT_CHECK(!(has_messages && has_pair),
                "the row has both 'messages' and 'prompt'/'response'; which one is meant?");
  if (has_pair) {
    messages.push_back({"user", string_field(row, "prompt", "")});
    messages.push_back({"assistant", string_field(row, "response", "")});
    return messages;
  }
  const json& list = row["messages"];
  MEGASFT_CHECK(list.is_array(), "field 'messages' must be an array but is ", list.type_name());
  MEGASFT_CHECK(!list.empty(), "field 'messages' is empty");
  bool has_answer = false;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string where = "messages[" + std::to_string(i) + "].";
    MEGASFT_CHECK(list[i].is_object(), "'messages[", i, "]' must be an object but is ",
                  list[i].type_name());
    ChatMessage m{string_field(list[i], "role", where), string_field(list[i], "content", where)};
    MEGASFT_CHECK(m.role == "system" || m.role == "user" || m.role == "assistant", "'", where,
                  "role' is '", m.role, "' (expected system, user or assistant)");
    has_answer = has_answer || m.role == "assistant";
    messages.push_back(std::move(m));
  }
  MEGASFT_CHECK(has_answer, "no assistant message: nothing to train on");
  return messages;
}

BadRowPolicy parse_bad_row_policy(std::string_view name) {
  if (name == "skip") return BadRowPolicy::kSkip;
  if (name == "fail") return BadRowPolicy::kFail;
  MEGASFT_FAIL("--on-bad-row '", name, "' must be skip or fail");
}

PreprocessReport preprocess_jsonl(const PreprocessOptions& options,
                                  const PreprocessCallbacks& callbacks) {
  namespace fs = std::filesystem;
  const auto start = std::chrono::steady_clock::now();
  MEGASFT_CHECK(!options.input.empty(), "--input FILE.jsonl is required");
  MEGASFT_CHECK(!options.output.empty(), "--output FILE.h5 is required");
  MEGASFT_CHECK(!options.tokenizer.empty(), "--tokenizer FILE (tokenizer.json) is required");
  std::error_code ec;
  MEGASFT_CHECK(fs::is_regular_file(options.input, ec), "cannot open input file '", options.input,
                "': no such file");
  const ChatTemplateKind kind = parse_chat_template_kind(options.chat_template);
  const BpeTokenizer tokenizer = BpeTokenizer::from_file(options.tokenizer);
  const ChatTemplate chat(kind, tokenizer, options.system_prompt, options.date_string);

  std::ifstream in(options.input, std::ios::binary);
  MEGASFT_CHECK(in.good(), "cannot open input file '", options.input, "'");
  PreprocessReport report;
  report.input_bytes = static_cast<int64_t>(fs::file_size(options.input, ec));
  report.vocab_size = tokenizer.vocab_size();
  const std::string name = fs::weakly_canonical(options.tokenizer, ec).string();
  SampleWriter writer(options.max_length, options.pack, tokenizer.vocab_size(),
                      name.empty() ? options.tokenizer : name);

  std::string line;
  int64_t consumed = 0;
  if (callbacks.progress) callbacks.progress(0, report.input_bytes, 0);
  while (std::getline(in, line)) {
    ++report.lines;
    consumed += static_cast<int64_t>(line.size()) + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    try {
      MEGASFT_CHECK(line.find_first_not_of(" \t") != std::string::npos, "empty line");
      const TokenizedChat sample = chat.encode(parse_chat_row(line));
      writer.add(sample.tokens, sample.loss_mask);
    } catch (const Error& e) {
      // The row's own problem; the [file:line] of the check that caught it means nothing here.
      std::string reason = e.what();
      const size_t tag = reason.rfind(" [");
      if (tag != std::string::npos && reason.back() == ']') reason.resize(tag);
      if (options.on_bad_row == BadRowPolicy::kFail) {
        MEGASFT_FAIL(options.input, ":", report.lines, ": bad row (--on-bad-row fail): ", reason);
      }
      ++report.bad_rows;
      if (callbacks.bad_row) callbacks.bad_row(report.lines, reason);
    }
    if (callbacks.progress && report.lines % 1024 == 0) {
      callbacks.progress(consumed, report.input_bytes, report.lines);
    }
  }
  MEGASFT_CHECK(!in.bad(), "error reading input file '", options.input, "'");
  if (callbacks.progress) callbacks.progress(report.input_bytes, report.input_bytes, report.lines);

  report.samples = writer.samples();
  report.truncated = writer.truncated();
  report.dropped_empty = writer.dropped_empty();
  report.supervised = writer.supervised_tokens();
  MEGASFT_CHECK(report.samples > 0, "no usable rows in '", options.input, "' (", report.lines,
                " lines, ", report.bad_rows, " bad, ", report.dropped_empty,
                " without a supervised token after truncation); nothing written");
  const TokenizedSamples samples = writer.finish();
  report.rows = static_cast<int64_t>(samples.offsets.size()) - 1;
  report.tokens = static_cast<int64_t>(samples.tokens.size());
  write_token_dataset(options.output, samples);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace megasft::data
