// UTF-8 helpers for the BPE tokenizer and chat templates: validation, NFC, lossy repair, the
// Unicode White_Space set, and GPT-2's byte-to-unicode map that byte-level vocabularies are written
// in.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace megasft::data {

// Byte offset of the first byte that does not start a well-formed UTF-8 sequence (overlongs,
// surrogates and code points above U+10FFFF are ill-formed), or npos if `text` is valid.
size_t find_invalid_utf8(std::string_view text);

// Throws megasft::Error naming `what` and the byte offset if `text` is not valid UTF-8.
void check_utf8(std::string_view text, std::string_view what);

// Replaces each maximal ill-formed subsequence by U+FFFD, as Rust's String::from_utf8_lossy and
// the WHATWG decoder do (so decode output matches Hugging Face's byte for byte).
std::string repair_utf8(std::string_view bytes);

// Unicode NFC of valid UTF-8 (utf8proc). Text whose bytes are all below 0xCC (code points below
// U+0300, all NFC-stable) is returned unchanged without calling utf8proc.
std::string nfc(std::string_view text);

// Decodes the code point at text[pos] (valid UTF-8 required) and its length in bytes.
char32_t decode_utf8_at(std::string_view text, size_t pos, int* length);
void append_utf8(std::string& out, char32_t cp);

// Unicode's White_Space property (what Rust's char::is_whitespace and Oniguruma's \s test).
bool is_unicode_white_space(char32_t cp);
// Python's str.isspace() (what Jinja's `trim` strips): White_Space plus U+001C..U+001F.
bool is_python_space(char32_t cp);
// Python's str.strip() with no argument: the chat templates' `| trim` filter.
std::string_view python_strip(std::string_view text);

// GPT-2's reversible byte -> code point map: printable Latin-1 bytes map to themselves, the other
// 68 bytes to U+0100.. in order. Byte-level vocabularies spell every token in these code points.
const std::array<char32_t, 256>& bytes_to_unicode();
// The inverse: the raw bytes a byte-level token string stands for, or nullopt if some character
// is outside the map (e.g. an added token such as "<think> " with a plain space).
std::optional<std::string> byte_level_to_bytes(std::string_view token);

}  // namespace megasft::data
