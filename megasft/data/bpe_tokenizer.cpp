#include "megasft/data/bpe_tokenizer.h"

#include <algorithm>
#include <array>

#include "kernels/check.h"
#include "megasft/data/added_tokens.h"
#include "megasft/data/regex_splitter.h"
#include "megasft/data/unicode_text.h"

namespace megasft::data {

namespace {

// Words longer than this are merged every time rather than cached (a pathological 1 MB "word"
// must not pin memory); Hugging Face's own cache has the same kind of limit.
constexpr size_t kMaxCachedWordBytes = 256;
// Entries before the cache is cleared (bounds its memory to a few tens of MB).
constexpr size_t kCacheCapacity = 1 << 17;

// (left id, right id) -> (rank, merged id): open addressing with linear probing over a power of
// two table, so the merge loop's lookups touch one flat array instead of chasing hash nodes.
class PairMap {
 public:
  struct Value {
    uint32_t rank;
    int32_t new_id;
  };

  explicit PairMap(size_t count) {
    size_t capacity = 16;
    while (capacity < 2 * count) capacity <<= 1;
    keys_.assign(capacity, kEmpty);
    values_.resize(capacity);
    mask_ = capacity - 1;
  }

  void insert_or_assign(int32_t left, int32_t right, Value value) {
    const uint64_t k = key(left, right);
    size_t slot = hash(k);
    while (keys_[slot] != kEmpty && keys_[slot] != k) slot = (slot + 1) & mask_;
    keys_[slot] = k;
    values_[slot] = value;
  }

  const Value* find(int32_t left, int32_t right) const {
    const uint64_t k = key(left, right);
    for (size_t slot = hash(k);; slot = (slot + 1) & mask_) {
      if (keys_[slot] == k) return &values_[slot];
      if (keys_[slot] == kEmpty) return nullptr;
    }
  }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t{0};  // ids are < 2^31, so never a real key
  static uint64_t key(int32_t left, int32_t right) {
    return (uint64_t{static_cast<uint32_t>(left)} << 32) | static_cast<uint32_t>(right);
  }
  size_t hash(uint64_t k) const {
    return static_cast<size_t>((k * 0x9E3779B97F4A7C15ULL) >> 20) & mask_;
  }

  std::vector<uint64_t> keys_;
  std::vector<Value> values_;
  size_t mask_ = 0;
};

}  // namespace

struct BpeTokenizer::Model {
  std::string path;
  StringMap<int32_t> vocab;            // raw bytes -> id (model.vocab only)
  std::array<int32_t, 256> byte_id{};  // the single-byte tokens every word starts from
  PairMap merges{0};
  bool ignore_merges = false;
  bool nfc = false;
  std::vector<RegexSplitter> splits;
  AddedTokenMatcher raw_added;         // matched before normalization
  AddedTokenMatcher normalized_added;  // matched on normalized text
  StringMap<int32_t> added_by_content;
  std::vector<std::string> id_bytes;  // id -> raw bytes, for decode
  std::vector<uint8_t> assigned;      // id -> 1 if some token has it
};

BpeTokenizer BpeTokenizer::from_file(const std::string& path) {
  return BpeTokenizer(read_tokenizer_json(path));
}

BpeTokenizer::BpeTokenizer(const TokenizerSpec& spec) {
  auto m = std::make_shared<Model>();
  const std::string where = "tokenizer file '" + spec.path + "'";
  m->path = spec.path;
  m->ignore_merges = spec.ignore_merges;
  m->nfc = spec.nfc;

  int32_t max_id = -1;
  for (const auto& [token, id] : spec.vocab) max_id = std::max(max_id, id);
  for (const AddedToken& t : spec.added_tokens) max_id = std::max(max_id, t.id);
  MEGASFT_CHECK(max_id >= 0, where, ": field 'model.vocab' is empty");
  m->id_bytes.resize(static_cast<size_t>(max_id) + 1);
  m->assigned.assign(static_cast<size_t>(max_id) + 1, 0);

  StringMap<int32_t> spelled;  // the file's byte-level spelling -> id, to resolve merges
  spelled.reserve(spec.vocab.size());
  m->vocab.reserve(spec.vocab.size());
  for (const auto& [token, id] : spec.vocab) {
    spelled.emplace(token, id);
    // A token outside the byte-level alphabet can never come out of encoding; Hugging Face's
    // decoder then emits its UTF-8 text, and so do we.
    std::optional<std::string> bytes = byte_level_to_bytes(token);
    if (bytes) m->vocab.emplace(*bytes, id);
    m->id_bytes[static_cast<size_t>(id)] = bytes ? std::move(*bytes) : token;
    m->assigned[static_cast<size_t>(id)] = 1;
  }
  for (int b = 0; b < 256; ++b) {
    const auto it = m->vocab.find(std::string(1, static_cast<char>(b)));
    if (it == m->vocab.end()) {
      std::string spelling;
      append_utf8(spelling, bytes_to_unicode()[static_cast<size_t>(b)]);
      MEGASFT_FAIL(where, ": field 'model.vocab' has no token for byte ", b, " ('", spelling,
                   "'); byte-level BPE needs all 256");
    }
    m->byte_id[static_cast<size_t>(b)] = it->second;
  }

  m->merges = PairMap(spec.merges.size());
  for (size_t rank = 0; rank < spec.merges.size(); ++rank) {
    const std::string& left = spec.merges[rank].first;    // not a structured binding: the lambda
    const std::string& right = spec.merges[rank].second;  // below captures them (clang < 16)
    auto id_of = [&](const std::string& token) {
      const auto it = spelled.find(token);
      if (it == spelled.end()) {
        MEGASFT_FAIL(where, ": field 'model.merges[", rank, "]' (\"", left, " ", right,
                     "\") uses '", token, "', which is not in model.vocab");
      }
      return it->second;
    };
    // Later duplicates win, as in Hugging Face's map built from the list.
    m->merges.insert_or_assign(id_of(left), id_of(right),
                               {static_cast<uint32_t>(rank), id_of(left + right)});
  }

  std::vector<AddedToken> raw, normalized;
  for (const AddedToken& t : spec.added_tokens) {
    (t.normalized ? normalized : raw).push_back(t);
    m->added_by_content[t.content] = t.id;
    // Hugging Face's ByteLevel decoder maps an added token's characters back to bytes when all of
    // them are in the byte alphabet, and keeps its UTF-8 text otherwise.
    m->id_bytes[static_cast<size_t>(t.id)] = byte_level_to_bytes(t.content).value_or(t.content);
    m->assigned[static_cast<size_t>(t.id)] = 1;
  }
  m->raw_added = AddedTokenMatcher(raw);
  m->normalized_added = AddedTokenMatcher(normalized);

  for (const SplitSpec& s : spec.splits) {
    m->splits.emplace_back(s.pattern, s.literal, where + ": field '" + s.field + "'");
  }
  model_ = std::move(m);
}

std::vector<int32_t> BpeTokenizer::encode(std::string_view text) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  encode_append(text, ids);
  return ids;
}

void BpeTokenizer::encode_append(std::string_view text, std::vector<int32_t>& out) const {
  check_utf8(text, "text to tokenize");
  std::vector<TextSegment> segments;
  model_->raw_added.split(text, segments);
  for (const TextSegment& seg : segments) {
    if (seg.id >= 0) {
      out.push_back(seg.id);
      continue;
    }
    if (!model_->nfc && model_->normalized_added.empty()) {
      encode_ordinary(seg.text, out);
      continue;
    }
    const std::string normalized = normalize(seg.text);
    std::vector<TextSegment> inner;
    model_->normalized_added.split(normalized, inner);
    for (const TextSegment& part : inner) {
      if (part.id >= 0) {
        out.push_back(part.id);
      } else {
        encode_ordinary(part.text, out);
      }
    }
  }
}

void BpeTokenizer::encode_ordinary(std::string_view text, std::vector<int32_t>& out) const {
  if (model_->splits.empty()) {
    encode_word(text, out);
  } else {
    encode_piece(text, 0, out);
  }
}

// Applies split `split` to `text` and each later split to every resulting piece, streaming the
// final pieces into encode_word (so a huge text never holds a vector of all its pieces).
void BpeTokenizer::encode_piece(std::string_view text, size_t split,
                                std::vector<int32_t>& out) const {
  const bool last = split + 1 == model_->splits.size();
  model_->splits[split].for_each_piece(text, [&](std::string_view piece) {
    if (last) {
      encode_word(piece, out);
    } else {
      encode_piece(piece, split + 1, out);
    }
  });
}

void BpeTokenizer::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  if (word.size() == 1) {
    out.push_back(model_->byte_id[static_cast<unsigned char>(word[0])]);
    return;
  }
  if (model_->ignore_merges) {
    const auto it = model_->vocab.find(word);
    if (it != model_->vocab.end()) {
      out.push_back(it->second);
      return;
    }
  }
  const auto hit = cache_.find(word);
  if (hit != cache_.end()) {
    out.insert(out.end(), hit->second.begin(), hit->second.end());
    return;
  }
  const size_t begin = out.size();
  merge_word(word, out);
  if (word.size() <= kMaxCachedWordBytes) {
    if (cache_.size() >= kCacheCapacity) cache_.clear();
    cache_.emplace(
        std::string(word),
        std::vector<int32_t>(out.begin() + static_cast<std::ptrdiff_t>(begin), out.end()));
  }
}

// Hugging Face's Word::merge_all: repeatedly merge the adjacent pair of lowest rank (leftmost on
// ties) until no adjacent pair has a merge. A heap keeps it O(n log n) for very long words; stale
// heap entries are skipped by re-checking the pair they were made for.
void BpeTokenizer::merge_word(std::string_view word, std::vector<int32_t>& out) const {
  const PairMap& merges = model_->merges;
  const auto n = static_cast<int32_t>(word.size());
  symbols_.resize(static_cast<size_t>(n));
  heap_.clear();
  auto later = [](const Candidate& a, const Candidate& b) {
    return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
  };
  for (int32_t i = 0; i < n; ++i) {
    symbols_[i] = {model_->byte_id[static_cast<unsigned char>(word[static_cast<size_t>(i)])], i - 1,
                   i + 1 < n ? i + 1 : -1, 1};
  }
  for (int32_t i = 0; i + 1 < n; ++i) {
    if (const PairMap::Value* v = merges.find(symbols_[i].id, symbols_[i + 1].id)) {
      heap_.push_back({v->rank, i, v->new_id});
    }
  }
  std::make_heap(heap_.begin(), heap_.end(), later);
  auto push = [&](int32_t pos, int32_t left, int32_t right) {
    if (const PairMap::Value* v = merges.find(left, right)) {
      heap_.push_back({v->rank, pos, v->new_id});
      std::push_heap(heap_.begin(), heap_.end(), later);
    }
  };
  while (!heap_.empty()) {
    std::pop_heap(heap_.begin(), heap_.end(), later);
    const Candidate top = heap_.back();
    heap_.pop_back();
    Symbol& sym = symbols_[static_cast<size_t>(top.pos)];
    if (sym.len == 0 || sym.next < 0) continue;
    const Symbol right = symbols_[static_cast<size_t>(sym.next)];
    const PairMap::Value* v = merges.find(sym.id, right.id);
    if (v == nullptr || v->new_id != top.new_id) continue;  // stale: a neighbour changed
    symbols_[static_cast<size_t>(sym.next)].len = 0;
    sym.id = top.new_id;
    sym.len += right.len;
    sym.next = right.next;
    if (right.next >= 0) symbols_[static_cast<size_t>(right.next)].prev = top.pos;
    if (sym.prev >= 0) push(sym.prev, symbols_[static_cast<size_t>(sym.prev)].id, sym.id);
    if (sym.next >= 0) push(top.pos, sym.id, symbols_[static_cast<size_t>(sym.next)].id);
  }
  for (int32_t i = 0; i >= 0; i = symbols_[static_cast<size_t>(i)].next) {
    out.push_back(symbols_[static_cast<size_t>(i)].id);
  }
}

std::string BpeTokenizer::decode_bytes(std::span<const int32_t> ids) const {
  std::string out;
  for (const int32_t id : ids) out.append(token_bytes(id));
  return out;
}

std::string BpeTokenizer::decode(std::span<const int32_t> ids) const {
  return repair_utf8(decode_bytes(ids));
}

const std::string& BpeTokenizer::token_bytes(int32_t id) const {
  MEGASFT_CHECK(id >= 0 && id < vocab_size() && model_->assigned[static_cast<size_t>(id)] != 0,
                "token id ", id, " is not in the vocabulary of tokenizer file '", model_->path,
                "' (ids 0..", vocab_size() - 1, ")");
  return model_->id_bytes[static_cast<size_t>(id)];
}

std::optional<int32_t> BpeTokenizer::added_token_id(std::string_view content) const {
  const auto it = model_->added_by_content.find(content);
  if (it == model_->added_by_content.end()) return std::nullopt;
  return it->second;
}

std::string BpeTokenizer::normalize(std::string_view text) const {
  return model_->nfc ? nfc(text) : std::string(text);
}

int32_t BpeTokenizer::vocab_size() const { return static_cast<int32_t>(model_->id_bytes.size()); }

const std::string& BpeTokenizer::path() const { return model_->path; }

bool BpeTokenizer::regex_jit() const {
  return std::all_of(model_->splits.begin(), model_->splits.end(),
                     [](const RegexSplitter& s) { return s.jit(); });
}

}  // namespace megasft::data
