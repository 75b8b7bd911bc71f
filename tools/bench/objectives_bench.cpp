// Benchmark of the fused, chunked LM head + objective against the plain LibTorch composition
// (matmul, log_softmax, gather, topk; autograd backward), measured in the same run on this machine.
// Each configuration runs in a forked child so its peak resident memory is its own (getrusage).
// Reports forward+backward time (median) and the peak memory above the inputs, with the ratios the
// objectives issue asks for: SED time / CE time on the fused path, plain peak / fused peak.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <boost/program_options.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "megasft/objectives/fused_head_loss.h"
#include "parallel/communicator.h"

namespace {
namespace po = boost::program_options;
using megasft::objectives::ObjectiveKind;
using megasft::objectives::ObjectiveOptions;

struct Sizes {
  int64_t tokens, hidden, vocab, chunk;
  int repeats;
};

struct Measurement {
  double median_ms = 0;
  double peak_mib = 0;
};

double rss_now_mib() {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;
}

// The unfused reference: full [T, V] logits, log-probabilities, and autograd through all of it.
at::Tensor plain_loss(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& targets,
                      const ObjectiveOptions& o) {
  auto logits = at::matmul(hidden, weight.t());
  auto log_p = at::log_softmax(logits, 1);
  auto log_p_y = log_p.gather(1, targets.unsqueeze(1)).squeeze(1);
  auto loss = -log_p_y;
  if (o.kind == ObjectiveKind::kSed) {
    auto p = log_p_y.exp();
    auto topk_sum = std::get<0>(log_p.topk(o.top_k, 1)).exp().sum(1);
    auto mask = topk_sum.lt(o.tau).to(at::kFloat).detach();
    loss = loss + o.sed_lambda * mask * (p - 0.5).pow(2);
  }
  return loss.mean();
}

template <typename Body>
Measurement measure_in_child(const Sizes& s, Body body) {
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    at::manual_seed(0);
    auto hidden = (at::randn({s.tokens, s.hidden}) * 0.5).requires_grad_(true);
    auto weight = (at::randn({s.vocab, s.hidden}) * 0.05).requires_grad_(true);
    auto targets = at::randint(0, s.vocab, {s.tokens}, at::kLong);
    const double baseline = rss_now_mib();
    std::vector<double> times;
    for (int i = 0; i < s.repeats + 1; ++i) {  // the first run is a warm-up
      hidden.mutable_grad() = at::Tensor();
      weight.mutable_grad() = at::Tensor();
      const auto start = std::chrono::steady_clock::now();
      body(hidden, weight, targets).backward();
      const auto stop = std::chrono::steady_clock::now();
      if (i > 0) times.push_back(std::chrono::duration<double, std::milli>(stop - start).count());
    }
    std::sort(times.begin(), times.end());
    Measurement m{times[times.size() / 2], peak_rss_mib() - baseline};
    if (write(fds[1], &m, sizeof m) != sizeof m) _exit(1);
    _exit(0);
  }
  close(fds[1]);
  Measurement m;
  const bool ok = read(fds[0], &m, sizeof m) == sizeof m;
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!ok || !WIFEXITED(status) || WEXITSTATUS(status) != 0) throw std::runtime_error("benchmark child failed");
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  Sizes s{};
  int threads = 0;
  std::string markdown;
  po::options_description options("bench_objectives");
  options.add_options()
      ("help,h", "print this help")
      ("tokens", po::value(&s.tokens)->default_value(2048), "T: tokens per batch")
      ("hidden", po::value(&s.hidden)->default_value(512), "H: hidden size")
      ("vocab", po::value(&s.vocab)->default_value(32768), "V: vocabulary (TP = 1)")
      ("chunk", po::value(&s.chunk)->default_value(1024), "tokens per chunk of the fused head")
      ("repeats", po::value(&s.repeats)->default_value(3), "timed repetitions (median reported)")
      ("threads", po::value(&threads)->default_value(0), "intra-op threads (0: LibTorch's default)")
      ("markdown", po::value(&markdown), "also write the table to this file");
  po::variables_map vm;
  po::store(po::parse_command_line(argc, argv, options), vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::cout << options;
    return 0;
  }
  if (threads > 0) at::set_num_threads(threads);

  auto tp = megasft::parallel::make_single_rank_communicator("tp", 0);
  megasft::model::VocabShard shard{0, s.vocab, s.vocab, s.vocab};
  auto objective = [](ObjectiveKind kind) {
    ObjectiveOptions o;
    o.kind = kind;
    o.tau = 0.5;  // a fixed threshold: the cost of the mask does not depend on its value
    return o;
  };
  auto fused = [&](ObjectiveKind kind) {
    return measure_in_child(s, [&, o = objective(kind)](const at::Tensor& h, const at::Tensor& w, const at::Tensor& y) {
      return megasft::objectives::fused_vocab_parallel_head_loss(h, w, y, 1.0 / s.tokens, shard, tp, o, s.chunk).loss;
    });
  };
  auto plain = [&](ObjectiveKind kind) {
    return measure_in_child(s, [o = objective(kind)](const at::Tensor& h, const at::Tensor& w, const at::Tensor& y) {
      return plain_loss(h, w, y, o);
    });
  };

  struct Row {
    std::string path, objective;
    Measurement m;
  };
  std::vector<Row> rows;
  rows.push_back({"plain LibTorch", "ce", plain(ObjectiveKind::kCrossEntropy)});
  rows.push_back({"plain LibTorch", "sed", plain(ObjectiveKind::kSed)});
  for (auto [name, kind] : std::vector<std::pair<std::string, ObjectiveKind>>{
           {"ce", ObjectiveKind::kCrossEntropy}, {"sed", ObjectiveKind::kSed}, {"sed-nomask", ObjectiveKind::kSedNoMask},
           {"gem", ObjectiveKind::kGem}, {"dft", ObjectiveKind::kDft}})
    rows.push_back({"fused, chunked", name, fused(kind)});

  char line[256];
  std::string table;
  std::snprintf(line, sizeof line, "T = %ld tokens, H = %ld, V = %ld, TP = 1, chunk %ld, %d intra-op threads, median of %d\n\n",
                s.tokens, s.hidden, s.vocab, s.chunk, at::get_num_threads(), s.repeats);
  table += line;
  table += "| path | objective | fwd+bwd ms | peak MiB above inputs |\n|---|---|---:|---:|\n";
  for (const auto& r : rows) {
    std::snprintf(line, sizeof line, "| %s | %s | %.1f | %.1f |\n", r.path.c_str(), r.objective.c_str(), r.m.median_ms,
                  r.m.peak_mib);
    table += line;
  }
  const auto& plain_sed = rows[1].m;
  const auto& fused_ce = rows[2].m;
  const auto& fused_sed = rows[3].m;
  std::snprintf(line, sizeof line,
                "\nSED / CE time, fused path: %.3f (target <= 1.05)\n"
                "plain / fused peak memory, SED: %.1fx (target >= 4)\n"
                "fused SED / plain SED time: %.2f\n",
                fused_sed.median_ms / fused_ce.median_ms, plain_sed.peak_mib / std::max(fused_sed.peak_mib, 1e-9),
                fused_sed.median_ms / plain_sed.median_ms);
  table += line;
  std::cout << table;
  if (!markdown.empty()) std::ofstream(markdown) << table;
  return 0;
}
