// The launcher's agent (torchrun's LocalElasticAgent): joins each attempt of the job, runs this
// node's workers, tells the other nodes how they ended, and restarts the whole job while
// --max-restarts allows. Returns megasft-run's exit status.
#pragma once

#include "launch/launch_config.h"

namespace megasft::launch {

// megasft-run's exit statuses (and 128 + N when the launcher received signal N).
inline constexpr int kExitSuccess = 0;
inline constexpr int kExitJobFailed = 1;  // a worker failed, no restarts left; or another node
                                          // ended the job (signal, lost store, launcher error)
inline constexpr int kExitUsage = 2;
inline constexpr int kExitRendezvous = 3;  // the launchers could not meet (timeout, mismatch)

// Runs the job described by config to its end. Throws megasft::Error only for failures of the
// launcher itself before any worker ran (exit 1).
int run_job(const LaunchConfig& config);

}  // namespace megasft::launch
