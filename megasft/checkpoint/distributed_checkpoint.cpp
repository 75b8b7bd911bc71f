// Save and load of distributed checkpoints. Serial HDF5: writers take turns on one file (a barrier
// per rank); readers open it together. Every rank validates what it reads and the ranks agree on
// the outcome, so a corrupt checkpoint is skipped by all of them or by none.
#include "megasft/checkpoint/distributed_checkpoint.h"

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "kernels/check.h"
#include "kernels/nvtx_range.h"
#include "megasft/checkpoint/hdf5_tensor_file.h"

namespace megasft::checkpoint {
namespace fs = std::filesystem;

namespace {

constexpr int kFormatVersion = 1;
constexpr const char* kTensorFile = "model_optim.h5";
constexpr const char* kMetadataFile = "metadata.json";
const char* const kStateKinds[3] = {"optimizer/master/", "optimizer/exp_avg/", "optimizer/exp_avg_sq/"};

std::string iteration_name(int64_t step) {
  char name[32];
  std::snprintf(name, sizeof name, "iter_%07ld", static_cast<long>(step));
  return name;
}

void write_file_atomically(const fs::path& path, const std::string& text) {
  const fs::path temporary = path.string() + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << text;
    out.flush();
    MEGASFT_CHECK(out.good(), "cannot write '", temporary.string(), "'");
  }
  fs::rename(temporary, path);
}

// Completed checkpoints under root, newest first.
std::vector<fs::path> iterations_newest_first(const fs::path& root) {
  std::vector<fs::path> found;
  if (!fs::is_directory(root)) return found;
  for (const auto& entry : fs::directory_iterator(root)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory() && name.rfind("iter_", 0) == 0 && name.find(".tmp") == std::string::npos)
      found.push_back(entry.path());
  }
  std::sort(found.begin(), found.end(), [](const fs::path& a, const fs::path& b) { return a.filename() > b.filename(); });
  return found;
}

// Fault injection for the crash-safety test: MEGASFT_FAULT_KILL_IN_SAVE=<step> makes the writer die
// (SIGKILL, no clean-up) halfway through writing that step's checkpoint.
void inject_kill_during_save(int64_t step) {
  const char* value = std::getenv("MEGASFT_FAULT_KILL_IN_SAVE");
  if (value && std::to_string(step) == value) std::raise(SIGKILL);
}

// Where this rank's shard of `p` lies in the logical tensor, along which dimension.
int64_t slab_dim(const parallel::Parameter& p) { return p.is_tensor_parallel() ? p.partition_dim : 0; }

void write_parameter(Hdf5TensorFile& file, const std::string& name, const parallel::Parameter& p,
                     const at::Tensor& local, int tp_rank, int tp_size) {
  file.create(name, p.logical_shape());
  const int64_t dim = slab_dim(p);
  for (const auto& slice : parallel::tensor_parallel_slices(p, tp_rank, tp_size))
    file.write_slab(name, dim, slice.logical_offset, local.narrow(dim, slice.local_offset, slice.length));
}

at::Tensor read_parameter(const Hdf5TensorFile& file, const std::string& name, const parallel::Parameter& p,
                          int tp_rank, int tp_size) {
  const auto expected = p.logical_shape();
  const auto stored = file.shape(name);
  MEGASFT_CHECK(stored == expected, "checkpoint '", file.path(), "': tensor '", name, "' has shape ",
                at::IntArrayRef(stored), ", this model expects ", at::IntArrayRef(expected));
  auto local = at::zeros(p.value.sizes(), at::kFloat);  // padding rows stay zero
  const int64_t dim = slab_dim(p);
  for (const auto& slice : parallel::tensor_parallel_slices(p, tp_rank, tp_size))
    local.narrow(dim, slice.local_offset, slice.length).copy_(file.read_slab(name, dim, slice.logical_offset, slice.length));
  return local;
}

TrainingProgress read_metadata(const fs::path& dir) {
  const fs::path path = dir / kMetadataFile;
  std::ifstream in(path);
  MEGASFT_CHECK(in.good(), "checkpoint '", dir.string(), "' has no ", kMetadataFile);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    MEGASFT_FAIL("checkpoint metadata '", path.string(), "' is not valid JSON: ", e.what());
  }
  TrainingProgress progress;
  try {
    MEGASFT_CHECK(j.at("format_version").get<int>() == kFormatVersion, "checkpoint metadata '", path.string(),
                  "': format_version ", j.at("format_version"), " is not ", kFormatVersion);
    progress.step = j.at("step").get<int64_t>();
    progress.consumed_samples = j.at("consumed_samples").get<int64_t>();
    progress.tokens_seen = j.at("tokens_seen").get<int64_t>();
    if (!j.at("tau").is_null()) progress.tau = j.at("tau").get<double>();
    progress.options = j.value("options", nlohmann::json::object());
    progress.model_config = j.value("model_config", nlohmann::json());
    progress.layout = j.value("layout", "");
    progress.optimizer_steps = j.value("optimizer_steps", progress.step);
    const auto size = j.at("tensor_file_bytes").get<uintmax_t>();
    const fs::path tensors = dir / kTensorFile;
    MEGASFT_CHECK(fs::exists(tensors) && fs::file_size(tensors) == size, "checkpoint file '", tensors.string(),
                  "' has ", fs::exists(tensors) ? fs::file_size(tensors) : 0, " bytes, its metadata says ", size,
                  ": truncated or replaced");
  } catch (const nlohmann::json::exception& e) {
    MEGASFT_FAIL("checkpoint metadata '", path.string(), "': a field is missing or has the wrong type: ", e.what());
  }
  return progress;
}

}  // namespace

TrainingProgress read_checkpoint_metadata(const std::string& path) {
  fs::path dir = path;
  if (!fs::exists(dir / kMetadataFile) && fs::exists(dir / "latest")) {
    std::ifstream in(dir / "latest");
    std::string name;
    in >> name;
    dir /= name;
  }
  return read_metadata(dir);
}

DistributedCheckpointer::DistributedCheckpointer(const parallel::ParallelState& state, int keep)
    : state_(state), keep_(keep) {
  MEGASFT_CHECK(keep >= 1, "--keep must be at least 1, got ", keep);
}

bool DistributedCheckpointer::has_checkpoint(const std::string& root) {
  return fs::exists(fs::path(root) / kMetadataFile) || !iterations_newest_first(root).empty();
}

void DistributedCheckpointer::save(const std::string& root, const TrainingProgress& progress,
                                   const parallel::ParameterList& parameters,
                                   const optim::DistributedOptimizer& optimizer) {
  NvtxRange range("checkpoint_save");
  const auto& world = state_.world();
  const auto optimizer_state = optimizer.gather_state();  // collective over DP
  const fs::path final_dir = fs::path(root) / iteration_name(progress.step);
  const fs::path temporary = final_dir.string() + ".tmp";
  const fs::path tensor_path = temporary / kTensorFile;
  if (state_.is_first_rank()) {
    fs::create_directories(root);
    for (const auto& entry : fs::directory_iterator(root))
      if (entry.path().filename().string().find(".tmp") != std::string::npos)
        fs::remove_all(entry.path());  // leftovers of a save that was killed
    fs::create_directories(temporary);
    Hdf5TensorFile(tensor_path.string(), Hdf5TensorFile::Mode::kCreate).close();
  }
  const bool writer = state_.dp_rank() == 0;
  const int tp_rank = state_.tp_rank(), tp_size = state_.layout().tp;
  for (int turn = 0; turn < world->size(); ++turn) {
    world->barrier();
    if (turn != state_.global_rank() || !writer) continue;
    Hdf5TensorFile file(tensor_path.string(), Hdf5TensorFile::Mode::kReadWrite);
    for (size_t i = 0; i < parameters.size(); ++i) {
      const auto& p = parameters[i];
      if (p.is_duplicate || (!p.is_tensor_parallel() && tp_rank != 0)) continue;
      write_parameter(file, "model/" + p.name, p, p.value, tp_rank, tp_size);
      const at::Tensor* states[3] = {&optimizer_state[i].master, &optimizer_state[i].exp_avg,
                                     &optimizer_state[i].exp_avg_sq};
      for (int k = 0; k < 3; ++k) write_parameter(file, kStateKinds[k] + p.name, p, *states[k], tp_rank, tp_size);
      if (i == 0) inject_kill_during_save(progress.step);
    }
    file.close();
  }
  world->barrier();
  if (state_.is_first_rank()) {
    nlohmann::json metadata = {{"format_version", kFormatVersion},
                               {"step", progress.step},
                               {"consumed_samples", progress.consumed_samples},
                               {"tokens_seen", progress.tokens_seen},
                               {"tau", std::isnan(progress.tau) ? nlohmann::json(nullptr) : nlohmann::json(progress.tau)},
                               {"layout", progress.layout},
                               {"options", progress.options},
                               {"model_config", progress.model_config},
                               {"optimizer_steps", optimizer.steps_taken()},
                               {"tensor_file_bytes", fs::file_size(tensor_path)}};
    write_file_atomically(temporary / kMetadataFile, metadata.dump(2));
    if (fs::exists(final_dir)) fs::remove_all(final_dir);
    fs::rename(temporary, final_dir);
    write_file_atomically(fs::path(root) / "latest", iteration_name(progress.step) + "\n");
    auto completed = iterations_newest_first(root);
    for (size_t i = static_cast<size_t>(keep_); i < completed.size(); ++i) fs::remove_all(completed[i]);
  }
  world->barrier();
}

TrainingProgress DistributedCheckpointer::load(const std::string& path, bool fallback,
                                               const parallel::ParameterList& parameters,
                                               optim::DistributedOptimizer& optimizer) {
  return load_impl(path, fallback, parameters, &optimizer);
}

TrainingProgress DistributedCheckpointer::load_weights(const std::string& path, const parallel::ParameterList& parameters) {
  return load_impl(path, /*fallback=*/false, parameters, nullptr);
}

TrainingProgress DistributedCheckpointer::load_impl(const std::string& path, bool fallback,
                                                    const parallel::ParameterList& parameters,
                                                    optim::DistributedOptimizer* optimizer) {
  NvtxRange range("checkpoint_load");
  std::vector<fs::path> candidates;
  if (fs::exists(fs::path(path) / kMetadataFile)) {
    candidates.push_back(path);
  } else {
    const fs::path latest = fs::path(path) / "latest";
    if (fs::exists(latest)) {
      std::ifstream in(latest);
      std::string name;
      in >> name;
      candidates.push_back(fs::path(path) / name);
    }
    for (const auto& dir : iterations_newest_first(path))
      if (candidates.empty() || dir != candidates.front()) candidates.push_back(dir);
  }
  MEGASFT_CHECK(!candidates.empty(), "no checkpoint in '", path, "' (neither an iter_N directory nor a root with one)");
  if (!fallback) candidates.resize(1);

  const int tp_rank = state_.tp_rank(), tp_size = state_.layout().tp;
  std::string failure;
  for (const auto& dir : candidates) {
    TrainingProgress progress;
    std::vector<at::Tensor> values;
    std::vector<optim::DistributedOptimizer::ParameterState> states;
    failure.clear();
    try {
      progress = read_metadata(dir);
      Hdf5TensorFile file((dir / kTensorFile).string(), Hdf5TensorFile::Mode::kRead);
      for (const auto& p : parameters) {
        values.push_back(read_parameter(file, "model/" + p.name, p, tp_rank, tp_size));
        if (optimizer)
          states.push_back({read_parameter(file, kStateKinds[0] + p.name, p, tp_rank, tp_size),
                          read_parameter(file, kStateKinds[1] + p.name, p, tp_rank, tp_size),
                          read_parameter(file, kStateKinds[2] + p.name, p, tp_rank, tp_size)});
      }
    } catch (const std::exception& e) {
      failure = e.what();
    }
    // Every rank read different slices: they all take this checkpoint, or none does.
    auto ok = at::full({1}, failure.empty() ? 1.0 : 0.0, at::kDouble);
    state_.world()->all_reduce(ok, parallel::ReduceOp::kSum);
    const bool all_ok = ok.item<double>() == state_.world_size();
    if (all_ok) {
      at::NoGradGuard no_grad;
      for (size_t i = 0; i < parameters.size(); ++i) parameters[i].value.detach().copy_(values[i]);
      if (optimizer) optimizer->load_state(states, progress.optimizer_steps);
      return progress;
    }
    if (!failure.empty())
      std::cerr << "megasft [rank " << state_.global_rank() << "]: checkpoint '" << dir.string()
                << "' cannot be loaded: " << failure << std::endl;
    if (!fallback) break;
    if (state_.is_first_rank())
      std::cerr << "megasft: warning: skipping checkpoint '" << dir.string() << "', trying an older one" << std::endl;
  }
  MEGASFT_FAIL("no loadable checkpoint in '", path, "'", failure.empty() ? "" : ": ", failure);
}

}  // namespace megasft::checkpoint
