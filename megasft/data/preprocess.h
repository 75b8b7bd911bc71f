// `megasft preprocess` as a library: chat JSONL -> chat template + BPE -> the HDF5 token format.
// Bad rows are reported with their line number through a callback and skipped, or are fatal.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "megasft/data/chat_template.h"

namespace megasft::data {

// One JSONL row as a conversation. Accepted shapes (other keys are ignored):
//   {"messages": [{"role": "system"|"user"|"assistant", "content": "..."}, ...]}
//   {"prompt": "...", "response": "..."}      -> user prompt, assistant response
// Throws megasft::Error saying what is wrong (invalid JSON, missing or mistyped field, unknown
// role, no assistant message); the caller adds the line number.
std::vector<ChatMessage> parse_chat_row(std::string_view line);

enum class BadRowPolicy { kSkip, kFail };
BadRowPolicy parse_bad_row_policy(std::string_view name);  // "skip" | "fail"

struct PreprocessOptions {
  std::string input;          // JSONL
  std::string tokenizer;      // tokenizer.json
  std::string chat_template;  // llama3 | llama3.1 | qwen2
  std::string date_string = kLlama31DefaultDate;  // llama3.1's "Today Date"
  std::string output;         // .h5
  int64_t max_length = 0;     // 0: no limit (not with pack)
  bool pack = false;
  std::optional<std::string> system_prompt;
  BadRowPolicy on_bad_row = BadRowPolicy::kSkip;
};

struct PreprocessReport {
  int64_t lines = 0;          // JSONL lines read
  int64_t bad_rows = 0;       // reported and skipped
  int64_t samples = 0;        // conversations written
  int64_t truncated = 0;      // cut to max_length
  int64_t dropped_empty = 0;  // nothing supervised left after the cut
  int64_t rows = 0;           // dataset rows (= samples unless packed)
  int64_t tokens = 0;
  int64_t supervised = 0;
  int64_t input_bytes = 0;
  double seconds = 0;
  int64_t vocab_size = 0;
};

struct PreprocessCallbacks {
  // (1-based line number, what is wrong), for each bad row that is skipped.
  std::function<void(int64_t, const std::string&)> bad_row;
  // (bytes of input consumed, total input bytes, lines read), called every few thousand lines.
  std::function<void(int64_t, int64_t, int64_t)> progress;
};

// Runs the whole job and writes options.output atomically. With kFail the first bad row throws
// megasft::Error naming the file and line and nothing is written.
PreprocessReport preprocess_jsonl(const PreprocessOptions& options,
                                  const PreprocessCallbacks& callbacks = {});

}  // namespace megasft::data
