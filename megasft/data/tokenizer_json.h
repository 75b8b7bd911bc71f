// Reads a Hugging Face tokenizer.json into the plain description the BPE tokenizer is built from.
// Only what byte-level BPE tokenizers (GPT-2, Llama 3, Qwen2/2.5/3) use is accepted; any other
// component or option is an error naming the file, the field and its value, never ignored.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "megasft/data/added_tokens.h"

namespace megasft::data {

// GPT-2's pre-tokenizer regex, used when the ByteLevel pre-tokenizer has use_regex = true.
inline constexpr const char* kGpt2SplitPattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

struct SplitSpec {
  std::string pattern;
  bool literal = false;  // {"String": ...} rather than {"Regex": ...}
  std::string field;     // e.g. "pre_tokenizer.pretokenizers[0].pattern.Regex", for messages
};

struct TokenizerSpec {
  std::string path;
  // model.vocab: token strings in GPT-2's byte-to-unicode spelling, and their ids.
  std::vector<std::pair<std::string, int32_t>> vocab;
  // model.merges in rank order (rank = index), either "a b" strings or ["a", "b"] pairs.
  std::vector<std::pair<std::string, std::string>> merges;
  bool ignore_merges = false;  // model.ignore_merges: a pre-token in the vocab is one token
  std::vector<AddedToken> added_tokens;
  bool nfc = false;  // normalizer is NFC (alone or in a Sequence)
  // The pre-tokenizer: these splits in order (Split entries, then ByteLevel's own if use_regex),
  // each applied to every piece of the previous one, then the byte-level mapping.
  std::vector<SplitSpec> splits;
};

// Parses `path`; throws megasft::Error naming the file and field on anything unsupported.
// The post_processor is not read: megasft never adds special tokens implicitly (templates add
// them).
TokenizerSpec read_tokenizer_json(const std::string& path);

}  // namespace megasft::data
