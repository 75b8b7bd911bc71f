// A character-level tokenizer for the demo: three special ids, then '\n' and printable ASCII.
// It needs no vocabulary file, so the demo data and the trainer agree by construction.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace megasft::data {

class CharTokenizer {
 public:
  // Stored in dataset files so a trainer can refuse data made by a different tokenizer.
  static constexpr std::string_view kName = "char-v1";

  // Throws megasft::Error naming the first character outside the alphabet and its byte offset.
  std::vector<int32_t> encode(std::string_view text) const;
  // Specials render as <|pad|>, <|bos|>, <|eot|>; an id outside the vocabulary is an error.
  std::string decode(std::span<const int32_t> ids) const;

  int32_t vocab_size() const { return kVocabSize; }
  int32_t pad_id() const { return kPad; }
  int32_t bos_id() const { return kBos; }
  int32_t eos_id() const { return kEos; }  // end of turn

 private:
  static constexpr int32_t kPad = 0;
  static constexpr int32_t kBos = 1;
  static constexpr int32_t kEos = 2;
  static constexpr int32_t kNewline = 3;
  static constexpr int32_t kFirstPrintable = 4;  // id of ' ' (0x20); '~' (0x7e) is last
  static constexpr int32_t kVocabSize = kFirstPrintable + (126 - 32 + 1);
};

}  // namespace megasft::data
