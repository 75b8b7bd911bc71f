// `megasft report`: one self-contained HTML page for a run directory — training curves from
// metrics.jsonl as inline SVG, evaluation and Self-BLEU tables, summary.json — viewable offline.
#pragma once

#include <string>
#include <vector>

#include "megasft/eval/metrics_log.h"

namespace megasft::eval {

struct RunReportOptions {
  std::string run_dir;                  // holds metrics.jsonl; searched for results.json
  std::vector<std::string> eval_paths;  // more results.json files, or folders searched recursively
  std::string output;                   // empty: <run_dir>/report.html
  std::string title;                    // empty: the run directory's name
};

// A cairo SVG document made fit for inlining into HTML: the XML prolog dropped, the size in CSS
// pixels (cairo writes points), and every id prefixed with `prefix` — cairo names its glyphs
// "glyph0-1" in every figure, and ids must be unique across the page or text renders wrong.
std::string inline_svg(const std::string& svg, const std::string& prefix);

// One curve chart per group of metrics that the log has (loss/CE/penalty, mask rate, tau, grad
// norm, lr, tokens/s, reward/accuracy, KL, entropy, length, ...), as inline SVG figures.
std::vector<std::string> metric_chart_svgs(const MetricsLog& log);

// The page; reads every input, writes nothing.
std::string render_run_report(const RunReportOptions& options);
// Renders the page and writes it (via a .tmp file); returns the path written.
std::string write_run_report(const RunReportOptions& options);

}  // namespace megasft::eval
