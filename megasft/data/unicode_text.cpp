#include "megasft/data/unicode_text.h"

#include <utf8proc.h>

#include <cstdlib>
#include <cstring>
#include <memory>

#include "kernels/check.h"

namespace megasft::data {

namespace {

// Length of the well-formed UTF-8 sequence at text[pos], or 0 if it is ill-formed. When ill-formed,
// *maximal is the length of the maximal subpart (lead plus the continuation bytes that were still
// acceptable), the unit that one U+FFFD replaces.
size_t utf8_sequence_at(std::string_view text, size_t pos, size_t* maximal) {
  const auto b0 = static_cast<unsigned char>(text[pos]);
  *maximal = 1;
  if (b0 < 0x80) return 1;
  size_t need = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the range allowed for the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 3;
    if (b0 == 0xE0) lo = 0xA0;  // no overlongs
    if (b0 == 0xED) hi = 0x9F;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 4;
    if (b0 == 0xF0) lo = 0x90;  // no overlongs
    if (b0 == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return 0;
  }
  for (size_t k = 1; k < need; ++k) {
    if (pos + k >= text.size()) return 0;
    const auto b = static_cast<unsigned char>(text[pos + k]);
    const bool ok = k == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
    if (!ok) return 0;
    *maximal = k + 1;
  }
  return need;
}

}  // namespace

size_t find_invalid_utf8(std::string_view text) {
  size_t pos = 0;
  const size_t n = text.size();
  while (pos < n) {
    // ASCII fast path, eight bytes at a time.
    if (pos + 8 <= n) {
      uint64_t word;
      std::memcpy(&word, text.data() + pos, 8);
      if ((word & 0x8080808080808080ULL) == 0) {
        pos += 8;
        continue;
      }
    }
    size_t maximal = 0;
    const size_t len = utf8_sequence_at(text, pos, &maximal);
    if (len == 0) return pos;
    pos += len;
  }
  return std::string_view::npos;
}

void check_utf8(std::string_view text, std::string_view what) {
  const size_t bad = find_invalid_utf8(text);
  if (bad != std::string_view::npos) {
    static const char* kHex = "0123456789abcdef";
    const auto b = static_cast<unsigned char>(text[bad]);
    const char byte[3] = {kHex[b >> 4], kHex[b & 15], '\0'};
    MEGASFT_FAIL(what, " is not valid UTF-8: byte 0x", byte, " at byte offset ", bad);
  }
}

std::string repair_utf8(std::string_view bytes) {
  if (find_invalid_utf8(bytes) == std::string_view::npos) return std::string(bytes);
  std::string out;
  out.reserve(bytes.size() + 8);
  size_t pos = 0;
  while (pos < bytes.size()) {
    size_t maximal = 0;
    const size_t len = utf8_sequence_at(bytes, pos, &maximal);
    if (len > 0) {
      out.append(bytes.substr(pos, len));
      pos += len;
    } else {
      out.append("\xEF\xBF\xBD");  // U+FFFD
      pos += maximal;
    }
  }
  return out;
}

std::string nfc(std::string_view text) {
  bool maybe_changes = false;
  for (const char c : text) {
    if (static_cast<unsigned char>(c) >= 0xCC) {  // 0xCC 0x80 is U+0300, the first non-NFC-stable
      maybe_changes = true;
      break;
    }
  }
  if (!maybe_changes) return std::string(text);
  utf8proc_uint8_t* raw = nullptr;
  const utf8proc_ssize_t len =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                   static_cast<utf8proc_ssize_t>(text.size()), &raw,
                   static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owned(raw, &std::free);
  MEGASFT_CHECK(len >= 0, "NFC normalization failed: ", utf8proc_errmsg(len));
  return std::string(reinterpret_cast<const char*>(raw), static_cast<size_t>(len));
}

char32_t decode_utf8_at(std::string_view text, size_t pos, int* length) {
  const auto b0 = static_cast<unsigned char>(text[pos]);
  auto cont = [&](size_t k) {
    return static_cast<char32_t>(static_cast<unsigned char>(text[pos + k]) & 0x3F);
  };
  if (b0 < 0x80) {
    *length = 1;
    return b0;
  }
  if (b0 < 0xE0) {
    *length = 2;
    return (static_cast<char32_t>(b0 & 0x1F) << 6) | cont(1);
  }
  if (b0 < 0xF0) {
    *length = 3;
    return (static_cast<char32_t>(b0 & 0x0F) << 12) | (cont(1) << 6) | cont(2);
  }
  *length = 4;
  return (static_cast<char32_t>(b0 & 0x07) << 18) | (cont(1) << 12) | (cont(2) << 6) | cont(3);
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool is_unicode_white_space(char32_t cp) {
  // PropList.txt, White_Space (unchanged since Unicode 6.3).
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
         cp == 0x205F || cp == 0x3000;
}

bool is_python_space(char32_t cp) {
  return is_unicode_white_space(cp) || (cp >= 0x1C && cp <= 0x1F);
}

std::string_view python_strip(std::string_view text) {
  size_t begin = 0;
  while (begin < text.size()) {
    int len = 0;
    if (!is_python_space(decode_utf8_at(text, begin, &len))) break;
    begin += static_cast<size_t>(len);
  }
  size_t end = text.size();
  while (end > begin) {
    size_t lead = end - 1;
    while (lead > begin && (static_cast<unsigned char>(text[lead]) & 0xC0) == 0x80) --lead;
    int len = 0;
    if (!is_python_space(decode_utf8_at(text, lead, &len))) break;
    end = lead;
  }
  return text.substr(begin, end - begin);
}

const std::array<char32_t, 256>& bytes_to_unicode() {
  static const std::array<char32_t, 256> table = [] {
    std::array<char32_t, 256> t{};
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      t[static_cast<size_t>(b)] = printable ? static_cast<char32_t>(b) : next++;
    }
    return t;
  }();
  return table;
}

std::optional<std::string> byte_level_to_bytes(std::string_view token) {
  // Inverse over the 324 code points the map uses (U+0021..U+0143).
  static const std::array<int16_t, 324> inverse = [] {
    std::array<int16_t, 324> inv{};
    inv.fill(-1);
    const auto& forward = bytes_to_unicode();
    for (int b = 0; b < 256; ++b) inv[forward[static_cast<size_t>(b)]] = static_cast<int16_t>(b);
    return inv;
  }();
  std::string out;
  out.reserve(token.size());
  size_t pos = 0;
  while (pos < token.size()) {
    size_t maximal = 0;
    if (utf8_sequence_at(token, pos, &maximal) == 0) return std::nullopt;
    int len = 0;
    const char32_t cp = decode_utf8_at(token, pos, &len);
    if (cp >= inverse.size() || inverse[cp] < 0) return std::nullopt;
    out.push_back(static_cast<char>(inverse[cp]));
    pos += static_cast<size_t>(len);
  }
  return out;
}

}  // namespace megasft::data
