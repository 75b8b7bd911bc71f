#include "megasft/eval/report_tables.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "kernels/check.h"

namespace megasft::eval {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json read_json(const std::string& path) {
  std::ifstream in(path);
  MEGASFT_CHECK(in.good(), "cannot read '", path, "'");
  try {
    return json::parse(in);
  } catch (const json::parse_error& e) {
    MEGASFT_FAIL(path, ": not JSON: ", e.what());
  }
}

// A numeric field, NaN when absent or null; any other type is an error naming file and field.
double number_field(const json& object, const char* field, const std::string& path) {
  const auto it = object.find(field);
  if (it == object.end() || it->is_null()) return NAN;
  MEGASFT_CHECK(it->is_number(), path, ": field '", field, "' should be a number, got ",
                it->dump());
  return it->get<double>();
}

std::string text_field(const json& object, const char* field) {
  const auto it = object.find(field);
  if (it == object.end() || it->is_null()) return "-";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

std::string cell(const std::string& text) { return "<td>" + html_escape(text) + "</td>"; }
std::string number_cell(double v) { return "<td class=\"num\">" + format_number(v) + "</td>"; }

}  // namespace

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string format_number(double value) {
  if (std::isnan(value)) return "-";
  char buffer[32];
  if (value == std::trunc(value) &&
      std::abs(value) < 1e15)  // counts: 12345 problems, not 1.234e+04
    std::snprintf(buffer, sizeof buffer, "%.0f", value);
  else
    std::snprintf(buffer, sizeof buffer, "%.4g", value);
  return buffer;
}

std::vector<std::string> find_files_named(const std::vector<std::string>& roots,
                                          const std::string& name) {
  std::set<fs::path> found;  // canonical paths: a file reached from two roots is listed once
  for (const auto& root : roots) {
    MEGASFT_CHECK(fs::exists(root), "'", root, "' does not exist");
    if (fs::is_regular_file(root)) {
      if (fs::path(root).filename() == name) found.insert(fs::canonical(root));
      continue;
    }
    for (auto it =
             fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied);
         it != fs::recursive_directory_iterator(); ++it)
      if (it->is_regular_file() && it->path().filename() == name)
        found.insert(fs::canonical(it->path()));
  }
  std::vector<std::string> paths;
  for (const auto& path : found) paths.push_back(path.string());
  return paths;
}

std::string eval_results_html(const std::string& path, const std::string& shown_as) {
  const json results = read_json(path);
  MEGASFT_CHECK(
      results.is_object() && results.contains("benchmarks") && results["benchmarks"].is_array(),
      path, ": field 'benchmarks' should be an array of benchmarks");
  const auto& benchmarks = results["benchmarks"];
  // The union of the k's, in numeric order ("10" after "8").
  std::set<int> ks;
  for (const auto& b : benchmarks) {
    MEGASFT_CHECK(b.is_object(), path, ": an entry of 'benchmarks' is not an object: ", b.dump());
    if (!b.contains("pass_at_k") || b["pass_at_k"].is_null()) continue;
    MEGASFT_CHECK(b["pass_at_k"].is_object(), path, ": field 'pass_at_k' of ",
                  text_field(b, "name"), " should be an object, got ", b["pass_at_k"].dump());
    for (const auto& [k, value] : b["pass_at_k"].items()) {
      int parsed = 0;
      try {
        parsed = std::stoi(k);
      } catch (const std::exception&) {
        MEGASFT_FAIL(path, ": 'pass_at_k' key '", k, "' of ", text_field(b, "name"),
                     " is not a number");
      }
      ks.insert(parsed);
    }
  }
  std::ostringstream html;
  html << "<h3>" << html_escape(shown_as)
       << "</h3>\n<p class=\"meta\">model: " << html_escape(text_field(results, "model"))
       << " &middot; grading: " << html_escape(text_field(results, "grading"))
       << "</p>\n<table>\n<tr><th>benchmark</th>"
       << "<th>problems</th><th>samples</th><th>temperature</th><th>avg@k</th>";
  for (int k : ks) html << "<th>pass@" << k << "</th>";
  html << "</tr>\n";
  for (const auto& b : benchmarks) {
    html << "<tr>" << cell(text_field(b, "name")) << number_cell(number_field(b, "problems", path))
         << number_cell(number_field(b, "samples", path))
         << number_cell(number_field(b, "temperature", path))
         << number_cell(number_field(b, "avg_at_k", path));
    const json pass =
        b.contains("pass_at_k") && b["pass_at_k"].is_object() ? b["pass_at_k"] : json::object();
    for (int k : ks) html << number_cell(number_field(pass, std::to_string(k).c_str(), path));
    html << "</tr>\n";
  }
  html << "<tr class=\"mean\"><td>mean</td><td></td><td></td><td></td>"
       << number_cell(number_field(results, "mean_avg_at_k", path));
  for (size_t i = 0; i < ks.size(); ++i) html << "<td></td>";
  html << "</tr>\n</table>\n";
  return html.str();
}

std::string self_bleu_html(const std::vector<std::string>& paths,
                           const std::vector<std::string>& shown_as) {
  MEGASFT_CHECK(paths.size() == shown_as.size(), "self_bleu_html: ", paths.size(), " paths, ",
                shown_as.size(), " names");
  std::ostringstream html;
  html << "<table>\n<tr><th>file</th><th>Self-BLEU</th><th>scale</th><th>prompts</th><th>samples</"
          "th>"
       << "<th>order</th><th>variant</th><th>tokenization</th></tr>\n";
  for (size_t i = 0; i < paths.size(); ++i) {
    const json bleu = read_json(paths[i]);
    MEGASFT_CHECK(bleu.is_object(), paths[i], ": expected a JSON object");
    MEGASFT_CHECK(bleu.contains("self_bleu"), paths[i], ": field 'self_bleu' is missing");
    html << "<tr>" << cell(shown_as[i]) << number_cell(number_field(bleu, "self_bleu", paths[i]))
         << number_cell(number_field(bleu, "scale", paths[i]))
         << number_cell(number_field(bleu, "prompts", paths[i]))
         << number_cell(number_field(bleu, "samples", paths[i]))
         << number_cell(number_field(bleu, "order", paths[i])) << cell(text_field(bleu, "variant"))
         << cell(text_field(bleu, "tokenization")) << "</tr>\n";
  }
  html << "</table>\n";
  return html.str();
}

std::string json_object_html(const std::string& path) {
  const json object = read_json(path);
  MEGASFT_CHECK(object.is_object(), path, ": expected a JSON object");
  std::ostringstream html;
  html << "<table>\n";
  for (const auto& [key, value] : object.items())
    html << "<tr><th>" << html_escape(key) << "</th>"
         << (value.is_number() ? number_cell(value.get<double>())
                               : cell(text_field(object, key.c_str())))
         << "</tr>\n";
  html << "</table>\n";
  return html.str();
}

}  // namespace megasft::eval
