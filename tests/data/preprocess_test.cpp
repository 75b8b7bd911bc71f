// preprocess_jsonl on small JSONL files with the tiny tokenizer (no network): bad rows reported by
// line number and skipped, or fatal; truncation counted; packing keeps every token, never splits
// a sample, restarts position ids at each sample; the token file round-trips /position_ids.
#include "megasft/data/preprocess.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "kernels/check.h"
#include "megasft/data/token_dataset.h"
#include "temp_dir.h"
#include "tiny_tokenizer.h"

namespace megasft::data {
namespace {

using testing::TempDir;

std::string write_lines(const std::string& path, const std::vector<std::string>& lines) {
  std::ofstream out(path);
  for (const std::string& line : lines) out << line << "\n";
  return path;
}

const std::vector<std::string> kRowsWithBadOnes = {
    R"({"messages":[{"role":"user","content":"hello"},{"role":"assistant","content":"hello world"}]})",
    R"({"prompt":"hello","response":"world", "id": 7})",
    R"({"messages": [{"role":"user","content":)",
    R"({"messages":[{"role":"robot","content":"x"},{"role":"assistant","content":"y"}]})",
    R"({"messages":[{"role":"user"},{"role":"assistant","content":"y"}]})",
    R"({"messages":[{"role":"user","content":"only a question"}]})",
    "",
    R"({"prompt":"a","response":"b"})",
};

PreprocessOptions options_for(const TempDir& dir, const std::vector<std::string>& rows) {
  PreprocessOptions o;
  o.input = write_lines(dir.file("in.jsonl"), rows);
  o.tokenizer = testing::write_json(dir.file("tokenizer.json"), testing::tiny_tokenizer_json());
  o.output = dir.file("out.h5");
  o.chat_template = "llama3";
  return o;
}

TEST(Preprocess, ReportsBadRowsWithLineNumbersAndSkipsThem) {
  TempDir dir;
  const PreprocessOptions o = options_for(dir, kRowsWithBadOnes);
  std::map<int64_t, std::string> bad;
  PreprocessCallbacks callbacks;
  callbacks.bad_row = [&](int64_t line, const std::string& why) { bad[line] = why; };
  const PreprocessReport r = preprocess_jsonl(o, callbacks);
  EXPECT_EQ(r.lines, 8);
  EXPECT_EQ(r.bad_rows, 5);
  EXPECT_EQ(r.samples, 3);
  ASSERT_EQ(bad.size(), 5u);
  EXPECT_NE(bad[3].find("invalid JSON"), std::string::npos) << bad[3];
  EXPECT_NE(bad[4].find("'messages[0].role' is 'robot'"), std::string::npos) << bad[4];
  EXPECT_NE(bad[5].find("missing field 'messages[0].content'"), std::string::npos) << bad[5];
  EXPECT_NE(bad[6].find("no assistant message"), std::string::npos) << bad[6];
  EXPECT_NE(bad[7].find("empty line"), std::string::npos) << bad[7];
  EXPECT_EQ(bad[3].find("[preprocess.cpp"), std::string::npos) << "no source location: " << bad[3];
  const TokenDataset data = TokenDataset::open(o.output);
  EXPECT_EQ(data.num_samples(), 3);
  EXPECT_EQ(data.vocab_size(), r.vocab_size);
  EXPECT_FALSE(data.packed());
  EXPECT_TRUE(data.position_ids(0).empty());
}

TEST(Preprocess, BadRowIsFatalWithOnBadRowFail) {
  TempDir dir;
  PreprocessOptions o = options_for(dir, kRowsWithBadOnes);
  o.on_bad_row = BadRowPolicy::kFail;
  try {
    preprocess_jsonl(o);
    ADD_FAILURE() << "line 3 must be fatal";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(o.input + ":3: bad row (--on-bad-row fail): invalid JSON"),
              std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(o.output));
  EXPECT_EQ(parse_bad_row_policy("fail"), BadRowPolicy::kFail);
  EXPECT_THROW(parse_bad_row_policy("ignore"), Error);
}

// Conversations of many lengths; one longer than the limit, one whose answer is cut off entirely.
std::vector<std::string> varied_rows() {
  std::vector<std::string> rows;
  for (int i = 0; i < 40; ++i) {
    std::string prompt, answer;
    for (int k = 0; k < i % 7; ++k) prompt += "hello ";
    for (int k = 0; k < 1 + i % 5; ++k) answer += " world";
    rows.push_back(R"({"prompt":")" + prompt + R"(","response":")" + answer + R"("})");
  }
  rows.push_back(R"({"prompt":"hello","response":")" + std::string(200, 'x') + R"("})");
  rows.push_back(R"({"prompt":")" + std::string(300, 'q') + R"(","response":"world"})");
  return rows;
}

TEST(Preprocess, PackingKeepsEverySampleWholeAndRestartsPositions) {
  constexpr int64_t kMax = 128;
  TempDir dir;
  PreprocessOptions o = options_for(dir, varied_rows());
  o.max_length = kMax;
  const PreprocessReport plain_report = preprocess_jsonl(o);
  const TokenDataset plain = TokenDataset::open(o.output);
  o.pack = true;
  o.output = dir.file("packed.h5");
  const PreprocessReport packed_report = preprocess_jsonl(o);
  const TokenDataset packed = TokenDataset::open(o.output);

  EXPECT_EQ(plain_report.truncated, 2);
  EXPECT_EQ(plain_report.dropped_empty, 1);  // the 300-byte prompt leaves no room for the answer
  EXPECT_EQ(plain_report.samples, 41);
  EXPECT_EQ(packed_report.samples, plain_report.samples);
  EXPECT_EQ(packed.num_tokens(), plain.num_tokens());
  EXPECT_TRUE(packed.packed());
  EXPECT_LT(packed.num_samples(), plain.num_samples() / 2);

  // Cut every packed row where the position id restarts: the pieces must be the plain samples,
  // in order, token for token and mask for mask.
  int64_t next = 0;
  for (int64_t row = 0; row < packed.num_samples(); ++row) {
    const auto tokens = packed.tokens(row);
    const auto mask = packed.loss_mask(row);
    const auto pos = packed.position_ids(row);
    ASSERT_LE(static_cast<int64_t>(tokens.size()), kMax);
    ASSERT_EQ(pos.size(), tokens.size());
    ASSERT_EQ(pos[0], 0);
    size_t start = 0;
    for (size_t k = 1; k <= pos.size(); ++k) {
      if (k < pos.size() && pos[k] != 0) {
        ASSERT_EQ(pos[k], pos[k - 1] + 1);
        continue;
      }
      ASSERT_LT(next, plain.num_samples());
      const auto want_tokens = plain.tokens(next);
      const auto want_mask = plain.loss_mask(next);
      ASSERT_EQ(k - start, want_tokens.size()) << "row " << row << " sample " << next;
      EXPECT_TRUE(std::equal(want_tokens.begin(), want_tokens.end(), tokens.begin() + start));
      EXPECT_TRUE(std::equal(want_mask.begin(), want_mask.end(), mask.begin() + start));
      ++next;
      start = k;
    }
    // Greedy next-fit: the next row's first sample did not fit in this one.
    if (row + 1 < packed.num_samples()) {
      EXPECT_GT(static_cast<int64_t>(tokens.size() + plain.tokens(next).size()), kMax);
    }
  }
  EXPECT_EQ(next, plain.num_samples());
}

TEST(Preprocess, PackNeedsMaxLength) {
  TempDir dir;
  PreprocessOptions o = options_for(dir, varied_rows());
  o.pack = true;
  EXPECT_THROW(preprocess_jsonl(o), Error);
}

TEST(TokenDatasetPositionIds, WriterRefusesInconsistentPositions) {
  TempDir dir;
  TokenizedSamples s;
  s.tokens = {1, 2, 3, 4, 5};
  s.loss_mask = {0, 1, 0, 1, 1};
  s.offsets = {0, 5};
  s.vocab_size = 8;
  s.position_ids = {0, 1, 0, 1, 2};
  write_token_dataset(dir.file("ok.h5"), s);
  const TokenDataset data = TokenDataset::open(dir.file("ok.h5"));
  ASSERT_EQ(data.position_ids(0).size(), 5u);
  EXPECT_EQ(data.position_ids(0)[2], 0);

  s.position_ids = {1, 2, 3, 4, 5};  // a row must start a sample
  EXPECT_THROW(write_token_dataset(dir.file("a.h5"), s), Error);
  s.position_ids = {0, 1, 3, 4, 5};  // neither +1 nor a restart
  EXPECT_THROW(write_token_dataset(dir.file("b.h5"), s), Error);
  s.position_ids = {0, 0, 1, 2, 3};  // a supervised token may not start a sample
  EXPECT_THROW(write_token_dataset(dir.file("c.h5"), s), Error);
  s.position_ids = {0, 1};
  EXPECT_THROW(write_token_dataset(dir.file("d.h5"), s), Error);
}

}  // namespace
}  // namespace megasft::data
