#include "megasft/data/demo_math.h"

#include <array>
#include <string_view>

#include "kernels/check.h"
#include "megasft/data/rng.h"

namespace megasft::data {

namespace {

// Small fixed word lists; the numbers carry the difficulty, the words only add variety.
constexpr std::array<std::string_view, 8> kNames = {"Mia",  "Sam",  "Leo",  "Ava",
                                                    "Noah", "Emma", "Liam", "Zoe"};
constexpr std::array<std::string_view, 4> kFruits = {"apples", "pears", "oranges", "plums"};
constexpr std::array<std::string_view, 6> kGoods = {"pen", "book", "bag", "cap", "mug", "ball"};
constexpr std::array<std::string_view, 4> kShared = {"cookies", "stickers", "marbles", "candies"};
constexpr std::array<std::string_view, 4> kVehicles = {"train", "bus", "car", "truck"};
constexpr std::array<std::string_view, 3> kPeople = {"kids", "friends", "students"};
constexpr std::array<std::string_view, 3> kContainers = {"box", "crate", "tray"};
constexpr std::array<std::string_view, 3> kContents = {"pencils", "eggs", "cards"};

template <size_t N>
std::string_view pick(SplitMix64& rng, const std::array<std::string_view, N>& words) {
  return words[rng.below(N)];
}

std::string num(int64_t v) { return std::to_string(v); }

std::string boxed(int64_t v) { return "The answer is \\boxed{" + num(v) + "}."; }

ChatExample fruit_bought_and_eaten(SplitMix64& rng) {
  const std::string name(pick(rng, kNames));
  const std::string fruit(pick(rng, kFruits));
  const int64_t start = rng.uniform(3, 30);
  const int64_t bought = rng.uniform(1, 20);
  const int64_t total = start + bought;
  const int64_t eaten = rng.uniform(1, total);
  const int64_t left = total - eaten;
  return {name + " has " + num(start) + " " + fruit + ", buys " + num(bought) + " more and eats " +
              num(eaten) + ". How many " + fruit + " does " + name + " have now?",
          "After buying: " + num(start) + " + " + num(bought) + " = " + num(total) +
              ". After eating: " + num(total) + " - " + num(eaten) + " = " + num(left) + ". " +
              boxed(left)};
}

ChatExample travel_distance(SplitMix64& rng) {
  const std::string vehicle(pick(rng, kVehicles));
  const int64_t speed = rng.uniform(20, 120);
  const int64_t hours = rng.uniform(2, 9);
  const int64_t distance = speed * hours;
  return {"A " + vehicle + " travels at " + num(speed) + " km per hour for " + num(hours) +
              " hours. How many km does it travel?",
          "Distance is speed times time: " + num(speed) + " * " + num(hours) + " = " +
              num(distance) + ". " + boxed(distance)};
}

ChatExample sum_of_prices(SplitMix64& rng) {
  // Three distinct goods: draw indices without replacement.
  size_t a = rng.below(kGoods.size());
  size_t b = (a + 1 + rng.below(kGoods.size() - 1)) % kGoods.size();
  size_t c = a;
  while (c == a || c == b) c = rng.below(kGoods.size());
  const int64_t pa = rng.uniform(1, 50);
  const int64_t pb = rng.uniform(1, 50);
  const int64_t pc = rng.uniform(1, 50);
  const int64_t ab = pa + pb;
  const int64_t total = ab + pc;
  return {"A " + std::string(kGoods[a]) + " costs $" + num(pa) + ", a " + std::string(kGoods[b]) +
              " costs $" + num(pb) + " and a " + std::string(kGoods[c]) + " costs $" + num(pc) +
              ". What is the total cost in dollars?",
          "Add the prices: " + num(pa) + " + " + num(pb) + " = " + num(ab) + ", then " + num(ab) +
              " + " + num(pc) + " = " + num(total) + ". " + boxed(total)};
}

ChatExample share_equally(SplitMix64& rng) {
  const std::string things(pick(rng, kShared));
  const std::string people(pick(rng, kPeople));
  const int64_t count = rng.uniform(2, 9);
  const int64_t each = rng.uniform(2, 12);
  const int64_t total = count * each;  // built from the quotient, so the division is exact
  return {num(total) + " " + things + " are shared equally among " + num(count) + " " + people +
              ". How many " + things + " does each one get?",
          "Divide equally: " + num(total) + " / " + num(count) + " = " + num(each) + ". " +
              boxed(each)};
}

ChatExample containers(SplitMix64& rng) {
  const size_t kind = rng.below(kContainers.size());
  const std::string container(kContainers[kind]);
  const std::string contents(pick(rng, kContents));
  const int64_t per = rng.uniform(2, 12);
  const int64_t count = rng.uniform(2, 12);
  const int64_t total = per * count;
  const std::string plural = container == "box" ? "boxes" : container + "s";
  return {"Each " + container + " holds " + num(per) + " " + contents + ". How many " + contents +
              " are in " + num(count) + " " + plural + "?",
          "Multiply: " + num(per) + " * " + num(count) + " = " + num(total) + ". " + boxed(total)};
}

}  // namespace

std::vector<ChatExample> generate_arithmetic_problems(uint64_t seed, int64_t count) {
  MEGASFT_CHECK(count >= 0, "generate_arithmetic_problems: count must be >= 0, got ", count);
  using Template = ChatExample (*)(SplitMix64&);
  constexpr std::array<Template, 5> kTemplates = {fruit_bought_and_eaten, travel_distance,
                                                  sum_of_prices, share_equally, containers};
  SplitMix64 rng(derive_seed(seed, /*stream=*/0x64656d6f));  // "demo"
  std::vector<ChatExample> examples;
  examples.reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    examples.push_back(kTemplates[rng.below(kTemplates.size())](rng));
  }
  return examples;
}

}  // namespace megasft::data
