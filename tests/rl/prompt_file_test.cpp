// read_prompt_file on small JSONL files: both row forms, numeric answers kept as written, blank
// lines skipped, and every bad row named "<path>:<line>: ..."; write_prompt_rows round-trips.
#include "megasft/rl/prompt_file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/check.h"
#include "tests/data/temp_dir.h"

namespace megasft::rl {
namespace {

using data::testing::TempDir;

std::string write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  return path;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// The error read_prompt_file throws for `text`, which must start with "<path>:<line>: ".
std::string error_for(const std::string& text, int line) {
  TempDir dir;
  const std::string path = write_file(dir.file("prompts.jsonl"), text);
  try {
    read_prompt_file(path);
  } catch (const Error& e) {
    const std::string what = e.what();
    const std::string where = path + ":" + std::to_string(line) + ": ";
    EXPECT_EQ(what.rfind(where, 0), 0u) << what;
    return what;
  }
  ADD_FAILURE() << "no error for: " << text;
  return "";
}

void expect_error(const std::string& text, int line, const std::string& fragment) {
  const std::string what = error_for(text, line);
  EXPECT_NE(what.find(fragment), std::string::npos) << what;
}

const std::string kGood = R"({"prompt": "1+1?", "answer": "2"})"
                          "\n";

TEST(ReadPromptFile, PromptRowIsOneUserTurn) {
  TempDir dir;
  const std::string line = R"({"prompt": "What is 1+1?", "answer": "2", "id": 7})";
  const auto rows = read_prompt_file(write_file(dir.file("p.jsonl"), line + "\n"));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].prompt, "What is 1+1?");
  EXPECT_TRUE(rows[0].messages.empty());
  EXPECT_EQ(rows[0].answer, "2");
  EXPECT_EQ(rows[0].line, 1);
  EXPECT_EQ(rows[0].raw, line);
  const auto turns = rows[0].conversation();
  ASSERT_EQ(turns.size(), 1u);
  EXPECT_EQ(turns[0].role, "user");
  EXPECT_EQ(turns[0].content, "What is 1+1?");
}

TEST(ReadPromptFile, MessagesRowIsTheConversation) {
  TempDir dir;
  const std::string line =
      R"({"messages": [{"role": "system", "content": "Box it."}, )"
      R"({"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}, )"
      R"({"role": "user", "content": "and 3+3?"}], "answer": "6"})";
  const auto rows = read_prompt_file(write_file(dir.file("p.jsonl"), line + "\n"));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_TRUE(rows[0].prompt.empty());
  const auto turns = rows[0].conversation();
  ASSERT_EQ(turns.size(), 4u);
  EXPECT_EQ(turns[0].role, "system");
  EXPECT_EQ(turns[0].content, "Box it.");
  EXPECT_EQ(turns[3].role, "user");
  EXPECT_EQ(turns[3].content, "and 3+3?");
  EXPECT_EQ(rows[0].answer, "6");
}

TEST(ReadPromptFile, SkipsBlankLinesAndCountsThem) {
  TempDir dir;
  const std::string path = write_file(dir.file("p.jsonl"), "\n" + kGood + "   \n\t\n" +
                                                               R"({"prompt": "b", "answer": "3"})"
                                                               "\r\n");
  const auto rows = read_prompt_file(path);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].line, 2);
  EXPECT_EQ(rows[1].line, 5);
  EXPECT_EQ(rows[1].raw, R"({"prompt": "b", "answer": "3"})");  // no '\r'
}

TEST(ReadPromptFile, NumericAnswerKeepsItsText) {
  TempDir dir;
  std::string text;
  for (const char* number : {"42", "-3", "0.5", "1e-3", "2.50", "10.0"}) {
    text += std::string(R"({"prompt": "q", "answer": )") + number + "}\n";
  }
  const auto rows = read_prompt_file(write_file(dir.file("p.jsonl"), text));
  ASSERT_EQ(rows.size(), 6u);
  EXPECT_EQ(rows[0].answer, "42");
  EXPECT_EQ(rows[1].answer, "-3");
  EXPECT_EQ(rows[2].answer, "0.5");
  EXPECT_EQ(rows[3].answer, "1e-3");
  EXPECT_EQ(rows[4].answer, "2.50");
  EXPECT_EQ(rows[5].answer, "10.0");
}

TEST(ReadPromptFile, NestedAnswerKeyDoesNotStandInForTheRowsAnswer) {
  TempDir dir;
  const auto rows = read_prompt_file(
      write_file(dir.file("p.jsonl"), R"({"meta": {"answer": 9.75}, "prompt": "q", "answer": 1.50})"
                                      "\n"));
  EXPECT_EQ(rows[0].answer, "1.50");
}

TEST(ReadPromptFile, MissingFileIsAnError) {
  TempDir dir;
  try {
    read_prompt_file(dir.file("absent.jsonl"));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot open prompt file"), std::string::npos);
  }
}

TEST(ReadPromptFile, EmptyOrBlankFileIsAnError) {
  for (const std::string text : {"", "\n  \n"}) {
    TempDir dir;
    const std::string path = write_file(dir.file("p.jsonl"), text);
    try {
      read_prompt_file(path);
      FAIL() << "expected an error";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).rfind(path + ": no prompt rows", 0), 0u) << e.what();
    }
  }
}

TEST(ReadPromptFileErrors, InvalidJson) {
  expect_error(kGood + "{\"prompt\": \n", 2, "invalid JSON");
}

TEST(ReadPromptFileErrors, RowNotAnObject) {
  expect_error("[1, 2]\n", 1, "must be a JSON object but is array");
}

TEST(ReadPromptFileErrors, NeitherPromptNorMessages) {
  expect_error(R"({"question": "q", "answer": "1"})", 1, "neither 'prompt' nor 'messages'");
}

TEST(ReadPromptFileErrors, BothPromptAndMessages) {
  expect_error(R"({"prompt": "q", "messages": [{"role": "user", "content": "q"}], "answer": "1"})",
               1, "both 'prompt' and 'messages'");
}

TEST(ReadPromptFileErrors, PromptNotAString) {
  expect_error(R"({"prompt": 5, "answer": "1"})", 1,
               "field 'prompt' must be a string but is number");
}

TEST(ReadPromptFileErrors, MessagesNotAnArray) {
  expect_error(R"({"messages": "hi", "answer": "1"})", 1,
               "'messages' must be an array but is string");
}

TEST(ReadPromptFileErrors, MessagesEmpty) {
  expect_error(R"({"messages": [], "answer": "1"})", 1, "field 'messages' is empty");
}

TEST(ReadPromptFileErrors, MessageNotAnObject) {
  expect_error(R"({"messages": ["hi"], "answer": "1"})", 1, "'messages[0]' must be an object");
}

TEST(ReadPromptFileErrors, MessageWithoutStringRole) {
  expect_error(R"({"messages": [{"content": "q"}], "answer": "1"})", 1,
               "missing field 'messages[0].role'");
  expect_error(R"({"messages": [{"role": 1, "content": "q"}], "answer": "1"})", 1,
               "field 'messages[0].role' must be a string but is number");
}

TEST(ReadPromptFileErrors, MessageWithoutStringContent) {
  expect_error(R"({"messages": [{"role": "user"}], "answer": "1"})", 1,
               "missing field 'messages[0].content'");
  expect_error(R"({"messages": [{"role": "user", "content": null}], "answer": "1"})", 1,
               "field 'messages[0].content' must be a string but is null");
}

TEST(ReadPromptFileErrors, UnknownRole) {
  expect_error(R"({"messages": [{"role": "tool", "content": "q"}], "answer": "1"})", 1,
               "'messages[0].role' is 'tool' (expected system, user or assistant)");
}

TEST(ReadPromptFileErrors, ConversationNotEndingWithUser) {
  expect_error(kGood + kGood +
                   R"({"messages": [{"role": "user", "content": "q"}, )"
                   R"({"role": "assistant", "content": "a"}], "answer": "1"})",
               3, "the last message is a 'assistant' turn");
}

TEST(ReadPromptFileErrors, MissingAnswer) {
  expect_error(R"({"prompt": "q"})", 1, "missing field 'answer'");
}

TEST(ReadPromptFileErrors, AnswerNeitherStringNorNumber) {
  expect_error(R"({"prompt": "q", "answer": true})", 1,
               "field 'answer' must be a string or a number but is boolean");
  expect_error(R"({"prompt": "q", "answer": null})", 1, "but is null");
  expect_error(R"({"prompt": "q", "answer": ["1"]})", 1, "but is array");
}

TEST(ReadPromptFileErrors, EmptyAnswer) {
  expect_error(R"({"prompt": "q", "answer": " "})", 1, "field 'answer' is empty");
}

TEST(WritePromptRows, WritesKeptRowsUnchangedAndLeavesNoTemporary) {
  TempDir dir;
  const std::string first = R"({"prompt":  "a",   "answer": 1.50})";
  const std::string second = R"({"messages": [{"role": "user", "content": "b"}], "answer": "x"})";
  const std::string third = R"({"prompt": "c", "answer": "3"})";
  const auto rows =
      read_prompt_file(write_file(dir.file("in.jsonl"), first + "\n\n" + second + "\n" + third));
  const std::string out = dir.file("sub/kept.jsonl");  // its directory does not exist yet
  write_prompt_rows(out, {rows[0], rows[2]});
  EXPECT_EQ(read_text(out), first + "\n" + third + "\n");
  EXPECT_FALSE(std::filesystem::exists(out + ".tmp"));
  const auto again = read_prompt_file(out);
  ASSERT_EQ(again.size(), 2u);
  EXPECT_EQ(again[0].answer, "1.50");
  EXPECT_EQ(again[1].prompt, "c");

  write_prompt_rows(out, {rows[1]});  // replaces the earlier file
  EXPECT_EQ(read_text(out), second + "\n");
}

TEST(WritePromptRows, RowWithoutOriginalTextIsAnErrorAndWritesNothing) {
  TempDir dir;
  const std::string out = dir.file("kept.jsonl");
  PromptRow row;
  row.prompt = "q";
  row.answer = "1";
  row.line = 4;
  EXPECT_THROW(write_prompt_rows(out, {row}), Error);
  EXPECT_FALSE(std::filesystem::exists(out));
  EXPECT_FALSE(std::filesystem::exists(out + ".tmp"));
}

}  // namespace
}  // namespace megasft::rl
