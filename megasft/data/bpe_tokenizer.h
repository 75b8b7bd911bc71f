// Byte-level BPE tokenizer read from a Hugging Face tokenizer.json (the Llama 3 and Qwen2/2.5/3
// families, tested against a reference; GPT-2-style files with a bare ByteLevel pre-tokenizer are
// read too), producing exactly the ids of Hugging Face's `encode(text, add_special_tokens=False)`.
// Pipeline: added tokens split out of the raw text -> NFC (if the file asks) -> Split regex
// (PCRE2) -> bytes -> merges by rank. The one trick for speed: a bounded per-pre-token cache, so
// the merge loop runs once per distinct word, not once per occurrence.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "megasft/data/tokenizer_json.h"

namespace megasft::data {

// Heterogeneous lookup: find(std::string_view) without building a std::string per pre-token.
struct StringViewHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringViewHash, std::equal_to<>>;

// Not thread-safe (it owns a word cache and scratch buffers). Copies share the immutable vocabulary
// and merge tables and each has its own cache: give each thread its own copy.
class BpeTokenizer {
 public:
  // Reads `path` (a tokenizer.json); errors name the file and the field.
  static BpeTokenizer from_file(const std::string& path);
  explicit BpeTokenizer(const TokenizerSpec& spec);

  // Hugging Face's encode(text, add_special_tokens=False): no BOS/EOS are added, but added and
  // special tokens written in the text ("<|eot_id|>") become their ids. `text` must be UTF-8.
  std::vector<int32_t> encode(std::string_view text) const;
  void encode_append(std::string_view text, std::vector<int32_t>& out) const;

  // Hugging Face's decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False):
  // special tokens appear as their text; bytes that are not valid UTF-8 become U+FFFD.
  std::string decode(std::span<const int32_t> ids) const;
  // The raw bytes the ids stand for (decode without the U+FFFD repair).
  std::string decode_bytes(std::span<const int32_t> ids) const;
  // Raw bytes of one token; throws for an id outside the vocabulary.
  const std::string& token_bytes(int32_t id) const;

  // The id of an added token by its content ("<|im_end|>"), if the file defines it.
  std::optional<int32_t> added_token_id(std::string_view content) const;
  // What the normalizer makes of `text` (NFC, or `text` itself when the file has none).
  std::string normalize(std::string_view text) const;

  int32_t vocab_size() const;  // largest id + 1, added tokens included
  const std::string& path() const;
  bool regex_jit() const;  // whether PCRE2 JIT-compiled the pre-tokenizer

 private:
  struct Model;
  void encode_ordinary(std::string_view text, std::vector<int32_t>& out) const;
  void encode_piece(std::string_view text, size_t split, std::vector<int32_t>& out) const;
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;
  void merge_word(std::string_view word, std::vector<int32_t>& out) const;

  // One symbol of a word being merged: a doubly linked list over the word's bytes, as in
  // Hugging Face's Word::merge_all. len == 0 marks a symbol absorbed by its left neighbour.
  struct Symbol {
    int32_t id;
    int32_t prev;
    int32_t next;
    int32_t len;
  };
  struct Candidate {  // a mergeable adjacent pair, ordered by (rank, position)
    uint32_t rank;
    int32_t pos;
    int32_t new_id;
  };

  std::shared_ptr<const Model> model_;
  // Per-instance state: bytes of a word -> its ids (bounded; cleared when full), and scratch.
  mutable StringMap<std::vector<int32_t>> cache_;
  mutable std::vector<Symbol> symbols_;
  mutable std::vector<Candidate> heap_;
};

}  // namespace megasft::data
