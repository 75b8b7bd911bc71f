#include "megasft/data/char_tokenizer.h"

#include <iomanip>
#include <sstream>

#include "kernels/check.h"

namespace megasft::data {

namespace {
std::string describe_byte(unsigned char c) {
  std::ostringstream out;
  if (c >= 32 && c <= 126) out << "'" << static_cast<char>(c) << "' ";
  out << "0x" << std::hex << std::setw(2) << std::setfill('0') << static_cast<int>(c);
  return out.str();
}
}  // namespace

std::vector<int32_t> CharTokenizer::encode(std::string_view text) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      ids.push_back(kNewline);
    } else if (c >= 32 && c <= 126) {
      ids.push_back(kFirstPrintable + static_cast<int32_t>(c - 32));
    } else {
      MEGASFT_FAIL("tokenizer ", kName, " cannot encode character ", describe_byte(c),
                   " at byte offset ", i, " (only '\\n' and printable ASCII are supported)");
    }
  }
  return ids;
}

std::string CharTokenizer::decode(std::span<const int32_t> ids) const {
  std::string text;
  text.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    const int32_t id = ids[i];
    if (id == kPad) {
      text += "<|pad|>";
    } else if (id == kBos) {
      text += "<|bos|>";
    } else if (id == kEos) {
      text += "<|eot|>";
    } else if (id == kNewline) {
      text += '\n';
    } else if (id >= kFirstPrintable && id < kVocabSize) {
      text += static_cast<char>(32 + (id - kFirstPrintable));
    } else {
      MEGASFT_FAIL("tokenizer ", kName, " cannot decode id ", id, " at position ", i,
                   " (vocabulary size ", kVocabSize, ")");
    }
  }
  return text;
}

}  // namespace megasft::data
