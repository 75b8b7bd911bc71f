// `megasft tokenize`: a BPE tokenizer.json as a filter, one text per stdin line -> one JSON array
// of ids per stdout line (no special tokens added), or back with --decode.
#include <boost/program_options.hpp>
#include <charconv>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kernels/check.h"
#include "megasft/cli/command_options.h"
#include "megasft/cli/commands.h"
#include "megasft/data/bpe_tokenizer.h"

namespace megasft::cli {

namespace {

namespace po = boost::program_options;
using nlohmann::json;

std::string parse_error_text(const json::exception& e) {
  std::string what = e.what();
  const size_t tag = what.find("] ");
  return tag == std::string::npos ? what : what.substr(tag + 2);
}

void write_ids(const std::vector<int32_t>& ids, std::string& out) {
  out.push_back('[');
  char buffer[16];
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) out.push_back(',');
    const auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), ids[i]);
    out.append(buffer, end);
  }
  out.append("]\n");
}

std::vector<int32_t> read_ids(const std::string& line, int64_t number) {
  json value;
  try {
    value = json::parse(line);
  } catch (const json::parse_error& e) {
    MEGASFT_FAIL("tokenize --decode: stdin line ", number,
                 " is not a JSON array of ids: ", parse_error_text(e));
  }
  MEGASFT_CHECK(value.is_array(), "tokenize --decode: stdin line ", number,
                " must be a JSON array of ids but is ", value.type_name());
  std::vector<int32_t> ids;
  ids.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    const json& id = value[i];
    MEGASFT_CHECK(
        id.is_number_integer() && id.get<int64_t>() >= 0 && id.get<int64_t>() <= INT32_MAX,
        "tokenize --decode: stdin line ", number, ", entry ", i, " is ", id.dump(),
        ", not a token id");
    ids.push_back(id.get<int32_t>());
  }
  return ids;
}

}  // namespace

int tokenize_command(const Args& args) {
  std::string tokenizer_path;
  bool decode = false;
  bool json_lines = false;
  po::options_description desc("megasft tokenize options");
  // clang-format off
  desc.add_options()
      ("help,h", "show this help")
      ("tokenizer", po::value(&tokenizer_path), "Hugging Face tokenizer.json (byte-level BPE), required")
      ("decode", po::bool_switch(&decode), "input lines are JSON arrays of ids; print their text")
      ("json", po::bool_switch(&json_lines),
       "texts are JSON strings, one per line (input when encoding, output when decoding), so they "
       "may hold newlines; without it a line is the text itself, byte for byte");
  // clang-format on
  const auto vm = parse_command_options(args, desc, "tokenize");
  if (vm.count("help") > 0) {
    std::cout << "usage: megasft tokenize --tokenizer FILE [--decode] [--json] < in > out\n"
                 "Encodes one text per stdin line into one JSON array of ids per stdout line, as\n"
                 "Hugging Face's encode(text, add_special_tokens=False): no BOS/EOS is added, but\n"
                 "special-token text such as <|eot_id|> in the input becomes its id.\n"
              << desc;
    return 0;
  }
  MEGASFT_CHECK(!tokenizer_path.empty(), "tokenize: --tokenizer FILE is required");
  const data::BpeTokenizer tokenizer = data::BpeTokenizer::from_file(tokenizer_path);

  std::ios::sync_with_stdio(false);
  std::string line;
  std::string out;
  int64_t number = 0;
  while (std::getline(std::cin, line)) {
    ++number;
    if (decode) {
      const std::string text = tokenizer.decode(read_ids(line, number));
      if (json_lines) {
        out += json(text).dump();
      } else {
        out += text;
      }
      out.push_back('\n');
    } else {
      std::string text;
      if (json_lines) {
        json value;
        try {
          value = json::parse(line);
        } catch (const json::parse_error& e) {
          MEGASFT_FAIL("tokenize --json: stdin line ", number,
                       " is not a JSON string: ", parse_error_text(e));
        }
        MEGASFT_CHECK(value.is_string(), "tokenize --json: stdin line ", number,
                      " must be a JSON string but is ", value.type_name());
        text = value.get<std::string>();
      } else {
        text = std::move(line);
      }
      try {
        write_ids(tokenizer.encode(text), out);
      } catch (const Error& e) {
        MEGASFT_FAIL("tokenize: stdin line ", number, ": ", e.what());
      }
    }
    if (out.size() > (1 << 16)) {
      std::cout << out;
      out.clear();
    }
  }
  std::cout << out << std::flush;
  MEGASFT_CHECK(std::cout.good(), "tokenize: cannot write to stdout");
  return 0;
}

}  // namespace megasft::cli
