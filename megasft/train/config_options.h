// Options from the command line and a --config file (INI syntax of Boost.Program_options), the
// command line winning: shared by `megasft train` and `megasft grpo` / `rollout-filter`.
#pragma once

#include <boost/program_options.hpp>

#include <fstream>
#include <string>
#include <vector>

#include "kernels/check.h"

namespace megasft::train {

// The command line is stored first, so the config file only fills what it left unset. A stray
// argument or an unknown option is an error naming the command; an unknown key one naming the file.
inline boost::program_options::variables_map parse_command_line_and_config(
    const std::vector<std::string>& args, const boost::program_options::options_description& description,
    const std::string& command) {
  namespace po = boost::program_options;
  po::variables_map vm;
  try {
    const po::positional_options_description no_positionals;
    po::store(po::command_line_parser(args).options(description).positional(no_positionals).run(), vm);
  } catch (const po::error& e) {
    MEGASFT_FAIL("megasft ", command, ": ", e.what(), " (see megasft ", command, " --help)");
  }
  if (vm.count("config")) {
    const std::string path = vm["config"].as<std::string>();
    std::ifstream file(path);
    MEGASFT_CHECK(file.good(), "cannot open config file '", path, "'");
    try {
      po::store(po::parse_config_file(file, description, /*allow_unregistered=*/false), vm);
    } catch (const po::error& e) {
      MEGASFT_FAIL("config file '", path, "': ", e.what());
    }
  }
  po::notify(vm);
  return vm;
}

}  // namespace megasft::train
