// `megasft report RUN_DIR`: one self-contained HTML page (RUN_DIR/report.html) with the run's
// training curves, evaluation tables, Self-BLEU and summary; opens offline in any browser.
#include <boost/program_options.hpp>
#include <iostream>

#include "kernels/check.h"
#include "megasft/cli/commands.h"
#include "megasft/eval/run_report.h"

namespace megasft::cli {
namespace po = boost::program_options;

int report_command(const Args& args) {
  eval::RunReportOptions options;
  bool help = false;
  po::options_description description("megasft report");
  description.add_options()("help,h", po::bool_switch(&help), "print this help")(
      "run-dir", po::value(&options.run_dir),
      "run directory holding metrics.jsonl (also positional)")(
      "eval", po::value(&options.eval_paths)->composing(),
      "results.json, or a folder searched for results.json and self_bleu.json (repeatable); "
      "RUN_DIR is always searched")("output", po::value(&options.output),
                                    "HTML file to write (default: RUN_DIR/report.html)")(
      "title", po::value(&options.title), "page title (default: the run directory's name)");
  // The run directory is the one positional argument, unlike other commands' option-only lines.
  po::positional_options_description positional;
  positional.add("run-dir", 1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(description).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    MEGASFT_FAIL("megasft report: ", e.what(), " (see megasft report --help)");
  }
  if (help) {
    std::cout << "usage: megasft report RUN_DIR [--eval DIR]... [--output FILE]\n" << description;
    return 0;
  }
  MEGASFT_CHECK(!options.run_dir.empty(),
                "megasft report needs a run directory (megasft report RUN_DIR)");
  const std::string path = eval::write_run_report(options);
  std::cout << "megasft report: " << path << "\n";
  return 0;
}

}  // namespace megasft::cli
