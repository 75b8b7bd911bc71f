// Finds a tokenizer's added tokens (<|eot_id|>, <|im_end|>, ...) in raw text before any
// normalization or pre-tokenization, as Hugging Face does: leftmost-longest matches over a byte
// trie, `lstrip` / `rstrip` tokens swallowing the Unicode whitespace beside them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace megasft::data {

struct AddedToken {
  int32_t id = 0;
  std::string content;
  bool special = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;  // matched on normalized text (after the normalizer) rather than raw
};

// A piece of text: either an added token (id >= 0, `text` its matched span including any stripped
// whitespace) or ordinary text (id == -1) for the normalizer, pre-tokenizer and BPE.
struct TextSegment {
  std::string_view text;
  int32_t id = -1;
};

class AddedTokenMatcher {
 public:
  AddedTokenMatcher() = default;
  explicit AddedTokenMatcher(const std::vector<AddedToken>& tokens);

  bool empty() const { return token_ids_.empty(); }
  // Appends the segments of `text` (valid UTF-8) to `out`: ordinary runs and matched tokens, in
  // order; empty ordinary runs are omitted.
  void split(std::string_view text, std::vector<TextSegment>& out) const;

 private:
  struct Node {
    std::vector<std::pair<unsigned char, int32_t>> children;  // sorted by byte
    int32_t token = -1;  // index into token_ids_ of the token ending here
  };
  int32_t child(int32_t node, unsigned char byte) const;
  // Length of the longest token starting at text[pos] (0 if none), and its index.
  size_t longest_match(std::string_view text, size_t pos, int32_t* token) const;

  std::vector<Node> nodes_;
  std::vector<int32_t> token_ids_;
  std::vector<bool> lstrip_, rstrip_;
  bool first_byte_[256] = {};
};

}  // namespace megasft::data
