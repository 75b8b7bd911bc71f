#include "megasft/eval/run_report.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "kernels/check.h"
#include "megasft/eval/charts.h"
#include "megasft/eval/report_tables.h"

namespace megasft::eval {
namespace {

namespace fs = std::filesystem;

// Which metrics share a chart. Fields are those the SFT trainer (sft_trainer.cpp) and the GRPO
// trainer log; a group is drawn when the log has any of its fields, so SFT and GRPO runs each get
// their own set without a mode switch.
struct CurveGroup {
  const char* title;
  const char* y_label;
  std::vector<const char*> fields;
};
const std::vector<CurveGroup>& curve_groups() {
  static const std::vector<CurveGroup> groups = {
      {"Loss", "per supervised token", {"loss", "ce", "penalty", "policy_loss"}},
      {"Mask rate", "fraction of positions", {"mask_rate"}},
      {"tau", "tau", {"tau"}},
      {"Gradient norm", "global L2 norm", {"grad_norm"}},
      {"Learning rate", "lr", {"lr"}},
      {"Throughput", "tokens/s", {"tokens_per_s", "rollout_tokens_per_s", "train_tokens_per_s"}},
      {"Target probability", "mean over positions", {"p_target", "topk_sum"}},
      {"Reward and accuracy",
       "fraction",
       {"reward_mean", "accuracy", "all_correct_fraction", "all_wrong_fraction"}},
      {"Clip fraction", "fraction of tokens", {"clip_fraction"}},
      {"KL", "KL to the reference", {"kl"}},
      {"Entropy", "nats per token", {"entropy"}},
      {"Response length", "tokens", {"response_length"}},
  };
  return groups;
}

constexpr const char* kStyle = R"(
body { font-family: "DejaVu Sans", sans-serif; margin: 24px; color: #222; background: #fff; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ccc; }
h3 { font-size: 15px; margin-bottom: 4px; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
figure.chart { margin: 0; border: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 13px; margin: 6px 0 18px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.mean td { font-weight: bold; }
.meta { color: #666; font-size: 13px; margin: 0; }
)";

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

// Where a found file sits, relative to the run directory when it is inside it.
std::string shown_path(const std::string& path, const fs::path& run_dir) {
  const fs::path relative = fs::path(path).lexically_relative(fs::canonical(run_dir));
  const std::string text = relative.string();
  return relative.empty() || text.starts_with("..") ? path : text;
}

std::string last_values_html(const MetricsLog& log) {
  std::ostringstream html;
  html << "<table>\n<tr><th>metric</th><th>last value</th></tr>\n";
  for (const auto& field : log.fields) {
    const auto& column = log.columns.at(field);
    double last = NAN;
    for (double v : column)
      if (std::isfinite(v)) last = v;
    html << "<tr><th>" << html_escape(field) << "</th><td class=\"num\">" << format_number(last)
         << "</td></tr>\n";
  }
  html << "</table>\n";
  return html.str();
}

}  // namespace

std::string inline_svg(const std::string& svg, const std::string& prefix) {
  const size_t start = svg.find("<svg");
  MEGASFT_CHECK(start != std::string::npos, "inline_svg: no <svg> element in the document");
  std::string out = svg.substr(start);
  // Only the root element carries a size; "560pt" would draw 4/3 larger than the PNG in a browser.
  const size_t root_end = out.find('>');
  const std::string root = std::regex_replace(
      out.substr(0, root_end), std::regex(R"#((width|height)="([0-9.]+)pt")#"), "$1=\"$2\"");
  out = root + out.substr(root_end);
  out = replace_all(std::move(out), "id=\"", "id=\"" + prefix);
  out = replace_all(std::move(out), "href=\"#", "href=\"#" + prefix);
  return replace_all(std::move(out), "url(#", "url(#" + prefix);
}

std::vector<std::string> metric_chart_svgs(const MetricsLog& log) {
  std::vector<std::string> svgs;
  const std::vector<double> steps = log.steps();
  for (const auto& group : curve_groups()) {
    LineChartSpec spec;
    spec.labels = {group.title, "step", group.y_label};
    for (const char* field : group.fields)
      if (log.has(field)) spec.series.push_back({field, steps, log.columns.at(field)});
    if (spec.series.empty()) continue;
    const Chart chart = line_chart(spec);
    std::string prefix = "c";  // appended, not "c" + ...: GCC 12 warns falsely (-Wrestrict) on that
    prefix += std::to_string(svgs.size()) + "-";
    svgs.push_back(inline_svg(chart.figure.svg(), prefix));
  }
  return svgs;
}

std::string render_run_report(const RunReportOptions& options) {
  MEGASFT_CHECK(fs::is_directory(options.run_dir), "run directory '", options.run_dir,
                "' does not exist");
  const fs::path run_dir(options.run_dir);
  const MetricsLog log = read_metrics_log((run_dir / "metrics.jsonl").string());
  const std::string title =
      !options.title.empty() ? options.title : fs::canonical(run_dir).filename().string();
  std::ostringstream html;
  html << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>"
       << html_escape(title) << " - megasft report</title>\n<style>" << kStyle
       << "</style>\n</head>\n<body>\n<h1>" << html_escape(title) << "</h1>\n<p class=\"meta\">"
       << html_escape(fs::absolute(run_dir).lexically_normal().string()) << " &middot; " << log.rows
       << " metric records</p>\n";

  html << "<h2>Training curves</h2>\n";
  const auto svgs = metric_chart_svgs(log);
  if (svgs.empty()) html << "<p>metrics.jsonl has no records to plot.</p>\n";
  html << "<div class=\"charts\">\n";
  for (const auto& svg : svgs) html << "<figure class=\"chart\">" << svg << "</figure>\n";
  html << "</div>\n";

  std::vector<std::string> roots = {options.run_dir};
  roots.insert(roots.end(), options.eval_paths.begin(), options.eval_paths.end());
  const auto results = find_files_named(roots, "results.json");
  html << "<h2>Evaluation</h2>\n";
  if (results.empty()) html << "<p>No results.json under the run directory or --eval.</p>\n";
  for (const auto& path : results) html << eval_results_html(path, shown_path(path, run_dir));

  const auto bleu = find_files_named(roots, "self_bleu.json");
  if (!bleu.empty()) {
    std::vector<std::string> shown;
    for (const auto& path : bleu) shown.push_back(shown_path(path, run_dir));
    html << "<h2>Diversity (Self-BLEU)</h2>\n" << self_bleu_html(bleu, shown);
  }
  if (fs::is_regular_file(run_dir / "summary.json"))
    html << "<h2>Summary</h2>\n" << json_object_html((run_dir / "summary.json").string());
  if (log.rows > 0) html << "<h2>Last record of metrics.jsonl</h2>\n" << last_values_html(log);
  html << "</body>\n</html>\n";
  return html.str();
}

std::string write_run_report(const RunReportOptions& options) {
  const std::string path = !options.output.empty()
                               ? options.output
                               : (fs::path(options.run_dir) / "report.html").string();
  const std::string html = render_run_report(options);
  const auto parent = fs::path(path).parent_path();
  if (!parent.empty()) fs::create_directories(parent);
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << html;
    MEGASFT_CHECK(out.good(), "cannot write report '", tmp, "'");
  }
  fs::rename(tmp, path);
  return path;
}

}  // namespace megasft::eval
