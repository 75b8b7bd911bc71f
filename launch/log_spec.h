// LogSpec: which standard streams of which local rank are captured (--redirects) or copied to the
// console with a rank prefix (--tee), with torchrun's values: 0 none, 1 stdout, 2 stderr, 3 both.
#pragma once

#include <map>
#include <string>

namespace megasft::launch {

// Bit mask of standard streams, as torchrun's Std enum.
enum StdStreams : int { kNoStreams = 0, kStdout = 1, kStderr = 2, kBothStreams = 3 };

// One --redirects or --tee value: a mask for every local rank ("3"), or a mask per local rank
// ("0:1,1:2"), where unlisted local ranks get none, as in torchrun.
struct StreamSelection {
  int all = kNoStreams;
  std::map<int, int> per_local_rank;  // non-empty only for the per-rank form

  int for_local_rank(int local_rank) const;
  // The largest local rank named by the per-rank form, -1 if none.
  int max_named_local_rank() const;
  bool any() const;
};

// Parses "N" or "R:N[,R:N...]"; option names the flag or variable in error messages.
StreamSelection parse_stream_selection(const std::string& option, const std::string& text);

}  // namespace megasft::launch
