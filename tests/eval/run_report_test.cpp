// The run report from a synthetic run directory: a chart per metric group present, the tables'
// numbers, unique SVG ids, and errors that name the file and line.
#include "megasft/eval/run_report.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "kernels/check.h"
#include "megasft/eval/report_tables.h"
#include "tests/eval/png_image.h"

namespace megasft::eval {
namespace {

namespace fs = std::filesystem;
using testing::count_substring;

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

// An SED-SFT run of 30 steps (mask_rate null for the first 5: no penalty yet), an evaluation in a
// subfolder, Self-BLEU and a summary.
fs::path sft_run(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("megasft_report_" + name);
  fs::remove_all(dir);
  std::ostringstream metrics;
  for (int step = 1; step <= 30; ++step)
    metrics << "{\"step\":" << step << ",\"loss\":" << 3.0 - 0.05 * step
            << ",\"ce\":" << 2.5 - 0.04 * step << ",\"penalty\":0.5,\"mask_rate\":"
            << (step <= 5 ? "null" : std::to_string(0.01 * step))
            << ",\"tau\":0.9,\"grad_norm\":1.5,\"lr\":" << 1e-5 * step
            << ",\"tokens_per_s\":1200,\"p_target\":0.4,\"topk_sum\":0.8,\"accuracy\":0.5,"
               "\"elapsed_s\":"
            << step << "}\n";
  write(dir / "metrics.jsonl", metrics.str());
  write(dir / "eval" / "step30" / "results.json",
        R"({"benchmarks": [{"name": "aime24", "problems": 30, "samples": 8, "temperature": 0.7,
            "avg_at_k": 0.1234, "pass_at_k": {"1": 0.1234, "2": 0.2, "4": 0.3, "8": 0.4567}},
           {"name": "math500", "problems": 500, "samples": 8, "temperature": 0.7, "avg_at_k": 0.61,
            "pass_at_k": {"1": 0.61, "8": 0.9}}],
            "mean_avg_at_k": 0.3667, "model": "run<1>", "grading": "equivalent"})");
  write(
      dir / "eval" / "step30" / "self_bleu.json",
      R"({"self_bleu": 0.4321, "prompts": 64, "order": 4, "variant": "corpus", "tokenization": "words"})");
  write(dir / "summary.json", R"({"steps": 30, "first_loss": 2.95, "last_loss": 1.5, "tau": 0.9})");
  return dir;
}

TEST(RunReport, HasAChartPerSftGroupAndTheTablesNumbers) {
  const fs::path dir = sft_run("sft");
  const std::string path = write_run_report({dir.string(), {}, "", ""});
  EXPECT_EQ(path, (dir / "report.html").string());
  std::ifstream in(path);
  const std::string html((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Loss, mask rate, tau, grad norm, lr, tokens/s, target probability, accuracy: no GRPO groups.
  EXPECT_EQ(count_substring(html, "<svg"), 8);
  EXPECT_EQ(count_substring(html, "</svg>"), 8);
  for (const char* number :
       {"0.1234", "0.4567", "0.3667", "0.4321", "pass@8", "pass@4", "aime24", "math500",
        "equivalent", "run&lt;1&gt;", "eval/step30/results.json", "2.95"})
    EXPECT_NE(html.find(number), std::string::npos) << number;
  std::string error;
  const size_t body = html.find("<body"), body_end = html.find("</body>") + 7;  // <meta> is void
  EXPECT_TRUE(testing::tags_balance(html.substr(body, body_end - body), &error)) << error;
  // Offline: nothing is fetched (the only URLs are the SVG namespaces).
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<?xml"), std::string::npos);
  EXPECT_EQ(html.find("pt\" height"), std::string::npos)
      << "sizes in points would scale the charts";
}

TEST(RunReport, SvgIdsAreUniqueAcrossThePage) {
  const std::string html = render_run_report({sft_run("ids").string(), {}, "", ""});
  std::set<std::string> ids;
  for (size_t at = html.find(" id=\""); at != std::string::npos; at = html.find(" id=\"", at + 1)) {
    const size_t end = html.find('"', at + 5);
    EXPECT_TRUE(ids.insert(html.substr(at + 5, end - at - 5)).second)
        << html.substr(at + 5, end - at - 5);
  }
  EXPECT_GT(ids.size(), 8u);
  // Every reference points at an id on the page.
  for (size_t at = html.find("href=\"#"); at != std::string::npos;
       at = html.find("href=\"#", at + 1)) {
    const size_t end = html.find('"', at + 7);
    EXPECT_TRUE(ids.count(html.substr(at + 7, end - at - 7))) << html.substr(at + 7, end - at - 7);
  }
}

TEST(RunReport, GrpoRunsGetTheirOwnCharts) {
  const fs::path dir = fs::temp_directory_path() / "megasft_report_grpo";
  fs::remove_all(dir);
  write(dir / "metrics.jsonl",
        "{\"step\":1,\"reward_mean\":0.2,\"accuracy\":0.2,\"kl\":0.0,\"entropy\":0.9,\"response_"
        "length\":300,"
        "\"policy_loss\":0.01,\"grad_norm\":0.3,\"lr\":1e-6,\"clip_fraction\":0.01,"
        "\"rollout_tokens_per_s\":900,\"train_tokens_per_s\":3000}\n\n"
        "{\"step\":2,\"reward_mean\":0.3,\"accuracy\":0.3,\"kl\":0.01,\"entropy\":0.8,\"response_"
        "length\":320,"
        "\"policy_loss\":0.02,\"grad_norm\":0.3,\"lr\":1e-6,\"clip_fraction\":0.02,"
        "\"rollout_tokens_per_s\":950,\"train_tokens_per_s\":3100}\n");
  const MetricsLog log = read_metrics_log((dir / "metrics.jsonl").string());
  EXPECT_EQ(log.rows, 2u);
  // Loss, grad norm, lr, throughput, reward/accuracy, clip fraction, KL, entropy, length.
  EXPECT_EQ(metric_chart_svgs(log).size(), 9u);
  const std::string html = render_run_report({dir.string(), {}, "", "my run"});
  EXPECT_NE(html.find("<h1>my run</h1>"), std::string::npos);
  EXPECT_NE(html.find("No results.json"), std::string::npos);
}

TEST(RunReport, EvalPathsAddResultsFromOutsideTheRun) {
  const fs::path run = sft_run("eval_paths");
  const fs::path other = fs::temp_directory_path() / "megasft_report_other_eval";
  fs::remove_all(other);
  write(other / "results.json",
        R"({"benchmarks": [{"name": "gpqa", "avg_at_k": 0.777}], "mean_avg_at_k": 0.777})");
  const std::string html =
      render_run_report({run.string(), {other.string(), run.string()}, "", ""});
  EXPECT_NE(html.find("gpqa"), std::string::npos);
  EXPECT_EQ(count_substring(html, "aime24"), 1) << "a file reached twice is shown once";
}

TEST(MetricsLog, ColumnsHoldNanForNullAndAbsentFields) {
  const fs::path dir = fs::temp_directory_path() / "megasft_report_columns";
  write(dir / "metrics.jsonl",
        "{\"step\":3,\"a\":1,\"s\":\"text\"}\n{\"step\":4,\"a\":null,\"b\":true}\n");
  const MetricsLog log = read_metrics_log((dir / "metrics.jsonl").string());
  // nlohmann::json iterates keys in sorted order; "s" is text, not a column.
  EXPECT_EQ(log.fields, (std::vector<std::string>{"a", "step", "b"}));
  EXPECT_EQ(log.columns.at("a")[0], 1);
  EXPECT_TRUE(std::isnan(log.columns.at("a")[1]));
  EXPECT_TRUE(std::isnan(log.columns.at("b")[0]));
  EXPECT_EQ(log.columns.at("b")[1], 1);
  EXPECT_EQ(log.steps(), (std::vector<double>{3, 4}));
  EXPECT_FALSE(log.has("s"));
}

TEST(RunReport, BadInputIsAnErrorNamingFileAndLine) {
  const fs::path dir = fs::temp_directory_path() / "megasft_report_bad";
  fs::remove_all(dir);
  fs::create_directories(dir);
  try {
    render_run_report({dir.string(), {}, "", ""});
    FAIL() << "a missing metrics.jsonl was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find((dir / "metrics.jsonl").string()), std::string::npos)
        << e.what();
  }
  write(dir / "metrics.jsonl", "{\"step\":1}\n{\"step\":2,\"loss\":\n");
  try {
    render_run_report({dir.string(), {}, "", ""});
    FAIL() << "a malformed line was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("metrics.jsonl:2:"), std::string::npos) << e.what();
  }
  write(dir / "metrics.jsonl", "{\"step\":1}\n[1, 2]\n");
  EXPECT_THROW(render_run_report({dir.string(), {}, "", ""}), Error);
  write(dir / "metrics.jsonl", "{\"step\":1}\n");
  write(dir / "eval" / "results.json", R"({"benchmarks": {"name": "x"}})");
  try {
    render_run_report({dir.string(), {}, "", ""});
    FAIL() << "a results.json without a benchmarks array was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("benchmarks"), std::string::npos) << e.what();
  }
}

TEST(ReportTables, EscapeAndNumbers) {
  EXPECT_EQ(html_escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
  EXPECT_EQ(format_number(0.123456), "0.1235");
  EXPECT_EQ(format_number(12345), "12345");
  EXPECT_EQ(format_number(NAN), "-");
}

}  // namespace
}  // namespace megasft::eval
