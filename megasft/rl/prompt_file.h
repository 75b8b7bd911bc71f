// The prompt file of GRPO, rollout filtering and evaluation: JSONL rows with a `prompt` string or a
// `messages` list (role, content), and the gold `answer`. Bad rows are errors naming file and line.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "megasft/data/chat_template.h"

namespace megasft::rl {

struct PromptRow {
  // Exactly one of the two: a bare user prompt, or a conversation ending with a user turn.
  std::string prompt;
  std::vector<data::ChatMessage> messages;
  std::string answer;   // the gold answer as text (a JSON number is written as it appears in the file)
  int64_t line = 0;     // 1-based line number in the file
  std::string raw;      // the row's original text, for writing kept rows back unchanged

  // The conversation to render: `messages`, or one user turn holding `prompt`.
  std::vector<data::ChatMessage> conversation() const;
};

// Every non-blank line of `path`. Throws megasft::Error "<path>:<line>: <what is wrong>" for invalid
// JSON, a row that is not an object, neither or both of prompt/messages, a message without a string
// role/content or with an unknown role, a conversation not ending with a user turn, or a missing or
// non-string/non-number answer. An empty file is an error too.
std::vector<PromptRow> read_prompt_file(const std::string& path);

// Writes rows' original text, one per line (to path.tmp, then renamed).
void write_prompt_rows(const std::string& path, const std::vector<PromptRow>& rows);

}  // namespace megasft::rl
