#include "launch/log_spec.h"

#include <charconv>
#include <optional>

#include "kernels/check.h"

namespace megasft::launch {
namespace {

std::optional<int> small_integer(const std::string& text) {
  int value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

int parse_mask(const std::string& option, const std::string& whole, const std::string& text) {
  std::optional<int> mask = small_integer(text);
  MEGASFT_CHECK(mask && *mask >= kNoStreams && *mask <= kBothStreams, "invalid value '", whole,
                "' for ", option,
                ": expected 0 (none), 1 (stdout), 2 (stderr), 3 (both), or per local rank as "
                "0:1,1:2");
  return *mask;
}

}  // namespace

int StreamSelection::for_local_rank(int local_rank) const {
  if (per_local_rank.empty()) return all;
  auto it = per_local_rank.find(local_rank);
  return it == per_local_rank.end() ? kNoStreams : it->second;
}

int StreamSelection::max_named_local_rank() const {
  return per_local_rank.empty() ? -1 : per_local_rank.rbegin()->first;
}

bool StreamSelection::any() const {
  if (per_local_rank.empty()) return all != kNoStreams;
  for (const auto& [rank, mask] : per_local_rank) {
    if (mask != kNoStreams) return true;
  }
  return false;
}

StreamSelection parse_stream_selection(const std::string& option, const std::string& text) {
  StreamSelection selection;
  if (text.find(':') == std::string::npos) {
    selection.all = parse_mask(option, text, text);
    return selection;
  }
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    const std::string item = text.substr(start, comma - start);
    const size_t colon = item.find(':');
    std::optional<int> rank =
        colon == std::string::npos ? std::nullopt : small_integer(item.substr(0, colon));
    MEGASFT_CHECK(rank && *rank >= 0, "invalid value '", text, "' for ", option, ": '", item,
                  "' is not LOCAL_RANK:STREAMS (e.g. 0:1,1:2)");
    int mask = parse_mask(option, text, item.substr(colon + 1));
    MEGASFT_CHECK(selection.per_local_rank.emplace(*rank, mask).second, "invalid value '", text,
                  "' for ", option, ": local rank ", *rank, " is given twice");
    start = comma + 1;
  }
  return selection;
}

}  // namespace megasft::launch
