#include "megasft/data/added_tokens.h"

#include <algorithm>
#include <cstring>

#include "megasft/data/unicode_text.h"

namespace megasft::data {

AddedTokenMatcher::AddedTokenMatcher(const std::vector<AddedToken>& tokens) {
  nodes_.emplace_back();  // root
  for (const AddedToken& t : tokens) {
    if (t.content.empty()) continue;
    int32_t node = 0;
    for (const char ch : t.content) {
      const auto byte = static_cast<unsigned char>(ch);
      int32_t next = child(node, byte);
      if (next < 0) {
        next = static_cast<int32_t>(nodes_.size());
        nodes_.emplace_back();
        auto& kids = nodes_[static_cast<size_t>(node)].children;
        kids.insert(std::lower_bound(kids.begin(), kids.end(), std::make_pair(byte, int32_t{-1})),
                    {byte, next});
      }
      node = next;
    }
    // A duplicated content keeps its last entry, as a map built from the list would.
    const auto index = static_cast<int32_t>(token_ids_.size());
    nodes_[static_cast<size_t>(node)].token = index;
    token_ids_.push_back(t.id);
    lstrip_.push_back(t.lstrip);
    rstrip_.push_back(t.rstrip);
    first_byte_[static_cast<unsigned char>(t.content[0])] = true;
  }
}

int32_t AddedTokenMatcher::child(int32_t node, unsigned char byte) const {
  const auto& kids = nodes_[static_cast<size_t>(node)].children;
  const auto it = std::lower_bound(kids.begin(), kids.end(), std::make_pair(byte, int32_t{-1}));
  return it != kids.end() && it->first == byte ? it->second : -1;
}

size_t AddedTokenMatcher::longest_match(std::string_view text, size_t pos, int32_t* token) const {
  size_t best = 0;
  int32_t node = 0;
  for (size_t k = pos; k < text.size(); ++k) {
    node = child(node, static_cast<unsigned char>(text[k]));
    if (node < 0) break;
    const int32_t t = nodes_[static_cast<size_t>(node)].token;
    if (t >= 0) {
      best = k + 1 - pos;
      *token = t;
    }
  }
  return best;
}

void AddedTokenMatcher::split(std::string_view text, std::vector<TextSegment>& out) const {
  if (empty()) {
    if (!text.empty()) out.push_back({text, -1});
    return;
  }
  size_t emitted = 0;  // text[0, emitted) is already in `out`
  size_t pos = 0;
  while (pos < text.size()) {
    if (!first_byte_[static_cast<unsigned char>(text[pos])]) {
      ++pos;
      continue;
    }
    int32_t token = -1;
    const size_t len = longest_match(text, pos, &token);
    if (len == 0) {
      ++pos;
      continue;
    }
    size_t start = pos;
    size_t stop = pos + len;
    if (lstrip_[static_cast<size_t>(token)]) {
      // Walk back over whitespace, never into the previous match.
      while (start > emitted) {
        size_t lead = start - 1;
        while (lead > emitted && (static_cast<unsigned char>(text[lead]) & 0xC0) == 0x80) --lead;
        int n = 0;
        if (!is_unicode_white_space(decode_utf8_at(text, lead, &n))) break;
        start = lead;
      }
    }
    if (rstrip_[static_cast<size_t>(token)]) {
      while (stop < text.size()) {
        int n = 0;
        if (!is_unicode_white_space(decode_utf8_at(text, stop, &n))) break;
        stop += static_cast<size_t>(n);
      }
    }
    if (start > emitted) out.push_back({text.substr(emitted, start - emitted), -1});
    out.push_back({text.substr(start, stop - start), token_ids_[static_cast<size_t>(token)]});
    emitted = stop;
    pos = stop;
  }
  if (emitted < text.size()) out.push_back({text.substr(emitted), -1});
}

}  // namespace megasft::data
