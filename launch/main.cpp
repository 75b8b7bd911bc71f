// megasft-run: a torchrun-compatible launcher, for one node or many (one launcher per node).
// Exit status (agent.h): 0 success, 1 job failed, 2 bad options, 3 rendezvous failed, 128+N signal.
#include <unistd.h>

#include <exception>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "kernels/check.h"
#include "launch/agent.h"
#include "launch/launch_config.h"

namespace launch = megasft::launch;

namespace {

std::thread::id main_thread;

// LibTorch 1.13's TCPStore client thread throws (so std::terminate runs) when the store's server
// resets the connection, i.e. when node 0's launcher died. Say so and exit 1 like any failed job
// instead of aborting; this node's workers die with the launcher (PR_SET_PDEATHSIG).
[[noreturn]] void on_terminate() {
  std::string what = "no exception";
  if (std::exception_ptr error = std::current_exception()) {
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
      what = "an unknown exception";
    }
  }
  std::string line = "megasft-run: fatal: " + what;
  if (std::this_thread::get_id() != main_thread) {
    line += " in a background thread: lost contact with node 0's launcher (its store went away)";
  }
  line += "; exiting, this node's workers are killed\n";
  [[maybe_unused]] ssize_t ignored = write(STDERR_FILENO, line.data(), line.size());
  _exit(launch::kExitJobFailed);
}

}  // namespace

int main(int argc, char** argv) {
  main_thread = std::this_thread::get_id();
  std::set_terminate(on_terminate);
  launch::LaunchConfig config;
  try {
    config = launch::parse_launch_command(std::vector<std::string>(argv + 1, argv + argc),
                                          launch::environment_map());
  } catch (const megasft::Error& e) {
    std::cerr << "megasft-run: error: " << e.what() << "\n"
              << "Try 'megasft-run --help' for more information." << std::endl;
    return launch::kExitUsage;
  }
  if (config.help) {
    std::cout << launch::launch_usage();
    return launch::kExitSuccess;
  }
  for (const std::string& note : config.notes) std::cerr << "megasft-run: " << note << std::endl;

  try {
    return launch::run_job(config);
  } catch (const megasft::Error& e) {
    std::cerr << "megasft-run: error: " << e.what() << std::endl;
    return launch::kExitJobFailed;
  }
}
