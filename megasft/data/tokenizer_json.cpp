#include "megasft/data/tokenizer_json.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "kernels/check.h"

namespace megasft::data {

namespace {

using nlohmann::json;

// Every message names the file and the field, as "tokenizer file 'P': field F ...".
class Reader {
 public:
  explicit Reader(std::string path) : path_(std::move(path)) {}

  template <typename... Args>
  [[noreturn]] void fail(const std::string& field, const Args&... args) const {
    MEGASFT_FAIL("tokenizer file '", path_, "': field '", field, "' ", args...);
  }

  const json& member(const json& object, const std::string& field, const char* key) const {
    const auto it = object.find(key);
    if (it == object.end()) fail(join(field, key), "is missing");
    return *it;
  }
  static std::string join(const std::string& field, const char* key) {
    return field.empty() ? key : field + "." + key;
  }
  static std::string at(const std::string& field, size_t i) {
    return field + "[" + std::to_string(i) + "]";
  }

  std::string string(const json& value, const std::string& field) const {
    if (!value.is_string()) fail(field, "must be a string but is ", value.type_name());
    return value.get<std::string>();
  }
  bool boolean(const json& object, const std::string& field, const char* key, bool fallback) const {
    const auto it = object.find(key);
    if (it == object.end() || it->is_null()) return fallback;
    if (!it->is_boolean()) fail(join(field, key), "must be true or false but is ", it->dump());
    return it->get<bool>();
  }
  std::string type(const json& object, const std::string& field) const {
    if (!object.is_object()) fail(field, "must be an object but is ", object.type_name());
    return string(member(object, field, "type"), join(field, "type"));
  }
  // Options that change the ids but that megasft does not implement must be absent or neutral.
  void expect_default(const json& object, const std::string& field, const char* key,
                      const json& neutral, const char* why) const {
    const auto it = object.find(key);
    if (it == object.end() || it->is_null() || *it == neutral) return;
    fail(join(field, key), "is ", it->dump(), ": ", why);
  }

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void read_normalizer(const Reader& r, const json& n, const std::string& field,
                     TokenizerSpec& spec) {
  if (n.is_null()) return;
  const std::string type = r.type(n, field);
  if (type == "NFC") {
    spec.nfc = true;
  } else if (type == "Sequence") {
    const json& list = r.member(n, field, "normalizers");
    if (!list.is_array()) r.fail(field + ".normalizers", "must be an array");
    for (size_t i = 0; i < list.size(); ++i)
      read_normalizer(r, list[i], Reader::at(field + ".normalizers", i), spec);
  } else {
    r.fail(field + ".type", "is '", type, "': megasft implements only the NFC normalizer");
  }
}

void read_split(const Reader& r, const json& p, const std::string& field, TokenizerSpec& spec) {
  const json& pattern = r.member(p, field, "pattern");
  SplitSpec split;
  if (pattern.is_object() && pattern.contains("Regex")) {
    split.field = field + ".pattern.Regex";
    split.pattern = r.string(pattern["Regex"], split.field);
  } else if (pattern.is_object() && pattern.contains("String")) {
    split.field = field + ".pattern.String";
    split.pattern = r.string(pattern["String"], split.field);
    split.literal = true;
  } else {
    r.fail(field + ".pattern", "must be {\"Regex\": ...} or {\"String\": ...} but is ",
           pattern.dump());
  }
  const std::string behavior = r.string(r.member(p, field, "behavior"), field + ".behavior");
  if (behavior != "Isolated") {
    r.fail(field + ".behavior", "is '", behavior, "': megasft implements only 'Isolated'");
  }
  if (r.boolean(p, field, "invert", false)) r.fail(field + ".invert", "is true: not supported");
  spec.splits.push_back(std::move(split));
}

void read_pre_tokenizer(const Reader& r, const json& p, TokenizerSpec& spec) {
  const std::string field = "pre_tokenizer";
  if (p.is_null()) r.fail(field, "is null: megasft needs a ByteLevel pre-tokenizer");
  std::vector<std::pair<const json*, std::string>> steps;
  if (r.type(p, field) == "Sequence") {
    const json& list = r.member(p, field, "pretokenizers");
    if (!list.is_array()) r.fail(field + ".pretokenizers", "must be an array");
    for (size_t i = 0; i < list.size(); ++i)
      steps.emplace_back(&list[i], Reader::at(field + ".pretokenizers", i));
  } else {
    steps.emplace_back(&p, field);
  }
  bool byte_level = false;
  for (const auto& [step, where] : steps) {
    const std::string type = r.type(*step, where);
    if (byte_level)
      r.fail(where + ".type", "is '", type, "' after ByteLevel: ByteLevel must come last");
    if (type == "Split") {
      read_split(r, *step, where, spec);
    } else if (type == "ByteLevel") {
      byte_level = true;
      if (r.boolean(*step, where, "add_prefix_space", false)) {
        r.fail(where + ".add_prefix_space", "is true: not supported");
      }
      if (r.boolean(*step, where, "use_regex", true)) {
        spec.splits.push_back({kGpt2SplitPattern, false, where + ".use_regex (GPT-2's pattern)"});
      }
    } else {
      r.fail(where + ".type", "is '", type, "': megasft implements Split and ByteLevel");
    }
  }
  if (!byte_level) r.fail(field, "has no ByteLevel step: megasft implements byte-level BPE only");
}

void read_decoder(const Reader& r, const json& d, const std::string& field) {
  if (d.is_null()) r.fail(field, "is null: megasft implements the ByteLevel decoder");
  const std::string type = r.type(d, field);
  if (type == "ByteLevel") return;
  if (type == "Sequence") {
    const json& list = r.member(d, field, "decoders");
    if (!list.is_array() || list.size() != 1)
      r.fail(field + ".decoders", "must hold exactly one ByteLevel decoder");
    read_decoder(r, list[0], field + ".decoders[0]");
    return;
  }
  r.fail(field + ".type", "is '", type, "': megasft implements the ByteLevel decoder");
}

void read_model(const Reader& r, const json& m, TokenizerSpec& spec) {
  const std::string field = "model";
  const std::string type = r.type(m, field);
  if (type != "BPE") r.fail("model.type", "is '", type, "': megasft implements BPE");
  r.expect_default(m, field, "dropout", 0.0, "BPE dropout is not supported");
  r.expect_default(m, field, "byte_fallback", false, "byte fallback is not supported");
  r.expect_default(m, field, "continuing_subword_prefix", "", "subword prefixes are not supported");
  r.expect_default(m, field, "end_of_word_suffix", "", "word suffixes are not supported");
  spec.ignore_merges = r.boolean(m, field, "ignore_merges", false);

  const json& vocab = r.member(m, field, "vocab");
  if (!vocab.is_object()) r.fail("model.vocab", "must be an object of token -> id");
  spec.vocab.reserve(vocab.size());
  for (const auto& [token, id] : vocab.items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX) {
      r.fail("model.vocab[\"" + token + "\"]", "must be a non-negative 32-bit id but is ",
             id.dump());
    }
    spec.vocab.emplace_back(token, id.get<int32_t>());
  }

  const json& merges = r.member(m, field, "merges");
  if (!merges.is_array()) r.fail("model.merges", "must be an array");
  spec.merges.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    const json& merge = merges[i];
    if (merge.is_string()) {
      const std::string& s = merge.get_ref<const std::string&>();
      const size_t space = s.find(' ');
      if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos) {
        r.fail(Reader::at("model.merges", i), "must be two tokens separated by one space but is ",
               merge.dump());
      }
      spec.merges.emplace_back(s.substr(0, space), s.substr(space + 1));
    } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() &&
               merge[1].is_string()) {
      spec.merges.emplace_back(merge[0].get<std::string>(), merge[1].get<std::string>());
    } else {
      r.fail(Reader::at("model.merges", i), "must be \"a b\" or [\"a\", \"b\"] but is ",
             merge.dump());
    }
  }
}

void read_added_tokens(const Reader& r, const json& list, TokenizerSpec& spec) {
  if (list.is_null()) return;
  if (!list.is_array()) r.fail("added_tokens", "must be an array");
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string field = Reader::at("added_tokens", i);
    const json& t = list[i];
    if (!t.is_object()) r.fail(field, "must be an object");
    AddedToken token;
    const json& id = r.member(t, field, "id");
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX) {
      r.fail(field + ".id", "must be a non-negative 32-bit id but is ", id.dump());
    }
    token.id = id.get<int32_t>();
    token.content = r.string(r.member(t, field, "content"), field + ".content");
    if (token.content.empty()) r.fail(field + ".content", "is empty");
    token.special = r.boolean(t, field, "special", false);
    token.lstrip = r.boolean(t, field, "lstrip", false);
    token.rstrip = r.boolean(t, field, "rstrip", false);
    token.normalized = r.boolean(t, field, "normalized", !token.special);
    if (r.boolean(t, field, "single_word", false))
      r.fail(field + ".single_word", "is true: not supported");
    spec.added_tokens.push_back(std::move(token));
  }
}

}  // namespace

TokenizerSpec read_tokenizer_json(const std::string& path) {
  std::error_code ec;
  MEGASFT_CHECK(std::filesystem::is_regular_file(path, ec), "cannot open tokenizer file '", path,
                "': no such file");
  std::ifstream in(path, std::ios::binary);
  MEGASFT_CHECK(in.good(), "cannot open tokenizer file '", path, "'");
  std::stringstream buffer;
  buffer << in.rdbuf();
  json root;
  try {
    root = json::parse(buffer.str());
  } catch (const json::parse_error& e) {
    MEGASFT_FAIL("tokenizer file '", path, "' is not valid JSON: ", e.what());
  }
  const Reader r(path);
  if (!root.is_object()) r.fail("(root)", "must be a JSON object");
  TokenizerSpec spec;
  spec.path = path;
  const json null_value;
  auto get = [&](const char* key) -> const json& {
    const auto it = root.find(key);
    return it == root.end() ? null_value : *it;
  };
  if (!get("truncation").is_null())
    r.fail("truncation", "is set: megasft never truncates inside the tokenizer; set it to null");
  if (!get("padding").is_null())
    r.fail("padding", "is set: megasft never pads inside the tokenizer; set it to null");
  read_model(r, r.member(root, "", "model"), spec);
  read_added_tokens(r, get("added_tokens"), spec);
  read_normalizer(r, get("normalizer"), "normalizer", spec);
  read_pre_tokenizer(r, r.member(root, "", "pre_tokenizer"), spec);
  read_decoder(r, r.member(root, "", "decoder"), "decoder");
  return spec;
}

}  // namespace megasft::data
