// bench_tokenizer: single-thread MB/s of megasft's BPE tokenizer on English text, against
// baselines measured in the same run (memcpy, UTF-8 check + pre-tokenizer regex alone), printed
// as a markdown table. Run through tools/bench/tokenizer, which supplies the files.
//
//   bench_tokenizer --text FILE --tokenizer NAME=tokenizer.json [--tokenizer ...] [--repeat N]
//
// "cold" encodes FILE once with a fresh tokenizer (every distinct word goes through the merge
// loop); "warm" encodes FILE repeated N times with the same tokenizer (the word cache serves
// repeated words, as on any large corpus).
#include <chrono>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "megasft/data/bpe_tokenizer.h"
#include "megasft/data/regex_splitter.h"
#include "megasft/data/tokenizer_json.h"
#include "megasft/data/unicode_text.h"

namespace {

using Clock = std::chrono::steady_clock;
using megasft::data::BpeTokenizer;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Best of `runs` timings of fn(), in seconds: the least disturbed by the rest of the machine.
template <typename F>
double best_of(int runs, F&& fn) {
  double best = 1e30;
  for (int i = 0; i < runs; ++i) {
    const auto start = Clock::now();
    fn();
    best = std::min(best, seconds_since(start));
  }
  return best;
}

std::string fixed(double value, int digits) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(digits) << value;
  return out.str();
}

struct Row {
  std::string pass;
  double bytes;
  double seconds;
  std::string note;
};

}  // namespace

int main(int argc, char** argv) {
  std::string text_path;
  std::vector<std::pair<std::string, std::string>> tokenizers;  // name, path
  int repeat = 32;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--text" && i + 1 < argc) {
      text_path = argv[++i];
    } else if (arg == "--tokenizer" && i + 1 < argc) {
      const std::string spec = argv[++i];
      const size_t eq = spec.find('=');
      tokenizers.emplace_back(spec.substr(0, eq),
                              eq == std::string::npos ? spec : spec.substr(eq + 1));
    } else if (arg == "--repeat" && i + 1 < argc) {
      repeat = std::stoi(argv[++i]);
    } else {
      std::cerr << "usage: bench_tokenizer --text FILE --tokenizer NAME=tokenizer.json [...] "
                   "[--repeat N]\n";
      return 2;
    }
  }
  if (text_path.empty() || tokenizers.empty()) {
    std::cerr << "bench_tokenizer: --text and at least one --tokenizer are required\n";
    return 2;
  }
  std::ifstream in(text_path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  std::string big;
  big.reserve(text.size() * static_cast<size_t>(repeat));
  for (int i = 0; i < repeat; ++i) big += text;

  try {
    std::vector<Row> rows;
    std::string copy(big.size(), '\0');
    rows.push_back({"memcpy", static_cast<double>(big.size()),
                    best_of(5, [&] { std::memcpy(copy.data(), big.data(), big.size()); }),
                    "upper bound (the text fits in the CPU cache)"});
    for (const auto& [name, path] : tokenizers) {
      auto start = Clock::now();
      const megasft::data::TokenizerSpec spec = megasft::data::read_tokenizer_json(path);
      const BpeTokenizer loaded(spec);
      const double load = seconds_since(start);

      // The pre-tokenizer alone: UTF-8 check and every Split regex over the whole text.
      std::vector<megasft::data::RegexSplitter> splits;
      for (const auto& s : spec.splits) splits.emplace_back(s.pattern, s.literal, s.field);
      size_t pieces = 0;
      const double regex = best_of(3, [&] {
        megasft::data::check_utf8(big, "text");
        for (const auto& split : splits)
          split.for_each_piece(big, [&](std::string_view) { ++pieces; });
      });
      rows.push_back({name + ": UTF-8 check + pre-tokenizer regex", static_cast<double>(big.size()),
                      regex,
                      splits.empty() || splits[0].jit() ? "PCRE2 JIT" : "PCRE2 interpreter"});

      size_t tokens = 0;
      const BpeTokenizer unused = loaded;  // a copy of a never-used tokenizer has an empty cache
      const double cold = best_of(3, [&] {
        const BpeTokenizer fresh = unused;  // shares the tables, not the (empty) word cache
        tokens = fresh.encode(text).size();
      });
      rows.push_back({name + ": encode, cold cache", static_cast<double>(text.size()), cold,
                      std::to_string(tokens) + " tokens, " +
                          fixed(static_cast<double>(text.size()) / std::max<size_t>(tokens, 1), 2) +
                          " bytes/token"});
      loaded.encode(text);  // warm the cache once
      const double warm = best_of(3, [&] { tokens = loaded.encode(big).size(); });
      rows.push_back(
          {name + ": encode, warm cache", static_cast<double>(big.size()), warm,
           std::to_string(tokens) + " tokens; tokenizer.json loads in " + fixed(load, 2) + " s"});
    }
    std::cout << "text: " << text_path << " (" << text.size() << " bytes; memcpy, regex and warm "
              << "passes use it x" << repeat << " = " << fixed(big.size() / 1e6, 1)
              << " MB), 1 thread\n\n";
    std::cout << "| pass | MB/s | note |\n|---|---:|---|\n";
    for (const Row& r : rows) {
      std::cout << "| " << r.pass << " | " << fixed(r.bytes / 1e6 / r.seconds, 1) << " | " << r.note
                << " |\n";
    }
  } catch (const std::exception& e) {
    std::cerr << "bench_tokenizer: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
