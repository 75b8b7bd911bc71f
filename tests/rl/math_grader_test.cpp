// The math grader rule by rule, each with its example: extraction of the last \boxed{...}, the
// strict normalisation of verl's math_dapo reward (quirks included), and the equivalent mode's
// rules from Qwen2.5-Math's evaluation (fractions, brackets, units, degrees, percentages, ...).
#include "megasft/rl/math_grader.h"

#include <gtest/gtest.h>

#include <string>

#include "kernels/check.h"

namespace megasft::rl {
namespace {

bool strict(std::string_view predicted, std::string_view gold) {
  return grade_response("so \\boxed{" + std::string(predicted) + "}", gold, GradingMode::kStrict)
      .correct;
}
bool equivalent(std::string_view predicted, std::string_view gold) {
  return answers_equivalent(predicted, gold);
}

// ---- modes ----

TEST(GradingMode, ParsesBothNamesAndNamesThemBack) {
  EXPECT_EQ(parse_grading_mode("strict"), GradingMode::kStrict);
  EXPECT_EQ(parse_grading_mode("equivalent"), GradingMode::kEquivalent);
  EXPECT_STREQ(grading_mode_name(GradingMode::kStrict), "strict");
  EXPECT_STREQ(grading_mode_name(GradingMode::kEquivalent), "equivalent");
}

TEST(GradingMode, UnknownNameThrowsListingTheAcceptedOnes) {
  try {
    parse_grading_mode("sympy");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("'sympy'"), std::string::npos) << what;
    EXPECT_NE(what.find("strict or equivalent"), std::string::npos) << what;
  }
}

// ---- extraction ----

TEST(LastBoxedAnswer, BalancesNestedBraces) {
  EXPECT_EQ(last_boxed_answer("The answer is $\\boxed{\\frac{1}{2}}$."), "\\frac{1}{2}");
}

TEST(LastBoxedAnswer, TakesTheLastOfSeveralBoxes) {
  EXPECT_EQ(last_boxed_answer("\\boxed{3} wait, no: \\boxed{4}"), "4");
}

TEST(LastBoxedAnswer, UnclosedLastBoxIsNoAnswerEvenAfterAClosedOne) {
  EXPECT_EQ(last_boxed_answer("\\boxed{3} then \\boxed{\\frac{1}{2}"), std::nullopt);
}

TEST(LastBoxedAnswer, NoBoxIsNoAnswer) {
  EXPECT_EQ(last_boxed_answer("The answer is 5."), std::nullopt);
}

TEST(LastBoxedAnswer, EmptyBoxIsAnEmptyAnswer) { EXPECT_EQ(last_boxed_answer("\\boxed{}"), ""); }

TEST(ExtractAnswer, StrictReadsOnlyBracedBoxed) {
  EXPECT_EQ(extract_answer("\\fbox{5}", GradingMode::kStrict), std::nullopt);
  EXPECT_EQ(extract_answer("$\\boxed 5$", GradingMode::kStrict), std::nullopt);
}

TEST(ExtractAnswer, EquivalentReadsFboxAndBracelessBoxed) {
  EXPECT_EQ(extract_answer("\\fbox{5}", GradingMode::kEquivalent), "5");
  EXPECT_EQ(extract_answer("so $\\boxed 5$. Done", GradingMode::kEquivalent), "5");
  EXPECT_EQ(extract_answer("\\boxed {7}", GradingMode::kEquivalent), "7");
  EXPECT_EQ(extract_answer("\\boxed{1} and later \\fbox{2}", GradingMode::kEquivalent), "2");
  EXPECT_EQ(extract_answer("\\fbox{1} and later \\boxed{2}", GradingMode::kEquivalent), "2");
  EXPECT_EQ(extract_answer("\\boxed{1} then \\boxed{2", GradingMode::kEquivalent), std::nullopt);
  EXPECT_EQ(extract_answer("no box here", GradingMode::kEquivalent), std::nullopt);
}

TEST(GradeResponse, NoBoxIsWrongWithNothingExtracted) {
  for (GradingMode mode : {GradingMode::kStrict, GradingMode::kEquivalent}) {
    const Grade g = grade_response("The answer is 5.", "5", mode);
    EXPECT_FALSE(g.correct);
    EXPECT_EQ(g.extracted, std::nullopt);
  }
}

TEST(GradeResponse, EmptyBoxIsWrong) {
  for (GradingMode mode : {GradingMode::kStrict, GradingMode::kEquivalent}) {
    const Grade g = grade_response("\\boxed{}", "0", mode);
    EXPECT_FALSE(g.correct);
    EXPECT_EQ(g.extracted, "");
  }
  EXPECT_FALSE(equivalent("", ""));
}

TEST(GradeResponse, ReportsTheExtractedAnswer) {
  const Grade g = grade_response("Thus $\\boxed{\\frac{1}{2}}$.", "\\frac12", GradingMode::kStrict);
  EXPECT_TRUE(g.correct);
  EXPECT_EQ(g.extracted, "\\frac{1}{2}");
}

TEST(GradeResponse, GoldStillWrappedInBoxedIsUnwrapped) {
  EXPECT_TRUE(strict("5", "\\boxed{5}"));
  EXPECT_TRUE(equivalent("5", "\\boxed{5}"));
}

// ---- strict: math_dapo's normalize_final_answer ----

TEST(StrictNormalize, KeepsWhatFollowsTheLastEquals) {
  EXPECT_EQ(strict_normalize("x = 3"), "3");
  EXPECT_EQ(strict_normalize("a = b = 7"), "7");
  EXPECT_TRUE(strict("x = 3", "3"));
}

TEST(StrictNormalize, RemovesSpacesAndTexSpaces) {
  EXPECT_EQ(strict_normalize("(1, 2)"), "(1,2)");
  EXPECT_EQ(strict_normalize("1\\ 000"), "1000");
  EXPECT_EQ(strict_normalize("1\\;000"), "1000");
}

TEST(StrictNormalize, RemovesDollarSigns) {
  EXPECT_EQ(strict_normalize("\\$5"), "5");
  EXPECT_EQ(strict_normalize("$\\frac{1}{2}$"), "\\frac{1}{2}");
}

TEST(StrictNormalize, KeepsOnlyTheFirstInlineMath) {
  EXPECT_EQ(strict_normalize("is $5$ or $6$"), "5");
}

TEST(StrictNormalize, RemovesListedUnitWords) {
  EXPECT_EQ(strict_normalize("10 dollars"), "10");
  EXPECT_EQ(strict_normalize("5\\text{ cm}"), "5");
  EXPECT_EQ(strict_normalize("5\\text{ cm}^2"), "5");
  EXPECT_EQ(strict_normalize("3 hours"), "3");
}

TEST(StrictNormalize, RemovesDegrees) {
  EXPECT_EQ(strict_normalize("90^\\circ"), "90");
  EXPECT_EQ(strict_normalize("90^{\\circ}"), "90");
}

TEST(StrictNormalize, UnwrapsTextTextbfOverlineAndBoxed) {
  EXPECT_EQ(strict_normalize("\\text{Evelyn}"), "Evelyn");
  EXPECT_EQ(strict_normalize("\\mbox{Evelyn}"), "Evelyn");
  EXPECT_EQ(strict_normalize("\\textbf{(C)}"), "(C)");
  EXPECT_EQ(strict_normalize("0.\\overline{3}"), "0.3");
  EXPECT_EQ(strict_normalize("\\boxed{\\frac{1}{2}}"), "\\frac{1}{2}");
}

TEST(StrictNormalize, TextAndBecomesAComma) {
  EXPECT_EQ(strict_normalize("x \\text{ and } y"), "x,y");
}

TEST(StrictNormalize, ExpandsFracAndSqrtShorthand) {
  EXPECT_EQ(strict_normalize("\\frac12"), "\\frac{1}{2}");
  EXPECT_EQ(strict_normalize("\\frac1{72}"), "\\frac{1}{{}72}");  // the reward's regex, as is
  EXPECT_EQ(strict_normalize("\\sqrt2"), "\\sqrt{2}");
  EXPECT_TRUE(strict("\\frac12", "\\frac{1}{2}"));
}

TEST(StrictNormalize, DropsThousandsCommasOfPlainIntegersOnly) {
  EXPECT_EQ(strict_normalize("1,000"), "1000");
  EXPECT_EQ(strict_normalize("1,000.5"), "1,000.5");
  EXPECT_EQ(strict_normalize("-1,000"), "-1,000");
  EXPECT_EQ(strict_normalize("1,2"), "12");  // math_dapo's quirk: any commas between digits
}

TEST(StrictNormalize, SubstringRulesApplyInsideWordsToo) {
  // "an " and "a " are plain substring replacements in the reward: "tan x" loses its "an ".
  EXPECT_EQ(strict_normalize("\\tan x"), "\\tx");
}

TEST(StrictGrade, IsStringEqualityAfterNormalisation) {
  EXPECT_TRUE(strict("5", "5"));
  EXPECT_TRUE(strict("-5", "-5"));
  EXPECT_FALSE(strict("-5", "5"));
  EXPECT_FALSE(strict("\\dfrac{1}{2}", "\\frac{1}{2}"));
  EXPECT_FALSE(strict("10.0", "10"));
  EXPECT_FALSE(strict("0.5", "\\frac{1}{2}"));
  EXPECT_FALSE(strict("50\\%", "50"));
  EXPECT_FALSE(strict("\\left(1,2\\right)", "(1,2)"));
}

// ---- equivalent: strict plus Qwen2.5-Math's rules ----

TEST(Equivalent, AcceptsEveryStrictMatch) {
  EXPECT_TRUE(equivalent("1,2", "12"));
  EXPECT_TRUE(equivalent("\\text{Evelyn}", "Evelyn"));
}

TEST(Equivalent, DfracAndTfracAreFrac) {
  EXPECT_TRUE(equivalent("\\dfrac{1}{2}", "\\frac{1}{2}"));
  EXPECT_TRUE(equivalent("\\tfrac{3}{4}", "\\frac34"));
  EXPECT_TRUE(equivalent("\\dfrac{\\sqrt{3}}{2}", "\\frac{\\sqrt3}{2}"));
}

TEST(Equivalent, SlashFractionIsFrac) {
  EXPECT_TRUE(equivalent("1/2", "\\frac{1}{2}"));
  EXPECT_TRUE(equivalent("-3/4", "-\\frac{3}{4}"));
  EXPECT_TRUE(equivalent("\\frac{-3}{4}", "-0.75"));
  EXPECT_FALSE(equivalent("1/3", "\\frac{1}{2}"));
}

TEST(Equivalent, LeftRightAreDropped) {
  EXPECT_TRUE(equivalent("\\left(1, 2\\right)", "(1,2)"));
  EXPECT_TRUE(equivalent("\\left[0, 1\\right]", "[0,1]"));
  EXPECT_FALSE(equivalent("x\\rightarrow 1", "x\\arrow1"));  // \rightarrow is not \right
}

TEST(Equivalent, SpacesDoNotMatter) {
  EXPECT_TRUE(equivalent("2 x + 1", "2x+1"));
  EXPECT_TRUE(equivalent("\\frac 1 2", "\\frac{1}{2}"));
}

TEST(Equivalent, UnitsAfterTheNumberAreDropped) {
  EXPECT_TRUE(equivalent("5\\text{ apples}", "5"));
  EXPECT_TRUE(equivalent("12 \\mbox{ eggs}", "12"));
  EXPECT_TRUE(equivalent("7\\mathrm{kg}", "7"));
  EXPECT_TRUE(equivalent("10 apples", "10"));
  EXPECT_TRUE(equivalent("3.5 liters", "3.5"));
  EXPECT_FALSE(equivalent("5\\text{ apples}", "6"));
  EXPECT_FALSE(equivalent("2 \\pi", "2"));  // \pi is not a word unit
}

TEST(Equivalent, DegreesAreDropped) {
  EXPECT_TRUE(equivalent("90^\\circ", "90"));
  EXPECT_TRUE(equivalent("90^{\\circ}", "90"));
  EXPECT_TRUE(equivalent("90°", "90"));
}

TEST(Equivalent, TrailingZeroDecimalsAreDropped) {
  EXPECT_TRUE(equivalent("10.0", "10"));
  EXPECT_TRUE(equivalent("10.00", "10"));
  EXPECT_TRUE(equivalent("2.0x", "2x"));
  EXPECT_FALSE(equivalent("10.05", "10"));
}

TEST(Equivalent, PercentageMatchesItsNumberAndItsHundredth) {
  EXPECT_TRUE(equivalent("50\\%", "50"));
  EXPECT_TRUE(equivalent("50\\%", "0.5"));
  EXPECT_TRUE(equivalent("50%", "\\frac{1}{2}"));
  EXPECT_TRUE(equivalent("0.5", "50\\%"));
  EXPECT_TRUE(equivalent("50", "50\\%"));
  EXPECT_FALSE(equivalent("50", "0.5"));  // without a % sign, no factor of 100 (Qwen allows it)
  EXPECT_FALSE(equivalent("40\\%", "0.5"));
}

TEST(Equivalent, NumbersMatchWithinRelativeTolerance) {
  EXPECT_TRUE(equivalent("3.14159", "3.1416"));
  EXPECT_TRUE(equivalent("0.33333", "\\frac{1}{3}"));
  EXPECT_FALSE(equivalent("3.14", "3.1416"));
  EXPECT_FALSE(equivalent("0.0001", "0"));  // relative: 0 equals only 0
  EXPECT_TRUE(equivalent("-2.5", "-\\frac{5}{2}"));
  EXPECT_FALSE(equivalent("-2.5", "2.5"));
}

TEST(Equivalent, ThousandsSeparatorsAreRead) {
  EXPECT_TRUE(equivalent("1,000", "1000"));
  EXPECT_TRUE(equivalent("1,000.5", "1000.5"));
  EXPECT_TRUE(equivalent("-1,234,567", "-1234567"));
  EXPECT_FALSE(equivalent("1,00.5", "100.5"));  // not groups of three
}

TEST(Equivalent, TuplesAndIntervalsMatchElementWise) {
  EXPECT_TRUE(equivalent("(1, 2)", "(1,2)"));
  EXPECT_TRUE(equivalent("(1.0, \\frac{1}{2})", "(1, 0.5)"));
  EXPECT_TRUE(equivalent("[2, \\infty)", "[2,\\infty)"));
  EXPECT_TRUE(equivalent("\\left(-\\infty, \\dfrac{1}{2}\\right]", "(-\\infty,0.5]"));
  EXPECT_TRUE(equivalent("((1,2), 3.0)", "((1,2),3)"));
  EXPECT_FALSE(equivalent("(1,2)", "[1,2]"));  // an open and a closed interval differ
  EXPECT_FALSE(equivalent("(1,2)", "(1,2,3)"));
  EXPECT_FALSE(equivalent("(1,2)", "(2,1)"));
}

TEST(Equivalent, SingleVariableAssignmentIsItsValue) {
  EXPECT_TRUE(equivalent("x = 3", "3"));
  EXPECT_TRUE(equivalent("3", "x=3.0"));
}

TEST(Equivalent, DifferentAnswersStayDifferent) {
  EXPECT_FALSE(equivalent("\\sqrt{2}", "\\sqrt{3}"));
  EXPECT_FALSE(equivalent("x+1", "x-1"));
  EXPECT_FALSE(equivalent("12", "21"));
}

TEST(EquivalentGrade, ReadsTheResponseAndComparesLoosely) {
  const Grade g = grade_response("Hence the answer is $\\boxed{\\dfrac{1}{2}}$.", "0.5",
                                 GradingMode::kEquivalent);
  EXPECT_TRUE(g.correct);
  EXPECT_EQ(g.extracted, "\\dfrac{1}{2}");
  EXPECT_FALSE(grade_response("\\boxed{\\dfrac{1}{2}}", "0.5", GradingMode::kStrict).correct);
}

}  // namespace
}  // namespace megasft::rl
