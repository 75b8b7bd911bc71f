// Grouping keys are JSON arrays so a problem id, a prompt id and a prompt text can never collide,
// and an id written as 7 stays apart from one written as "7" (they may name different problems).
#include "megasft/eval/generations_file.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "kernels/check.h"

namespace megasft::eval {
namespace {

using nlohmann::json;

struct Sample {
  int64_t index = -1;  // sample_index, -1 when the row has none
  int64_t line = 0;
  std::string text;
};

struct Group {
  PromptGenerations generations;
  std::vector<Sample> samples;
};

std::string parse_error_text(const json::exception& e) {
  const std::string what = e.what();
  const size_t tag = what.find("] ");
  return tag == std::string::npos ? what : what.substr(tag + 2);
}

bool is_id(const json& value) { return value.is_string() || value.is_number_integer(); }

// `megasft eval` rows carry both problem_index (its own grouping key, unique by construction) and
// problem_id (the data set's id, which may repeat); the index wins when present.
std::string group_key(const json& row, const std::string& where) {
  for (const char* field : {"problem_index", "problem_id"}) {
    if (!row.contains(field)) continue;
    const json& id = row[field];
    MEGASFT_CHECK(is_id(id), where, "\"", field, "\" must be a string or an integer, got ",
                  id.dump());
    const json benchmark = row.value("benchmark", json());
    MEGASFT_CHECK(benchmark.is_null() || benchmark.is_string(), where,
                  "\"benchmark\" must be a string, got ", benchmark.dump());
    return json::array({field, benchmark, id}).dump();
  }
  if (row.contains("prompt_id")) {
    const json& id = row["prompt_id"];
    MEGASFT_CHECK(is_id(id), where, "\"prompt_id\" must be a string or an integer, got ",
                  id.dump());
    return json::array({"prompt_id", id}).dump();
  }
  MEGASFT_CHECK(row.contains("prompt"), where,
                "a row needs \"problem_index\", \"problem_id\", \"prompt_id\" or \"prompt\" to say "
                "which prompt it answers");
  const json& prompt = row["prompt"];
  // A prompt is text or a list of chat messages; either way its JSON text identifies it.
  MEGASFT_CHECK(prompt.is_string() || prompt.is_array(), where,
                "\"prompt\" must be a string or a list of messages, got ", prompt.type_name());
  return json::array({"prompt", prompt}).dump();
}

// Sorts by sample_index when every sample has one (the GEM variant depends on the order); a
// repeated index means rows were written twice, which would silently double a prompt's samples.
void order_samples(Group& group, const std::string& path) {
  auto& samples = group.samples;
  const bool indexed =
      std::all_of(samples.begin(), samples.end(), [](const Sample& s) { return s.index >= 0; });
  if (indexed) {
    std::stable_sort(samples.begin(), samples.end(),
                     [](const Sample& a, const Sample& b) { return a.index < b.index; });
    for (size_t i = 1; i < samples.size(); ++i)
      MEGASFT_CHECK(samples[i].index != samples[i - 1].index, path, ":", samples[i].line,
                    ": sample_index ", samples[i].index, " of prompt ", group.generations.key,
                    " already appeared at line ", samples[i - 1].line);
  }
  for (Sample& s : samples) group.generations.samples.push_back(std::move(s.text));
}

}  // namespace

std::vector<PromptGenerations> read_generations_file(const std::string& path) {
  std::ifstream in(path);
  MEGASFT_CHECK(in.good(), "cannot open generations file ", path);
  std::vector<Group> groups;
  std::unordered_map<std::string, size_t> group_of_key;
  std::string line;
  int64_t number = 0, rows = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(number) + ": ";
    json row;
    try {
      row = json::parse(line);
    } catch (const json::parse_error& e) {
      MEGASFT_FAIL(where, "not valid JSON: ", parse_error_text(e));
    }
    MEGASFT_CHECK(row.is_object(), where, "a row must be a JSON object, got ", row.type_name());
    ++rows;
    const std::string key = group_key(row, where);
    const bool has_samples = row.contains("samples"), has_response = row.contains("response");
    MEGASFT_CHECK(has_samples != has_response, where,
                  "a row needs exactly one of \"samples\" (all "
                  "samples of a prompt) and \"response\" (one sample)");

    const auto [it, added] = group_of_key.try_emplace(key, groups.size());
    if (added) groups.push_back({PromptGenerations{key, number, {}}, {}});
    Group& group = groups[it->second];
    if (has_samples) {
      const json& samples = row["samples"];
      MEGASFT_CHECK(samples.is_array(), where, "\"samples\" must be a list of strings, got ",
                    samples.type_name());
      for (size_t i = 0; i < samples.size(); ++i) {
        MEGASFT_CHECK(samples[i].is_string(), where, "\"samples\"[", i, "] must be a string, got ",
                      samples[i].type_name());
        group.samples.push_back({-1, number, samples[i].get<std::string>()});
      }
    } else {
      const json& response = row["response"];
      MEGASFT_CHECK(response.is_string(), where, "\"response\" must be a string, got ",
                    response.type_name());
      int64_t index = -1;
      if (row.contains("sample_index")) {
        const json& value = row["sample_index"];
        MEGASFT_CHECK(value.is_number_integer() && value.get<int64_t>() >= 0, where,
                      "\"sample_index\" must be a non-negative integer, got ", value.dump());
        index = value.get<int64_t>();
      }
      group.samples.push_back({index, number, response.get<std::string>()});
    }
  }
  MEGASFT_CHECK(!in.bad(), "error reading generations file ", path);
  MEGASFT_CHECK(rows > 0, "generations file ", path, " has no rows");

  std::vector<PromptGenerations> result;
  result.reserve(groups.size());
  for (Group& group : groups) {
    order_samples(group, path);
    result.push_back(std::move(group.generations));
  }
  return result;
}

}  // namespace megasft::eval
