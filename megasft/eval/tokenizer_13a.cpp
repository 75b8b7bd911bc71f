// The 13a rules act on ASCII characters only, so they run on the UTF-8 bytes directly: a byte of a
// multi-byte character is never a digit, '.', ',' or a symbol, which is exactly how Python's
// regular expressions see the whole character. Only whitespace needs decoding, because Python's
// str.split() and str.rstrip() also split at U+00A0, U+3000 and the other Unicode spaces.
#include "megasft/eval/tokenizer_13a.h"

#include <cstdint>

namespace megasft::eval {
namespace {

// The code points for which Python's str.isspace() is true (listed from Python 3.11).
bool is_python_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

// The code point starting at s[i] and its length in bytes. Text comes from JSON, which is valid
// UTF-8; a stray byte counts as one non-space character rather than failing the whole report.
char32_t decode_utf8(std::string_view s, size_t i, size_t& length) {
  const auto lead = static_cast<unsigned char>(s[i]);
  length = 1;
  if (lead < 0x80) return lead;
  const size_t extra = lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : lead >= 0xC0 ? 1 : 0;
  if (extra == 0 || i + extra >= s.size()) return 0xFFFD;  // a stray or truncated byte
  char32_t c = lead & (0x3F >> extra);
  for (size_t k = 1; k <= extra; ++k) c = (c << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  length = extra + 1;
  return c;
}

// Python's str.split() with no argument: runs of whitespace separate, none at either end.
std::vector<std::string> split_on_whitespace(std::string_view s) {
  std::vector<std::string> tokens;
  size_t start = std::string_view::npos;
  for (size_t i = 0; i < s.size();) {
    size_t length = 0;
    const bool space = is_python_space(decode_utf8(s, i, length));
    if (space && start != std::string_view::npos) {
      tokens.emplace_back(s.substr(start, i - start));
      start = std::string_view::npos;
    } else if (!space && start == std::string_view::npos) {
      start = i;
    }
    i += length;
  }
  if (start != std::string_view::npos) tokens.emplace_back(s.substr(start));
  return tokens;
}

// Python's str.rstrip() with no argument.
std::string_view strip_trailing_whitespace(std::string_view s) {
  size_t end = 0;
  for (size_t i = 0; i < s.size();) {
    size_t length = 0;
    if (!is_python_space(decode_utf8(s, i, length))) end = i + length;
    i += length;
  }
  return s.substr(0, end);
}

std::string replace_all(const std::string& s, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(s.size());
  size_t at = 0;
  for (size_t hit = s.find(from); hit != std::string::npos; hit = s.find(from, at)) {
    out.append(s, at, hit - at).append(to);
    at = hit + from.size();
  }
  return out.append(s, at);
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// The character class [\{-\~\[-\` -\&\(-\+\:-\@\/] of 13a's first rule: every printable ASCII
// character that is not a letter, a digit, an apostrophe, '-', '.' or ','.
bool is_split_symbol(char c) {
  return (c >= '{' && c <= '~') || (c >= '[' && c <= '`') || (c >= ' ' && c <= '&') ||
         (c >= '(' && c <= '+') || (c >= ':' && c <= '@') || c == '/';
}

// One pass of a two-character rule as Python's re.sub applies it: left to right, a match consumes
// both characters, so the next match starts after them (the scan never looks back).
template <typename Matches, typename Rewrite>
std::string rewrite_pairs(const std::string& s, Matches matches, Rewrite rewrite) {
  std::string out;
  out.reserve(s.size() + s.size() / 2);
  size_t i = 0;
  while (i < s.size()) {
    if (i + 1 < s.size() && matches(s[i], s[i + 1])) {
      rewrite(s[i], s[i + 1], out);
      i += 2;
    } else {
      out.push_back(s[i++]);
    }
  }
  return out;
}

}  // namespace

std::vector<std::string> tokenize_13a(std::string_view text) {
  // The language-independent part, in sacrebleu's order (&amp; before &lt;, so "&amp;lt;" -> "<").
  std::string line(strip_trailing_whitespace(text));
  line = replace_all(line, "<skipped>", "");
  line = replace_all(line, "-\n", "");
  line = replace_all(line, "\n", " ");
  if (line.find('&') != std::string::npos) {
    line = replace_all(line, "&quot;", "\"");
    line = replace_all(line, "&amp;", "&");
    line = replace_all(line, "&lt;", "<");
    line = replace_all(line, "&gt;", ">");
  }

  // Rule 1: a symbol becomes a token of its own.
  std::string spaced;
  spaced.reserve(line.size() * 2 + 2);
  spaced.push_back(' ');
  for (char c : line) {
    if (is_split_symbol(c)) {
      spaced.push_back(' ');
      spaced.push_back(c);
      spaced.push_back(' ');
    } else {
      spaced.push_back(c);
    }
  }
  spaced.push_back(' ');

  // Rule 2: '.' or ',' after a non-digit -> "x . ".
  spaced = rewrite_pairs(
      spaced, [](char a, char b) { return !is_digit(a) && (b == '.' || b == ','); },
      [](char a, char b, std::string& out) {
        out.append({a, ' ', b, ' '});
      });
  // Rule 3: '.' or ',' before a non-digit -> " . x".
  spaced = rewrite_pairs(
      spaced, [](char a, char b) { return (a == '.' || a == ',') && !is_digit(b); },
      [](char a, char b, std::string& out) {
        out.append({' ', a, ' ', b});
      });
  // Rule 4: '-' after a digit -> "9 - ".
  spaced = rewrite_pairs(
      spaced, [](char a, char b) { return is_digit(a) && b == '-'; },
      [](char a, char b, std::string& out) {
        out.append({a, ' ', b, ' '});
      });
  return split_on_whitespace(spaced);
}

}  // namespace megasft::eval
