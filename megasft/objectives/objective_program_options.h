// The objective's command-line and config-file options (--objective, --top-k, --sed-*, --tau, --gem-*),
// shared by every command that evaluates an objective so their spellings cannot drift apart.
#pragma once

#include <boost/program_options.hpp>

#include <string>

#include "megasft/objectives/objective_options.h"

namespace megasft::objectives {

class ObjectiveProgramOptions {
 public:
  // Values are stored into `target` (which must outlive this object) when the variables are notified.
  explicit ObjectiveProgramOptions(ObjectiveOptions& target);
  const boost::program_options::options_description& description() const { return description_; }
  // After po::notify: parses the names (--objective, --gem-h) and takes --tau when given.
  void finish(const boost::program_options::variables_map& vm);

 private:
  ObjectiveOptions& target_;
  std::string kind_name_;
  std::string gem_h_name_;
  boost::program_options::options_description description_{"Objective"};
};

}  // namespace megasft::objectives
