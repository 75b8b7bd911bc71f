// The forward runs one sequence at a time without gradient; the head runs chunk by chunk so the
// logits of a long sequence never exist whole. The largest k is gathered once (token_statistics.h);
// smaller k are prefix sums of its sorted probabilities.
#include "megasft/eval/topk_statistics.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "kernels/check.h"
#include "megasft/data/hdf5_util.h"
#include "megasft/objectives/tau_calibration.h"
#include "megasft/objectives/token_statistics.h"

namespace megasft::eval {
namespace {

// [begin, end) runs of row i that are separate sequences: the whole row, or its packed
// conversations.
std::vector<std::pair<int64_t, int64_t>> sequences_of(const data::TokenDataset& data, int64_t row) {
  const auto n = static_cast<int64_t>(data.tokens(row).size());
  const auto positions = data.position_ids(row);
  std::vector<std::pair<int64_t, int64_t>> runs;
  int64_t start = 0;
  for (int64_t t = 1; t < n && !positions.empty(); ++t)
    if (positions[static_cast<size_t>(t)] == 0) {
      runs.emplace_back(start, t);
      start = t;
    }
  if (n > 0) runs.emplace_back(start, n);
  return runs;
}

}  // namespace

TopkStatistics compute_topk_statistics(const model::LlamaModel& model,
                                       const data::TokenDataset& data,
                                       const TopkStatisticsOptions& options) {
  const auto& config = model.config();
  MEGASFT_CHECK(
      !options.top_k.empty() && options.top_k.front() >= 1 &&
          std::is_sorted(options.top_k.begin(), options.top_k.end()) &&
          std::adjacent_find(options.top_k.begin(), options.top_k.end()) == options.top_k.end(),
      "--top-k must be distinct positive values in ascending order");
  const int k_max = options.top_k.back();
  MEGASFT_CHECK(k_max <= config.vocab_size, "--top-k ", k_max, " exceeds the vocabulary (",
                config.vocab_size, ")");
  MEGASFT_CHECK(data.vocab_size() <= config.vocab_size, "dataset '", data.path(),
                "' has vocab_size ", data.vocab_size(), " but the model's vocabulary is ",
                config.vocab_size);
  const int64_t max_length =
      options.max_length > 0 ? options.max_length : config.max_position_embeddings;
  const int64_t rows = options.max_samples > 0 ? std::min(options.max_samples, data.num_samples())
                                               : data.num_samples();
  const auto& tp = model.tensor_group();
  const auto shard = model.vocab_shard();
  objectives::ObjectiveOptions statistics_options;
  statistics_options.kind = objectives::ObjectiveKind::kCrossEntropy;
  statistics_options.top_k = k_max;
  std::vector<int64_t> k_columns;
  for (int k : options.top_k) k_columns.push_back(k - 1);
  auto columns = at::tensor(k_columns, at::kLong);

  at::NoGradGuard no_grad;
  TopkStatistics out;
  out.k = options.top_k;
  out.sample_offsets.push_back(0);
  for (int64_t row = 0; row < rows; ++row) {
    const auto tokens = data.tokens(row);
    const auto mask = data.loss_mask(row);
    for (auto [begin, end] : sequences_of(data, row)) {
      if (end - begin > max_length) {
        out.truncated_positions += end - begin - max_length;
        end = begin + max_length;
      }
      const int64_t n = end - begin;
      if (n < 2) continue;
      std::vector<int64_t> ids(tokens.begin() + begin, tokens.begin() + end);
      auto head_input =
          model.head_input(model.forward(at::tensor(ids, at::kLong).unsqueeze(0)));  // [n, H]
      auto targets =
          at::tensor(std::vector<int64_t>(ids.begin() + 1, ids.end()), at::kLong);  // [n - 1]
      for (int64_t start = 0; start < n - 1; start += options.chunk_tokens) {
        const int64_t len = std::min(options.chunk_tokens, n - 1 - start);
        auto logits =
            model.lm_head_logits(head_input.narrow(0, start, len)).to(at::kFloat).contiguous();
        auto chunk_targets = targets.narrow(0, start, len);
        auto stats = objectives::gather_token_statistics(
            logits, objectives::local_target_columns(chunk_targets, shard), shard, tp,
            statistics_options);
        auto p = (stats.target_logit - stats.lse).exp().contiguous();
        auto sums = stats.topk_probs.cumsum(1).index_select(1, columns).contiguous();  // [len, K]
        out.p_target.insert(out.p_target.end(), p.data_ptr<double>(), p.data_ptr<double>() + len);
        out.topk_sum.insert(out.topk_sum.end(), sums.data_ptr<double>(),
                            sums.data_ptr<double>() + sums.numel());
        for (int64_t t = begin + start; t < begin + start + len; ++t) {
          out.target.push_back(tokens[static_cast<size_t>(t + 1)]);
          out.supervised.push_back(mask[static_cast<size_t>(t + 1)]);
          out.position.push_back(t);
        }
      }
    }
    out.sample_offsets.push_back(static_cast<int64_t>(out.p_target.size()));
  }
  return out;
}

namespace {

template <typename T>
void write_dataset(hid_t file, const std::string& path, const char* name, hid_t type,
                   const std::vector<T>& values, std::vector<hsize_t> dims) {
  using data::h5_check;
  using data::h5_own;
  auto space = h5_own(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
                      H5Sclose, path, name, "create dataspace");
  auto set =
      h5_own(H5Dcreate2(file, name, type, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
             H5Dclose, path, name, "create dataset");
  if (!values.empty())
    h5_check(H5Dwrite(set.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), path, name,
             "write");
}

void write_string_attribute(hid_t file, const std::string& path, const char* name,
                            const std::string& value) {
  using data::h5_check;
  using data::h5_own;
  auto type = h5_own(H5Tcopy(H5T_C_S1), H5Tclose, path, name, "copy string type");
  h5_check(H5Tset_size(type.get(), std::max<size_t>(1, value.size())), path, name,
           "size string type");
  auto space = h5_own(H5Screate(H5S_SCALAR), H5Sclose, path, name, "create dataspace");
  auto attribute = h5_own(H5Acreate2(file, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
                          H5Aclose, path, name, "create attribute");
  h5_check(H5Awrite(attribute.get(), type.get(), value.c_str()), path, name, "write attribute");
}

// The ratio-r tau and the median of `values` (copied: both sort).
std::string describe(std::vector<float> values, const std::vector<double>& ratios) {
  std::ostringstream line;
  std::vector<float> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  char text[64];
  std::snprintf(text, sizeof(text), "%8.4f", sorted[(sorted.size() - 1) / 2]);
  line << text;
  for (double r : ratios) {
    if (static_cast<int64_t>(r * static_cast<double>(values.size())) < 1) {
      line << "         -";
      continue;
    }
    std::snprintf(text, sizeof(text), " %9.4f", objectives::tau_from_topk_sums(values, r));
    line << text;
  }
  return line.str();
}

}  // namespace

void write_topk_statistics(const std::string& path, const TopkStatistics& s,
                           const std::string& model_dir, const std::string& data_path) {
  data::silence_hdf5_errors();
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  const std::string temporary = path + ".tmp";
  {
    auto file = data::h5_own(H5Fcreate(temporary.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT),
                             H5Fclose, temporary, "/", "create file");
    const auto n = static_cast<hsize_t>(s.p_target.size()), k = static_cast<hsize_t>(s.k.size());
    std::vector<int64_t> k_values(s.k.begin(), s.k.end());
    write_dataset(file.get(), temporary, "p_target", H5T_NATIVE_DOUBLE, s.p_target, {n});
    write_dataset(file.get(), temporary, "topk_sum", H5T_NATIVE_DOUBLE, s.topk_sum, {n, k});
    write_dataset(file.get(), temporary, "k", H5T_NATIVE_INT64, k_values, {k});
    write_dataset(file.get(), temporary, "sample_offsets", H5T_NATIVE_INT64, s.sample_offsets,
                  {s.sample_offsets.size()});
    write_dataset(file.get(), temporary, "target", H5T_NATIVE_INT32, s.target, {n});
    write_dataset(file.get(), temporary, "supervised", H5T_NATIVE_UINT8, s.supervised, {n});
    write_dataset(file.get(), temporary, "position", H5T_NATIVE_INT64, s.position, {n});
    write_string_attribute(file.get(), temporary, "format", "megasft-topk-stats");
    write_string_attribute(file.get(), temporary, "model", model_dir);
    write_string_attribute(file.get(), temporary, "data", data_path);
    data::h5_check(file.close(), temporary, "/", "close");
  }
  std::filesystem::rename(temporary, path);
}

std::string summarize_topk_statistics(const TopkStatistics& s, const std::vector<double>& ratios) {
  std::ostringstream out;
  const size_t n = s.p_target.size(), kinds = s.k.size();
  int64_t supervised = 0;
  for (auto m : s.supervised) supervised += m;
  out << n << " positions (" << supervised << " supervised) in " << s.sample_offsets.size() - 1
      << " samples";
  if (s.truncated_positions > 0)
    out << "; " << s.truncated_positions << " positions past --max-length skipped";
  out << "\n";
  if (n == 0) return out.str();
  double p_sum = 0;
  for (double p : s.p_target) p_sum += p;
  out << "mean p_target " << p_sum / static_cast<double>(n)
      << "; median top-k sum and the tau each ratio r gives:\n";
  for (int pass = 0; pass < 2; ++pass) {
    if (pass == 1 && supervised == 0) break;
    out << (pass == 0 ? "all positions" : "supervised positions") << ":\n    k   median";
    char text[64];
    for (double r : ratios) {
      std::snprintf(text, sizeof(text), "  tau(%.1f)", r);
      out << text;
    }
    out << "\n";
    for (size_t j = 0; j < kinds; ++j) {
      std::vector<float> values;
      for (size_t i = 0; i < n; ++i)
        if (pass == 0 || s.supervised[i])
          values.push_back(static_cast<float>(s.topk_sum[i * kinds + j]));
      std::snprintf(text, sizeof(text), "%5d ", s.k[j]);
      out << text << describe(std::move(values), ratios) << "\n";
    }
  }
  return out.str();
}

}  // namespace megasft::eval
