// `megasft preprocess`: chat JSONL -> Llama 3 / Qwen2.5 chat template -> BPE -> the HDF5 token
// file the trainer reads, optionally packed; a progress bar, bad rows reported by line number.
#include <boost/program_options.hpp>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>

#include "kernels/check.h"
#include "megasft/cli/command_options.h"
#include "megasft/cli/commands.h"
#include "megasft/data/preprocess.h"
#include "megasft/data/progress_bar.h"

namespace megasft::cli {

namespace {

namespace po = boost::program_options;

std::string summary(const data::PreprocessOptions& o, const data::PreprocessReport& r) {
  std::ostringstream out;
  out << "preprocess: " << r.lines << " lines, " << r.samples << " samples";
  out << " (" << r.bad_rows << " bad rows skipped, " << r.truncated << " truncated to "
      << (o.max_length > 0 ? std::to_string(o.max_length) : std::string("-")) << " tokens, "
      << r.dropped_empty << " dropped with nothing supervised left)";
  if (o.pack) {
    out << " packed into " << r.rows << " rows of <= " << o.max_length << " tokens (" << std::fixed
        << std::setprecision(1)
        << (r.rows > 0 ? 100.0 * r.tokens / (static_cast<double>(r.rows) * o.max_length) : 0.0)
        << "% full)";
  }
  out << ", " << r.tokens << " tokens, " << std::fixed << std::setprecision(1)
      << (r.tokens > 0 ? 100.0 * r.supervised / r.tokens : 0.0) << "% supervised, "
      << (r.seconds > 0 ? r.input_bytes / 1e6 / r.seconds : 0.0) << " MB/s -> " << o.output;
  return out.str();
}

}  // namespace

int preprocess_command(const Args& args) {
  data::PreprocessOptions o;
  std::string system_prompt;
  std::string on_bad_row = "skip";
  po::options_description desc("megasft preprocess options");
  // clang-format off
  desc.add_options()
      ("help,h", "show this help")
      ("input", po::value(&o.input), "chat data, JSONL: {\"messages\": [{\"role\", \"content\"}...]} "
       "or {\"prompt\", \"response\"} per line, required")
      ("tokenizer", po::value(&o.tokenizer), "Hugging Face tokenizer.json (byte-level BPE), required")
      ("template", po::value(&o.chat_template),
       "chat template: llama3 (Llama 3), llama3.1 (Llama 3.1 / 3.2, with the date lines) or qwen2 "
       "(Qwen2.5 ChatML), required")
      ("date-string", po::value(&o.date_string)->default_value(o.date_string),
       "llama3.1's \"Today Date\" (Llama 3.2 renders the current date, e.g. \"23 Nov 2026\")")
      ("output", po::value(&o.output), "token dataset to write (.h5), required")
      ("max-length", po::value(&o.max_length)->default_value(0),
       "truncate longer samples to N tokens (counted in the summary); 0 = no limit")
      ("pack", po::bool_switch(&o.pack),
       "pack samples into rows of <= --max-length tokens, with /position_ids restarting at each sample")
      ("system-prompt", po::value(&system_prompt),
       "system prompt for conversations without one (qwen2 default: Qwen2.5's own)")
      ("on-bad-row", po::value(&on_bad_row)->default_value(on_bad_row),
       "skip: report each bad row with its line number and go on; fail: stop at the first");
  // clang-format on
  const auto vm = parse_command_options(args, desc, "preprocess");
  if (vm.count("help") > 0) {
    std::cout << "usage: megasft preprocess --input FILE.jsonl --tokenizer tokenizer.json "
                 "--template llama3|llama3.1|qwen2 --output FILE.h5 [--max-length N] [--pack]\n"
              << desc;
    return 0;
  }
  MEGASFT_CHECK(vm.count("template") > 0, "preprocess: --template llama3|llama3.1|qwen2 is required");
  if (vm.count("system-prompt") > 0) o.system_prompt = system_prompt;
  o.on_bad_row = data::parse_bad_row_policy(on_bad_row);
  MEGASFT_CHECK(!o.pack || o.max_length > 0, "preprocess: --pack needs --max-length N");

  data::ProgressBar bar("preprocess", "rows");
  data::PreprocessCallbacks callbacks;
  callbacks.bad_row = [&](int64_t line, const std::string& reason) {
    bar.message("megasft preprocess: " + o.input + ":" + std::to_string(line) +
                ": skipped bad row: " + reason);
  };
  callbacks.progress = [&](int64_t done, int64_t total, int64_t rows) {
    bar.update(done, total, rows);
  };
  const data::PreprocessReport report = data::preprocess_jsonl(o, callbacks);
  bar.finish();
  std::cout << summary(o, report) << std::endl;
  return 0;
}

}  // namespace megasft::cli
