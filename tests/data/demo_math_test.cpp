#include "megasft/data/demo_math.h"

#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <string>
#include <vector>

#include "megasft/data/char_tokenizer.h"

namespace megasft::data {
namespace {

std::vector<int64_t> numbers_in(const std::string& text) {
  static const std::regex number(R"(\d+)");
  std::vector<int64_t> out;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), number);
       it != std::sregex_iterator(); ++it) {
    out.push_back(std::stoll(it->str()));
  }
  return out;
}

bool contains(const std::string& text, const char* needle) {
  return text.find(needle) != std::string::npos;
}

// Recomputes the answer from the prompt's numbers alone, per template; returns the template name.
std::string recompute(const std::string& prompt, int64_t& expected) {
  const std::vector<int64_t> n = numbers_in(prompt);
  if (contains(prompt, " buys ")) {
    EXPECT_EQ(n.size(), 3u) << prompt;
    EXPECT_LE(n[2], n[0] + n[1]) << "eats more than it has: " << prompt;
    expected = n[0] + n[1] - n[2];
    return "fruit";
  }
  if (contains(prompt, "km per hour")) {
    EXPECT_EQ(n.size(), 2u) << prompt;
    expected = n[0] * n[1];
    return "distance";
  }
  if (contains(prompt, "costs $")) {
    EXPECT_EQ(n.size(), 3u) << prompt;
    expected = n[0] + n[1] + n[2];
    return "prices";
  }
  if (contains(prompt, "shared equally")) {
    EXPECT_EQ(n.size(), 2u) << prompt;
    EXPECT_EQ(n[0] % n[1], 0) << "inexact division: " << prompt;
    expected = n[0] / n[1];
    return "share";
  }
  if (contains(prompt, " holds ")) {
    EXPECT_EQ(n.size(), 2u) << prompt;
    expected = n[0] * n[1];
    return "containers";
  }
  ADD_FAILURE() << "unknown template: " << prompt;
  return "";
}

TEST(DemoMath, AnswersAreArithmeticallyCorrect) {
  const std::regex equation(R"((\d+) ([-+*/]) (\d+) = (\d+))");
  const std::regex final_answer(R"(The answer is \\boxed\{(\d+)\}\.$)");
  const CharTokenizer tok;
  std::map<std::string, int> per_template;
  const std::vector<ChatExample> examples = generate_arithmetic_problems(7, 2000);
  ASSERT_EQ(examples.size(), 2000u);
  for (const ChatExample& ex : examples) {
    SCOPED_TRACE(ex.prompt + " || " + ex.answer);
    int64_t expected = -1;
    ++per_template[recompute(ex.prompt, expected)];

    std::smatch boxed;
    ASSERT_TRUE(std::regex_search(ex.answer, boxed, final_answer));
    EXPECT_EQ(std::stoll(boxed[1].str()), expected);

    // Every intermediate step must hold, and the last one must produce the final answer.
    int steps = 0;
    int64_t last_result = -1;
    for (auto it = std::sregex_iterator(ex.answer.begin(), ex.answer.end(), equation);
         it != std::sregex_iterator(); ++it, ++steps) {
      const int64_t a = std::stoll((*it)[1].str());
      const int64_t b = std::stoll((*it)[3].str());
      const int64_t c = std::stoll((*it)[4].str());
      const char op = (*it)[2].str()[0];
      const int64_t value = op == '+' ? a + b : op == '-' ? a - b : op == '*' ? a * b : a / b;
      if (op == '/') {
        EXPECT_EQ(a % b, 0);
      }
      EXPECT_EQ(value, c);
      last_result = c;
    }
    EXPECT_GE(steps, 1);
    EXPECT_EQ(last_result, expected);

    EXPECT_LE(ex.prompt.size() + ex.answer.size(), 200u);
    EXPECT_NO_THROW(tok.encode(ex.prompt + ex.answer));
  }
  EXPECT_EQ(per_template.size(), 5u);
  for (const auto& [name, count] : per_template) EXPECT_GT(count, 200) << name;
}

TEST(DemoMath, DeterministicPerSeedAndPrefixStable) {
  const auto a = generate_arithmetic_problems(1234, 300);
  const auto b = generate_arithmetic_problems(1234, 300);
  const auto c = generate_arithmetic_problems(1235, 300);
  const auto prefix = generate_arithmetic_problems(1234, 100);
  ASSERT_EQ(a.size(), 300u);
  int differing = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].prompt, b[i].prompt);
    EXPECT_EQ(a[i].answer, b[i].answer);
    differing += a[i].prompt != c[i].prompt;
  }
  EXPECT_GT(differing, 250);
  for (size_t i = 0; i < prefix.size(); ++i) EXPECT_EQ(prefix[i].prompt, a[i].prompt);
  EXPECT_TRUE(generate_arithmetic_problems(1, 0).empty());
}

// Pins the stream itself: any platform or refactor that changes the generated data fails here.
TEST(DemoMath, GoldenFirstProblems) {
  const auto examples = generate_arithmetic_problems(1234, 2);
  ASSERT_EQ(examples.size(), 2u);
  EXPECT_EQ(examples[0].prompt,
            "24 stickers are shared equally among 3 students. "
            "How many stickers does each one get?");
  EXPECT_EQ(examples[0].answer, "Divide equally: 24 / 3 = 8. The answer is \\boxed{8}.");
  EXPECT_EQ(examples[1].prompt,
            "Sam has 21 oranges, buys 1 more and eats 2. How many oranges does Sam have now?");
}

}  // namespace
}  // namespace megasft::data
