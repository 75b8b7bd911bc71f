// Strict mode reproduces verl's math_dapo reward (Minerva's normalize_final_answer, then string
// equality) rule by rule, regex quirks included; equivalent mode adds the looser rules of
// Qwen2.5-Math's evaluation (strip_string, math_equal) on top, so it accepts every strict match.
#include "megasft/rl/math_grader.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <utility>
#include <vector>

#include "kernels/check.h"

namespace megasft::rl {

namespace {

constexpr size_t npos = std::string::npos;

// Python's str.replace: every non-overlapping occurrence, left to right, without rescanning.
void replace_all(std::string& s, std::string_view from, std::string_view to) {
  std::string out;
  size_t pos = 0;
  for (size_t hit; (hit = s.find(from, pos)) != npos; pos = hit + from.size()) {
    out.append(s, pos, hit - pos);
    out.append(to);
  }
  if (pos == 0) return;
  out.append(s, pos);
  s = std::move(out);
}

// Python's str.strip() set, ASCII part (it also strips \x1c-\x1f).
bool is_space(char c) {
  return c == ' ' || (c >= '\t' && c <= '\r') || (c >= '\x1c' && c <= '\x1f');
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Bytes of the UTF-8 code point at s[i]: Python's `.` and `[^{]` consume a code point, not a byte.
size_t code_point_length(std::string_view s, size_t i) {
  const auto lead = static_cast<unsigned char>(s[i]);
  const size_t n = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
  return std::min(n, s.size() - i);
}

// math_dapo's SUBSTITUTIONS and REMOVED_EXPRESSIONS, in its order (the order matters: "\text{m}"
// becomes "\text{}" before "\text{}" is removed). Both are plain substring replacements, so "an "
// vanishes from "tan " too; the reward did that, and so does this.
// clang-format off
constexpr std::pair<std::string_view, std::string_view> kSubstitutions[] = {
    {"an ", ""},    {"a ", ""},     {".$", "$"},  {"\\$", ""},  {"\\ ", ""},
    {" ", ""},      {"mbox", "text"}, {",\\text{and}", ","}, {"\\text{and}", ","},
    {"\\text{m}", "\\text{}"}};
constexpr std::string_view kRemovedExpressions[] = {
    "square", "ways", "integers", "dollars", "mph", "inches", "hours", "km", "units", "\\ldots",
    "sue", "points", "feet", "minutes", "digits", "cents", "degrees", "cm", "gm", "pounds",
    "meters", "meals", "edges", "students", "childrentickets", "multiples", "\\text{s}",
    "\\text{.}", "\\text{\ns}", "\\text{}^2", "\\text{}^3", "\\text{\n}", "\\text{}",
    "\\mathrm{th}", "^\\circ", "^{\\circ}", "\\;", ",\\!", "{,}", "\"", "\\dots"};
// clang-format on

// Applies `rewrite` to each line apart: the reward's regexes use `.`, which stops at a newline.
template <typename Rewrite>
std::string per_line(std::string_view s, Rewrite rewrite) {
  std::string out;
  for (size_t start = 0;;) {
    const size_t end = s.find('\n', start);
    out += rewrite(std::string(s.substr(start, end == npos ? npos : end - start)));
    if (end == npos) return out;
    out += '\n';
    start = end + 1;
  }
}

// re.sub(r"(.*?)(\$)(.*?)(\$)(.*)", "$\3$"): a line with two '$' keeps what its first pair holds.
std::string keep_first_math(const std::string& line) {
  const size_t open = line.find('$');
  const size_t close = open == npos ? npos : line.find('$', open + 1);
  if (close == npos) return line;
  std::string math = "$";
  math.append(line, open + 1, close - open - 1);
  return math += '$';
}

// re.sub(r"(\\cmd\{)(.*?)(\})", "\2"): each `\cmd{x}` becomes x, x ending at the first '}' of the
// line (so `\text{\frac{1}{2}}` loses the wrong brace, as in the reward).
std::string unwrap_lazily(std::string_view s, std::string_view command) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    if (s.substr(i, command.size()) == command) {
      const size_t close = s.find_first_of("}\n", i + command.size());
      if (close != npos && s[close] == '}') {
        out.append(s.substr(i + command.size(), close - i - command.size()));
        i = close + 1;
        continue;
      }
    }
    out += s[i++];
  }
  return out;
}

// re.sub(r"(\\boxed\{)(.*)(\})", "\2"): greedy, from the line's first "\boxed{" to its last '}'.
std::string unwrap_boxed_greedily(const std::string& line) {
  const size_t open = line.find("\\boxed{");
  const size_t close = line.rfind('}');
  if (open == npos || close == npos || close < open + 7) return line;
  return line.substr(0, open) + line.substr(open + 7, close - open - 7) + line.substr(close + 1);
}

// re.sub(r"(frac)([^{])(.)", "frac{\2}{\3}") and re.sub(r"(sqrt)([^{])", "sqrt{\2}"): the TeX
// shorthands \frac12 and \sqrt2. `[^{]` takes a newline too, `.` does not.
std::string expand_shorthand(std::string_view s, std::string_view command, int arguments) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    size_t j = i + command.size();
    if (s.substr(i, command.size()) == command && j < s.size() && s[j] != '{') {
      const size_t a = code_point_length(s, j);
      std::string expanded = std::string(command) + "{" + std::string(s.substr(j, a)) + "}";
      j += a;
      if (arguments == 2) {
        if (j < s.size() && s[j] != '\n') {
          const size_t b = code_point_length(s, j);
          out += expanded + "{" + std::string(s.substr(j, b)) + "}";
          i = j + b;
          continue;
        }
      } else {
        out += expanded;
        i = j;
        continue;
      }
    }
    out += s[i++];
  }
  return out;
}

// ---- equivalent mode ----

// Rewrites the strict normalisation would otherwise bury: \dfrac and \tfrac are \frac (Qwen's
// strip_string), \left( and \right) are brackets (the command, not \rightarrow), ° is ^\circ.
std::string before_strict(std::string s) {
  replace_all(s, "\\dfrac", "\\frac");
  replace_all(s, "\\tfrac", "\\frac");
  replace_all(s, "°", "");
  for (std::string_view command : {std::string_view("\\left"), std::string_view("\\right")}) {
    std::string out;
    for (size_t i = 0; i < s.size();) {
      const size_t after = i + command.size();
      if (s.compare(i, command.size(), command) == 0 &&
          (after >= s.size() || !is_letter(s[after]))) {
        i = after;
        continue;
      }
      out += s[i++];
    }
    s = std::move(out);
  }
  return s;
}

// Qwen's "(\d+)\.0*([^\d])" and "(\d+)\.0*$": 10.0 is 10 and 2.00x is 2x, inside expressions too.
std::string drop_zero_decimals(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '.' && i > 0 && is_digit(s[i - 1])) {
      size_t j = i + 1;
      while (j < s.size() && s[j] == '0') ++j;
      if (j == s.size() || !is_digit(s[j])) {
        i = j - 1;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

std::string canonical(std::string_view answer) {
  return drop_zero_decimals(strict_normalize(before_strict(std::string(answer))));
}

// A unit after the answer, as another reading of it: a trailing \text{...} / \mbox{...} /
// \mathrm{...} (Qwen's strip_string), or words after a leading number ("10 apples": Qwen's
// TheoremQA rule). Returns the answer unchanged when there is none.
std::string_view strip_unit(std::string_view answer) {
  const std::string_view s = trim(answer);
  if (!s.empty() && s.back() == '}') {
    int depth = 0;
    size_t open = s.size();
    while (open-- > 0) {
      depth += s[open] == '}' ? 1 : s[open] == '{' ? -1 : 0;
      if (depth == 0) break;
    }
    for (std::string_view command : {"\\text", "\\mbox", "\\mathrm"}) {
      if (open != npos && open >= command.size() &&
          s.substr(open - command.size(), command.size()) == command) {
        const std::string_view rest = trim(s.substr(0, open - command.size()));
        if (!rest.empty()) return rest;
      }
    }
  }
  const size_t gap = s.find_first_of(" \t");
  if (gap == npos) return answer;
  const std::string_view number = s.substr(0, gap), words = trim(s.substr(gap));
  if (number.find_first_not_of("+-0123456789.,") != npos ||
      number.find_first_of("0123456789") == npos) {
    return answer;
  }
  for (char c : words) {
    if (!is_letter(c) && c != ' ' && c != '.') return answer;
  }
  return number;
}

// A decimal, optionally signed, with thousands separators only in groups of three ("1,000.5").
std::optional<double> parse_decimal(std::string_view s) {
  std::string plain;
  size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) plain += s[i++];
  const size_t digits_start = i;
  size_t group = 0, groups = 0;
  for (; i < s.size() && (is_digit(s[i]) || s[i] == ','); ++i) {
    if (s[i] == ',') {
      if ((groups == 0 ? group < 1 || group > 3 : group != 3)) return std::nullopt;
      ++groups;
      group = 0;
    } else {
      plain += s[i];
      ++group;
    }
  }
  if (groups > 0 && group != 3) return std::nullopt;
  bool has_digits = i > digits_start;
  if (i < s.size() && s[i] == '.') {
    plain += s[i++];
    for (; i < s.size() && is_digit(s[i]); ++i, has_digits = true) plain += s[i];
  }
  if (i != s.size() || !has_digits) return std::nullopt;
  return std::strtod(plain.c_str(), nullptr);
}

struct Number {
  double value = 0;
  bool percent = false;
};

// The value of a canonical answer that is a number: a decimal, a/b, \frac{a}{b} (its sign outside
// or inside), each optionally a percentage ("\%" or "%").
std::optional<Number> parse_number(std::string_view s) {
  Number n;
  for (std::string_view sign : {"\\%", "%"}) {
    if (s.size() > sign.size() && s.substr(s.size() - sign.size()) == sign) {
      s.remove_suffix(sign.size());
      n.percent = true;
      break;
    }
  }
  double sign = 1;
  std::optional<double> top, bottom;
  if (s.substr(0, 7) == "-\\frac{" || s.substr(0, 6) == "\\frac{") {
    if (s[0] == '-') {
      sign = -1;
      s.remove_prefix(1);
    }
    const size_t mid = s.find("}{");
    if (mid == npos || s.back() != '}') return std::nullopt;
    top = parse_decimal(s.substr(6, mid - 6));
    bottom = parse_decimal(s.substr(mid + 2, s.size() - mid - 3));
  } else if (const size_t slash = s.find('/'); slash != npos) {
    top = parse_decimal(s.substr(0, slash));
    bottom = parse_decimal(s.substr(slash + 1));
  } else {
    top = parse_decimal(s);
    bottom = 1;
  }
  if (!top || !bottom || *bottom == 0) return std::nullopt;
  n.value = sign * *top / *bottom;
  return n;
}

// Qwen's numeric_equal: math.isclose with rel_tol 1e-4 (so 0 equals only 0).
constexpr double kRelativeTolerance = 1e-4;
bool nearly_equal(double a, double b) {
  return std::fabs(a - b) <= kRelativeTolerance * std::max(std::fabs(a), std::fabs(b));
}

// Qwen accepts the gold, gold/100 and gold*100 for any number; here the factor 100 is allowed only
// when one side is written as a percentage, so 50\% = 50 = 0.5 but 50 != 0.5.
bool numbers_match(const Number& p, const Number& g) {
  if (nearly_equal(p.value, g.value)) return true;
  if (p.percent && !g.percent) return nearly_equal(p.value / 100, g.value);
  if (g.percent && !p.percent) return nearly_equal(p.value, g.value / 100);
  return false;
}

struct Tuple {
  char open = 0, close = 0;
  std::vector<std::string_view> items;
};

// "(a,b)", "[a,b)": a bracket around the whole answer, split at its top-level commas.
std::optional<Tuple> parse_tuple(std::string_view s) {
  if (s.size() < 2 || (s.front() != '(' && s.front() != '[') ||
      (s.back() != ')' && s.back() != ']')) {
    return std::nullopt;
  }
  Tuple t{s.front(), s.back(), {}};
  int depth = 0;
  size_t start = 1;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '(' || c == '[' || c == '{') ++depth;
    if (c == ')' || c == ']' || c == '}') --depth;
    if (depth == 0 && i + 1 < s.size()) return std::nullopt;  // "(1)+(2)" is not one tuple
    if (depth == 1 && c == ',') {
      t.items.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  t.items.push_back(s.substr(start, s.size() - 1 - start));
  return t;
}

// Two canonical answers: the same text, the same number, or tuples with the same brackets whose
// elements match pairwise.
bool same_value(std::string_view a, std::string_view b) {
  if (a.empty() || b.empty()) return false;
  if (a == b) return true;
  const auto na = parse_number(a), nb = parse_number(b);
  if (na && nb) return numbers_match(*na, *nb);
  const auto ta = parse_tuple(a), tb = parse_tuple(b);
  if (!ta || !tb || ta->open != tb->open || ta->close != tb->close ||
      ta->items.size() != tb->items.size()) {
    return false;
  }
  for (size_t i = 0; i < ta->items.size(); ++i) {
    if (!same_value(ta->items[i], tb->items[i])) return false;
  }
  return true;
}

std::vector<std::string> readings(std::string_view answer) {
  std::vector<std::string> forms{canonical(answer)};
  const std::string_view unitless = strip_unit(answer);
  if (unitless != answer) forms.push_back(canonical(unitless));
  return forms;
}

bool strict_match(std::string_view predicted, std::string_view gold) {
  const std::string p = strict_normalize(predicted);
  return !p.empty() && p == strict_normalize(gold);
}

// The content of the brace group opening at s[open]; nullopt if it never closes. Every brace
// counts, escaped or not, as in math_dapo's last_boxed_only_string.
std::optional<std::string> brace_group(std::string_view s, size_t open) {
  int depth = 0;
  for (size_t i = open; i < s.size(); ++i) {
    if (s[i] == '{') ++depth;
    if (s[i] == '}' && --depth == 0) return std::string(s.substr(open + 1, i - open - 1));
  }
  return std::nullopt;
}

}  // namespace

GradingMode parse_grading_mode(std::string_view name) {
  if (name == "strict") return GradingMode::kStrict;
  if (name == "equivalent") return GradingMode::kEquivalent;
  MEGASFT_FAIL("grading mode '", name, "' must be strict or equivalent");
}

const char* grading_mode_name(GradingMode mode) {
  return mode == GradingMode::kStrict ? "strict" : "equivalent";
}

std::optional<std::string> last_boxed_answer(std::string_view response) {
  const size_t at = response.rfind("\\boxed{");
  if (at == npos) return std::nullopt;
  return brace_group(response, at + 6);
}

std::optional<std::string> extract_answer(std::string_view response, GradingMode mode) {
  if (mode == GradingMode::kStrict) return last_boxed_answer(response);
  // The last \boxed or \fbox followed by '{' or a space (not \boxedfoo).
  size_t at = npos, name = 0;
  for (std::string_view command : {"\\boxed", "\\fbox"}) {
    for (size_t i = response.find(command); i != npos; i = response.find(command, i + 1)) {
      const size_t after = i + command.size();
      if (after < response.size() && (response[after] == '{' || is_space(response[after])) &&
          (at == npos || i > at)) {
        at = i;
        name = command.size();
      }
    }
  }
  if (at == npos) return std::nullopt;
  size_t i = at + name;
  while (i < response.size() && is_space(response[i]) && response[i] != '\n') ++i;
  if (i < response.size() && response[i] == '{') return brace_group(response, i);
  // Hendrycks' MATH form "\boxed 5$": up to the next '$' (or the line's end).
  const std::string_view rest = response.substr(i);
  const std::string_view token = trim(rest.substr(0, rest.find_first_of("$\n")));
  if (token.empty()) return std::nullopt;
  return std::string(token);
}

std::string strict_normalize(std::string_view answer) {
  const size_t equals = answer.rfind('=');  // math_dapo keeps what follows the last '='
  std::string s(equals == npos ? answer : answer.substr(equals + 1));
  for (const auto& [before, after] : kSubstitutions) replace_all(s, before, after);
  for (std::string_view expression : kRemovedExpressions) replace_all(s, expression, "");
  s = per_line(s, keep_first_math);
  for (std::string_view command : {"\\text{", "\\textbf{", "\\overline{"}) {
    s = unwrap_lazily(s, command);
  }
  s = per_line(s, unwrap_boxed_greedily);
  s = expand_shorthand(s, "frac", 2);
  s = expand_shorthand(s, "sqrt", 1);
  replace_all(s, "$", "");
  // "1,000" -> "1000" only when nothing but digits and commas is left ("-1,000" stays).
  std::string digits = s;
  replace_all(digits, ",", "");
  if (!digits.empty() && digits.find_first_not_of("0123456789") == npos) s = digits;
  return std::string(trim(s));
}

bool answers_equivalent(std::string_view predicted, std::string_view gold) {
  if (strict_match(predicted, gold)) return true;
  const std::vector<std::string> p = readings(predicted), g = readings(gold);
  for (const std::string& a : p) {
    for (const std::string& b : g) {
      if (same_value(a, b)) return true;
    }
  }
  return false;
}

Grade grade_response(std::string_view response, std::string_view gold, GradingMode mode) {
  Grade grade;
  grade.extracted = extract_answer(response, mode);
  if (!grade.extracted) return grade;
  grade.correct = mode == GradingMode::kStrict ? strict_match(*grade.extracted, gold)
                                               : answers_equivalent(*grade.extracted, gold);
  return grade;
}

}  // namespace megasft::rl
