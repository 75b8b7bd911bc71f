#include "launch/worker_output.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "kernels/check.h"

namespace megasft::launch {
namespace {

using Clock = std::chrono::steady_clock;

// A console line longer than this is printed in pieces rather than buffered without bound.
constexpr size_t kMaxConsoleLine = 64 * 1024;
constexpr size_t kReadChunk = 64 * 1024;

void write_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // a full disk or closed console must not stop the workers
    data += n;
    size -= static_cast<size_t>(n);
  }
}

void close_fd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

}  // namespace

std::string attempt_log_dir(const std::string& log_dir, const std::string& run_id, int attempt) {
  return log_dir + "/" + run_id + "/attempt_" + std::to_string(attempt);
}

int WorkerOutputs::open_log_file(const std::string& path) {
  // O_TRUNC: a rerun with the same --rdzv-id replaces that attempt's logs, it does not mix them.
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  MEGASFT_CHECK(fd >= 0, "cannot open worker log file ", path, ": ", std::strerror(errno));
  return fd;
}

WorkerOutputs::WorkerOutputs(const LaunchConfig& config, const std::string& run_id, int attempt,
                             int rank_offset, std::vector<WorkerLaunch>& workers) {
  const std::string dir =
      config.log_dir.empty() ? "" : attempt_log_dir(config.log_dir, run_id, attempt);
  for (WorkerLaunch& worker : workers) {
    const std::string rank_dir = dir + "/" + std::to_string(worker.local_rank);
    if (!dir.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(rank_dir, ec);
      MEGASFT_CHECK(!ec, "cannot create worker log folder ", rank_dir,
                    " (--log-dir): ", ec.message());
    }
    const int to_file = config.file_streams(worker.local_rank);
    const int to_console = config.tee.for_local_rank(worker.local_rank);
    for (int stream : {kStdout, kStderr}) {
      const std::string path = rank_dir + (stream == kStdout ? "/stdout.log" : "/stderr.log");
      int& worker_fd = stream == kStdout ? worker.stdout_fd : worker.stderr_fd;
      if ((to_console & stream) == 0) {
        if ((to_file & stream) != 0) worker_ends_.push_back(worker_fd = open_log_file(path));
        continue;
      }
      int fds[2];
      MEGASFT_CHECK(pipe2(fds, O_CLOEXEC) == 0,
                    "cannot create a pipe for --tee: ", std::strerror(errno));
      worker_ends_.push_back(worker_fd = fds[1]);
      TeeStream tee;
      tee.read_fd = fds[0];
      if ((to_file & stream) != 0) files_.push_back(tee.file_fd = open_log_file(path));
      tee.console_fd = stream == kStdout ? STDOUT_FILENO : STDERR_FILENO;
      tee.prefix = "[rank" + std::to_string(rank_offset + worker.local_rank) + "]:";
      tee_.push_back(std::move(tee));
    }
  }
  if (tee_.empty()) return;
  MEGASFT_CHECK(pipe2(wake_, O_CLOEXEC) == 0, "cannot create a pipe: ", std::strerror(errno));
  // The thread inherits the launcher's blocked signals (SignalWatch exists before any attempt).
  reader_ = std::thread([this] { read_loop(); });
}

WorkerOutputs::~WorkerOutputs() {
  finish();
  for (int& fd : worker_ends_) close_fd(fd);
  for (int& fd : files_) close_fd(fd);
  for (TeeStream& stream : tee_) close_fd(stream.read_fd);
  close_fd(wake_[0]);
  close_fd(wake_[1]);
}

void WorkerOutputs::finish() {
  if (finished_) return;
  finished_ = true;
  // Without the launcher's copies of the write ends, a pipe reports EOF once its worker is gone.
  for (int& fd : worker_ends_) close_fd(fd);
  if (!reader_.joinable()) return;
  drain_deadline_ns_ = std::chrono::duration_cast<std::chrono::nanoseconds>(
                           (Clock::now() + kOutputDrainTimeout).time_since_epoch())
                           .count();
  char byte = 1;
  write_all(wake_[1], &byte, 1);
  reader_.join();
}

void WorkerOutputs::copy(TeeStream& stream, const char* data, size_t size) {
  if (stream.file_fd >= 0) write_all(stream.file_fd, data, size);
  stream.partial.append(data, size);
  size_t start = 0;
  while (true) {
    size_t newline = stream.partial.find('\n', start);
    if (newline == std::string::npos) break;
    // One write per line keeps lines of different ranks from interleaving mid-line.
    std::string line = stream.prefix + stream.partial.substr(start, newline + 1 - start);
    write_all(stream.console_fd, line.data(), line.size());
    start = newline + 1;
  }
  stream.partial.erase(0, start);
  if (stream.partial.size() >= kMaxConsoleLine) {
    std::string piece = stream.prefix + stream.partial + "\n";
    write_all(stream.console_fd, piece.data(), piece.size());
    stream.partial.clear();
  }
}

void WorkerOutputs::end_stream(TeeStream& stream) {
  if (!stream.partial.empty()) {
    std::string last = stream.prefix + stream.partial + "\n";
    write_all(stream.console_fd, last.data(), last.size());
    stream.partial.clear();
  }
  close_fd(stream.read_fd);
}

void WorkerOutputs::read_loop() {
  std::vector<char> buffer(kReadChunk);
  bool draining = false;
  while (true) {
    std::vector<pollfd> fds;
    std::vector<TeeStream*> owners;
    for (TeeStream& stream : tee_) {
      if (stream.read_fd < 0) continue;
      fds.push_back({stream.read_fd, POLLIN, 0});
      owners.push_back(&stream);
    }
    if (fds.empty()) break;  // every worker's pipe reached EOF
    if (!draining) fds.push_back({wake_[0], POLLIN, 0});
    int timeout_ms = -1;
    if (draining) {
      auto left =
          std::chrono::nanoseconds(drain_deadline_ns_.load()) - Clock::now().time_since_epoch();
      timeout_ms = static_cast<int>(std::max<long long>(
          0, std::chrono::duration_cast<std::chrono::milliseconds>(left).count()));
    }
    int ready = poll(fds.data(), fds.size(), timeout_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) break;  // the drain deadline passed (or poll failed): give up on the rest
    if (!draining && (fds.back().revents & POLLIN) != 0) draining = true;
    for (size_t i = 0; i < owners.size(); ++i) {
      if (fds[i].revents == 0) continue;
      ssize_t n = read(owners[i]->read_fd, buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        end_stream(*owners[i]);
      } else {
        copy(*owners[i], buffer.data(), static_cast<size_t>(n));
      }
    }
  }
  for (TeeStream& stream : tee_) {
    if (stream.read_fd >= 0) end_stream(stream);
  }
}

}  // namespace megasft::launch
