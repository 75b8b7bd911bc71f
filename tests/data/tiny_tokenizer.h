// A tiny byte-level BPE tokenizer.json built in the test (256 byte tokens, a few merges, the
// Llama 3 and ChatML special tokens, Llama 3's pre-tokenizer), for tests that must not depend on
// the network, and as a base that malformed-file tests mutate one field at a time.
#pragma once

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "megasft/data/unicode_text.h"

namespace megasft::data::testing {

inline constexpr const char* kLlama3Pattern =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

// Merges in rank order, spelled in GPT-2's byte-to-unicode alphabet ("Ġ" is a space).
inline const std::vector<std::pair<std::string, std::string>>& tiny_merges() {
  static const std::vector<std::pair<std::string, std::string>> merges = {
      {"l", "l"},   {"h", "e"}, {"he", "ll"},   {"hell", "o"}, {"Ġ", "w"}, {"o", "r"},
      {"Ġw", "or"}, {"l", "d"}, {"Ġwor", "ld"}, {"Ċ", "Ċ"},    {"a", "a"}, {"aa", "aa"}};
  return merges;
}

inline std::string byte_spelling(unsigned char b) {
  std::string s;
  append_utf8(s, bytes_to_unicode()[b]);
  return s;
}

inline nlohmann::json tiny_tokenizer_json() {
  using nlohmann::json;
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[byte_spelling(static_cast<unsigned char>(b))] = b;
  int next = 256;
  json merges = json::array();
  for (const auto& [a, b] : tiny_merges()) {
    if (!vocab.contains(a + b)) vocab[a + b] = next++;
    merges.push_back(a + " " + b);
  }
  json added = json::array();
  for (const char* content : {"<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
                              "<|eot_id|>", "<|im_start|>", "<|im_end|>", "<|endoftext|>"}) {
    added.push_back({{"id", next++},
                     {"content", content},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", true}});
  }
  return {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added},
      {"normalizer", nullptr},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers", json::array({{{"type", "Split"},
                                        {"pattern", {{"Regex", kLlama3Pattern}}},
                                        {"behavior", "Isolated"},
                                        {"invert", false}},
                                       {{"type", "ByteLevel"},
                                        {"add_prefix_space", false},
                                        {"trim_offsets", true},
                                        {"use_regex", false}}})}}},
      {"post_processor", nullptr},
      {"decoder",
       {{"type", "ByteLevel"},
        {"add_prefix_space", true},
        {"trim_offsets", true},
        {"use_regex", true}}},
      {"model",
       {{"type", "BPE"},
        {"dropout", nullptr},
        {"unk_token", nullptr},
        {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr},
        {"fuse_unk", false},
        {"byte_fallback", false},
        {"ignore_merges", false},
        {"vocab", vocab},
        {"merges", merges}}},
  };
}

inline std::string write_json(const std::string& path, const nlohmann::json& value) {
  std::ofstream(path) << value.dump();
  return path;
}

}  // namespace megasft::data::testing
