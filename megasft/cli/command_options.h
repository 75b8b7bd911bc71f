// Parsing of a subcommand's options, the same for every command: stray positional arguments and
// unknown options are errors that name the command and point to its --help.
#pragma once

#include <boost/program_options.hpp>

#include <string>

#include "kernels/check.h"
#include "megasft/cli/commands.h"

namespace megasft::cli {

inline boost::program_options::variables_map parse_command_options(
    const Args& args, const boost::program_options::options_description& options, const std::string& command) {
  namespace po = boost::program_options;
  po::variables_map vm;
  try {
    const po::positional_options_description no_positionals;  // a stray argument is an error
    po::store(po::command_line_parser(args).options(options).positional(no_positionals).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    MEGASFT_FAIL("megasft ", command, ": ", e.what(), " (see megasft ", command, " --help)");
  }
  return vm;
}

}  // namespace megasft::cli
