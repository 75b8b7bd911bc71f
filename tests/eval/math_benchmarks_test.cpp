// The benchmark loaders on rows copied in the layout of Qwen2.5-Math's evaluation/data files (field
// names, types and `$` delimiters as there), bad rows named by file and line, the --benchmark
// syntax and the paper preset.
#include "megasft/eval/math_benchmarks.h"

#include <gtest/gtest.h>

#include <fstream>
#include <functional>

#include "kernels/check.h"
#include "tests/data/temp_dir.h"

namespace megasft::eval {
namespace {

using data::testing::TempDir;

std::string write(const TempDir& dir, const std::string& name, const std::string& text) {
  const auto path = dir.file(name);
  std::ofstream(path) << text;
  return path;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(MathBenchmarks, Aime24ReadsProblemAndStringAnswer) {
  TempDir dir;
  const auto path = write(
      dir, "aime24.jsonl",
      R"({"id":60,"problem":"Find $x$.","solution":"... $\\framebox{204}$","answer":"204","url":"u","question":"Find $x$."})"
      "\n\n"
      R"({"id":61,"problem":"Let $y=2$.","solution":"s","answer":"113","url":"u","question":"  Let $y=2$.\n"})"
      "\n");
  const auto problems = load_math_benchmark("aime24", path);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0].id, "60");
  EXPECT_EQ(problems[0].question, "Find $x$.");
  EXPECT_EQ(problems[0].answer, "204");
  EXPECT_EQ(problems[0].line, 1);
  EXPECT_EQ(problems[1].question, "Let $y=2$.");  // trimmed, inner `$` kept
  EXPECT_EQ(problems[1].line, 3);                 // the blank line counts
}

TEST(MathBenchmarks, Aime25AcceptsQuestionOnlyAndIntegerAnswers) {
  TempDir dir;
  const auto path = write(dir, "aime25.jsonl",
                          R"({"question":"How many?","answer":70})"
                          "\n");
  const auto problems = load_math_benchmark("aime25", path);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].id, "0");  // no id field: the position
  EXPECT_EQ(problems[0].answer, "70");
}

TEST(MathBenchmarks, Amc23WritesIntegralFloatsAsIntegers) {
  TempDir dir;
  const auto path = write(
      dir, "amc23.jsonl",
      R"({"id":0,"problem":"Cities $A$ and $B$?","answer":27.0,"url":"u","question":"Cities $A$ and $B$?"})"
      "\n"
      R"({"id":1,"problem":"p","answer":0.5,"url":"u","question":"q"})"
      "\n");
  const auto problems = load_math_benchmark("amc23", path);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0].answer, "27");
  EXPECT_EQ(problems[1].answer, "0.5");
  EXPECT_EQ(problems[1].question, "q");  // `question` wins over `problem`, as in parse_question
}

TEST(MathBenchmarks, Gsm8kTakesTextAfterHashesWithoutCommas) {
  TempDir dir;
  const auto path = write(
      dir, "gsm8k.jsonl",
      R"({"question":"Janet's ducks lay 16 eggs.","answer":"She makes 9 * 2 = $<<9*2=18>>18.\n#### 18","idx":0})"
      "\n"
      R"({"question":"A house?","answer":"So 1,600 total\n#### 1,600","idx":7})"
      "\n");
  const auto problems = load_math_benchmark("gsm8k", path);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0].answer, "18");
  EXPECT_EQ(problems[1].answer, "1600");
  EXPECT_EQ(problems[1].id, "7");
}

TEST(MathBenchmarks, MathUsesAnswerElseTheSolutionsLastBox) {
  TempDir dir;
  const auto with_answer = write(
      dir, "math500.jsonl",
      R"J({"problem":"Convert $(0,3)$.","solution":"so \\boxed{wrong}","answer":"\\left( 3, \\frac{\\pi}{2} \\right)","subject":"Precalculus","level":2,"unique_id":"test/precalculus/807.json"})J"
      "\n");
  const auto a = load_math_benchmark("math500", with_answer);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].answer, "\\left( 3, \\frac{\\pi}{2} \\right)");
  EXPECT_EQ(a[0].id, "test/precalculus/807.json");
  const auto solution_only = write(
      dir, "math.jsonl",
      R"({"idx":3,"problem":"Sum?","solution":"First \\boxed{1}, then $\\boxed{\\frac{1}{2}}$.","level":"Level 2","type":"Algebra"})"
      "\n");
  const auto b = load_math_benchmark("math", solution_only);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].answer, "\\frac{1}{2}");
}

TEST(MathBenchmarks, GaokaoAndCollegeMathStripDollars) {
  TempDir dir;
  const auto gaokao = write(
      dir, "gaokao2023en.jsonl",
      R"({"source":"2023BJ/01Q.en","question":"Given sets $M$, find $M \\cap N$.","lang":"en","answer":"$\\{x|-2\\leq x < 1\\}$"})"
      "\n"
      R"({"source":"s","question":"Values?","lang":"en","answer":"$48$, $384$","id":"g2"})"
      "\n");
  const auto g = load_math_benchmark("gaokao2023en", gaokao);
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0].answer, "\\{x|-2\\leq x < 1\\}");
  EXPECT_EQ(g[1].answer, "48, 384");
  EXPECT_EQ(g[1].id, "g2");
  const auto college = write(
      dir, "college_math.jsonl",
      R"({"data_source":"college_math.Algebra","question_number":"exercise.0.4.61","question":"Simplify: $-10-4(n-5)$","answer":"$10-4 n$","license":"CC","data_topic":"college_math.algebra"})"
      "\n");
  const auto c = load_math_benchmark("college_math", college);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].answer, "10-4 n");
  EXPECT_EQ(c[0].question, "Simplify: $-10-4(n-5)$");
}

TEST(MathBenchmarks, OlympiadBenchTakesFirstFinalAnswer) {
  TempDir dir;
  const auto path = write(
      dir, "olympiadbench.jsonl",
      R"({"id":1610,"subfield":"Algebra","context":null,"question":"Determine $\\mu$.","solution":["The maximum is ..."],"final_answer":["$\\frac{1}{2 n+2}$","$0$"],"is_multiple_answer":false,"unit":null,"answer_type":"Expression","error":null})"
      "\n");
  const auto problems = load_math_benchmark("olympiadbench", path);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].answer, "\\frac{1}{2 n+2}");
  EXPECT_EQ(problems[0].id, "1610");
}

TEST(MathBenchmarks, YesNoAndTrueFalseAnswersAreAnnouncedInTheQuestion) {
  TempDir dir;
  const auto path = write(dir, "generic.jsonl",
                          R"({"question":"Is 7 prime?","answer":"Yes"})"
                          "\n"
                          R"({"input":"2 > 3?","answer":"False"})"
                          "\n");
  const auto problems = load_math_benchmark("generic", path);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0].question, "Is 7 prime? (Yes or No)");
  EXPECT_EQ(problems[1].question, "2 > 3? (True or False)");
}

TEST(MathBenchmarks, EmptyGoldAnswersAreKept) {
  // gaokao2023en's file has rows with "answer": "" (their toolkit counts them as unsolved).
  TempDir dir;
  const auto path = write(
      dir, "gaokao2023en.jsonl",
      R"({"source":"part1.en_zh.json","question":"Compute it.","id":"HMMT_9","lang":"en","answer":""})"
      "\n");
  const auto problems = load_math_benchmark("gaokao2023en", path);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].answer, "");
}

TEST(MathBenchmarks, StripDollarsDropsEscapedDollarsWhole) {
  EXPECT_EQ(strip_dollars(" $\\frac{1}{2}$ "), "\\frac{1}{2}");
  EXPECT_EQ(strip_dollars("\\$18.90"), "18.90");
  EXPECT_EQ(strip_dollars("no dollars"), "no dollars");
}

TEST(MathBenchmarks, BadRowsNameFileAndLine) {
  TempDir dir;
  const auto check = [&](const std::string& loader, const std::string& text,
                         const std::string& expected) {
    // Line 1 is a good row of the loader's layout, so the error must point at line 2.
    const std::string good = loader == "gsm8k" ? R"({"question":"ok","answer":"so #### 1"})"
                             : loader == "olympiadbench"
                                 ? R"({"question":"ok","final_answer":["1"]})"
                                 : R"({"question":"ok","answer":"1"})";
    const auto path = write(dir, "bad.jsonl", good + "\n" + text + "\n");
    const auto message = error_of([&] { load_math_benchmark(loader, path); });
    EXPECT_NE(message.find(path + ":2: "), std::string::npos) << message;
    EXPECT_NE(message.find(expected), std::string::npos) << message;
  };
  check("aime24", "{not json", "invalid JSON");
  check("aime24", "[1, 2]", "should be a JSON object");
  check("aime24", R"({"answer":"1"})", "no question");
  check("aime24", R"({"question":"   ","answer":"1"})", "field 'question' is empty");
  check("aime24", R"({"question":3,"answer":"1"})", "field 'question' should be a string");
  check("aime24", R"({"question":"q"})", "field 'answer' is missing");
  check("aime24", R"({"question":"q","answer":["1"]})",
        "field 'answer' should be a string or a number");
  check("gsm8k", R"({"question":"q","answer":"no marker 5"})", "exactly one '####'");
  check("gsm8k", R"({"question":"q","answer":"#### 1 #### 2"})", "exactly one '####'");
  check("math", R"({"problem":"q","solution":"no box"})", "no \\boxed{}");
  check("math", R"({"problem":"q"})", "neither an 'answer' field");
  check("olympiadbench", R"({"question":"q","final_answer":[]})",
        "'final_answer' should be a non-empty list");
  check("olympiadbench", R"({"question":"q"})", "'final_answer' should be a non-empty list");
}

TEST(MathBenchmarks, EmptyFilesMissingFilesAndUnknownLoadersFail) {
  TempDir dir;
  const auto empty = write(dir, "empty.jsonl", "\n  \n");
  EXPECT_NE(error_of([&] { load_math_benchmark("aime24", empty); }).find("has no rows"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              load_math_benchmark("aime24", dir.file("missing.jsonl"));
            }).find("cannot open"),
            std::string::npos);
  const auto unknown = error_of([&] { load_math_benchmark("mmlu", empty); });
  EXPECT_NE(unknown.find("unknown benchmark 'mmlu'"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("olympiadbench"), std::string::npos) << unknown;
}

TEST(MathBenchmarks, BenchmarkSpecsNameLoaderAndFile) {
  auto plain = parse_benchmark_spec("aime24=/data/aime24/test.jsonl");
  EXPECT_EQ(plain.name, "aime24");
  EXPECT_EQ(plain.loader, "aime24");
  EXPECT_EQ(plain.path, "/data/aime24/test.jsonl");
  auto other = parse_benchmark_spec("generic:minerva=/d/a=b.jsonl");
  EXPECT_EQ(other.name, "minerva");
  EXPECT_EQ(other.loader, "generic");
  EXPECT_EQ(other.path, "/d/a=b.jsonl");  // only the first '=' separates
  EXPECT_NE(error_of([] { parse_benchmark_spec("aime24"); }).find("NAME=FILE"), std::string::npos);
  EXPECT_NE(error_of([] { parse_benchmark_spec("=x.jsonl"); }).find("NAME=FILE"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse_benchmark_spec("aime24="); }).find("NAME=FILE"), std::string::npos);
  EXPECT_NE(
      error_of([] { parse_benchmark_spec("minerva=x.jsonl"); }).find("unknown benchmark 'minerva'"),
      std::string::npos);
  EXPECT_NE(error_of([] { parse_benchmark_spec("math:=x.jsonl"); }).find("should be non-empty"),
            std::string::npos);
}

TEST(MathBenchmarks, PaperPresetSamplesCompetitionSetsEightTimes) {
  for (const char* name : {"aime24", "aime25", "amc23"}) {
    EXPECT_EQ(paper_preset(name).samples, 8) << name;
    EXPECT_DOUBLE_EQ(paper_preset(name).temperature, 0.7) << name;
  }
  for (const char* name : {"gsm8k", "math500", "olympiadbench", "minerva"}) {
    EXPECT_EQ(paper_preset(name).samples, 1) << name;
    EXPECT_DOUBLE_EQ(paper_preset(name).temperature, 1.0) << name;
  }
}

}  // namespace
}  // namespace megasft::eval
