// WorkerOutputs: where each worker's stdout and stderr go for one attempt: inherited from the
// launcher, a log file <log-dir>/<run-id>/attempt_<k>/<local_rank>/{stdout,stderr}.log, or a pipe
// that one reader thread copies to that file and to the console, each line prefixed "[rankN]:".
#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "launch/launch_config.h"
#include "launch/worker_process.h"

namespace megasft::launch {

// How long finish() keeps copying after the workers are gone: a process that left its worker's
// group may still hold a pipe open, and must not hang the launcher.
inline constexpr std::chrono::milliseconds kOutputDrainTimeout(1000);

// The attempt's folder: <log_dir>/<run_id>/attempt_<attempt>.
std::string attempt_log_dir(const std::string& log_dir, const std::string& run_id, int attempt);

class WorkerOutputs {
 public:
  // Creates the attempt's log folders and files (when --log-dir is given), the pipes for --tee,
  // and sets each worker's stdout_fd/stderr_fd. rank_offset turns local into global ranks.
  WorkerOutputs(const LaunchConfig& config, const std::string& run_id, int attempt, int rank_offset,
                std::vector<WorkerLaunch>& workers);
  ~WorkerOutputs();
  WorkerOutputs(const WorkerOutputs&) = delete;
  WorkerOutputs& operator=(const WorkerOutputs&) = delete;

  // Call once the workers are gone: closes the launcher's copies of the workers' ends, copies
  // what is left in the pipes (at most kOutputDrainTimeout) and stops the reader thread.
  void finish();

 private:
  struct TeeStream {
    int read_fd = -1;
    int file_fd = -1;     // also written raw, or -1
    int console_fd = -1;  // STDOUT_FILENO or STDERR_FILENO
    std::string prefix;   // "[rank3]:"
    std::string partial;  // the console line not yet ended by '\n'
  };

  int open_log_file(const std::string& path);
  void read_loop();
  void copy(TeeStream& stream, const char* data, size_t size);
  void end_stream(TeeStream& stream);

  std::vector<int> worker_ends_;  // fds handed to workers: files and pipe write ends
  std::vector<int> files_;        // log files the reader thread writes
  std::vector<TeeStream> tee_;
  int wake_[2] = {-1, -1};  // finish() writes a byte to start the bounded drain
  std::atomic<long long> drain_deadline_ns_{0};
  std::thread reader_;
  bool finished_ = false;
};

}  // namespace megasft::launch
