#include "launch/launch_config.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <optional>

#include "kernels/check.h"

namespace megasft::launch {
namespace {

// Integers only as plain decimal: "8x" or " 8" must not be read as 8 and silently launch the wrong
// job.
std::optional<long long> to_integer(const std::string& text) {
  long long value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

int parse_int(const std::string& option, const std::string& text, long long min, long long max,
              const char* expected) {
  std::optional<long long> value = to_integer(text);
  MEGASFT_CHECK(value && *value >= min && *value <= max, "invalid value '", text, "' for ", option,
                ": expected ", expected);
  return static_cast<int>(*value);
}

double parse_seconds(const std::string& option, const std::string& text) {
  char* end = nullptr;
  double value = text.empty() ? NAN : std::strtod(text.c_str(), &end);
  MEGASFT_CHECK(
      !text.empty() && end == text.c_str() + text.size() && std::isfinite(value) && value >= 0.0,
      "invalid value '", text, "' for ", option,
      ": expected a number of seconds >= 0 (e.g. 5 or 0.5)");
  return value;
}

// torchrun allows "--nnodes MIN:MAX" for elastic jobs; only a fixed single node is supported here.
int parse_nnodes(const std::string& option, const std::string& text) {
  std::string min_text = text, max_text = text;
  if (auto colon = text.find(':'); colon != std::string::npos) {
    min_text = text.substr(0, colon);
    max_text = text.substr(colon + 1);
  }
  std::optional<long long> min = to_integer(min_text), max = to_integer(max_text);
  MEGASFT_CHECK(min && max && *min >= 1 && *max >= *min, "invalid value '", text, "' for ", option,
                ": expected a node count N >= 1 (or MIN:MAX)");
  MEGASFT_CHECK(*min == 1 && *max == 1, "unsupported value '", text, "' for ", option,
                ": multi-node launch is not supported yet (only --nnodes 1)");
  return 1;
}

struct Option {
  const char* name;  // canonical spelling, with dashes
  bool takes_value;
  std::function<void(LaunchConfig&, const std::string& option, const std::string& value)> apply;
};

const std::vector<Option>& options() {
  static const std::vector<Option> table = {
      {"--nproc-per-node", true,
       [](LaunchConfig& c, const std::string& o, const std::string& v) {
         c.nproc_per_node = parse_int(o, v, 1, 1 << 16, "an integer >= 1");
       }},
      {"--nnodes", true,
       [](LaunchConfig& c, const std::string& o, const std::string& v) {
         c.nnodes = parse_nnodes(o, v);
       }},
      {"--node-rank", true,
       [](LaunchConfig& c, const std::string& o, const std::string& v) {
         c.node_rank = parse_int(o, v, 0, 1 << 20, "an integer >= 0");
         MEGASFT_CHECK(c.node_rank == 0, "unsupported value '", v, "' for ", o,
                       ": multi-node launch is not supported yet (only --node-rank 0)");
       }},
      {"--master-addr", true,
       [](LaunchConfig& c, const std::string& o, const std::string& v) {
         MEGASFT_CHECK(!v.empty(), "invalid value '' for ", o, ": expected a host name or address");
         c.master_addr = v;
       }},
      {"--master-port", true,
       [](LaunchConfig& c, const std::string& o, const std::string& v) {
         c.master_port = parse_int(o, v, 1, 65535, "a TCP port in [1, 65535]");
       }},
      {"--standalone", false,
       [](LaunchConfig& c, const std::string&, const std::string&) { c.standalone = true; }},
      {"--rdzv-id", true,
       [](LaunchConfig& c, const std::string& o, const std::string& v) {
         MEGASFT_CHECK(!v.empty(), "invalid value '' for ", o, ": expected a non-empty run id");
         c.rdzv_id = v;
       }},
      {"--grace-period", true,
       [](LaunchConfig& c, const std::string& o, const std::string& v) {
         c.grace_period_s = parse_seconds(o, v);
       }},
      // torchrun needs this to run a non-Python program; megasft-run always execs the program.
      {"--no-python", false, [](LaunchConfig&, const std::string&, const std::string&) {}},
      {"--help", false,
       [](LaunchConfig& c, const std::string&, const std::string&) { c.help = true; }},
  };
  return table;
}

const Option* find_option(const std::string& name) {
  for (const Option& option : options()) {
    if (name == option.name) return &option;
  }
  return nullptr;
}

}  // namespace

LaunchConfig parse_launch_args(const std::vector<std::string>& args) {
  LaunchConfig config;
  size_t i = 0;
  while (i < args.size()) {
    const std::string& arg = args[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg == "-h") {
      config.help = true;
      ++i;
      continue;
    }
    if (arg.size() < 2 || arg[0] != '-') break;  // the program; everything after belongs to it
    MEGASFT_CHECK(arg[1] == '-', "unknown option '", arg, "'");

    // --nproc_per_node and --nproc-per-node are the same option, as in torchrun.
    size_t eq = arg.find('=');
    std::string name = arg.substr(0, eq);
    for (size_t k = 2; k < name.size(); ++k) {
      if (name[k] == '_') name[k] = '-';
    }
    const Option* option = find_option(name);
    MEGASFT_CHECK(option != nullptr, "unknown option '", arg.substr(0, eq), "'");
    const std::string spelled = arg.substr(0, eq);
    std::string value;
    if (option->takes_value) {
      if (eq != std::string::npos) {
        value = arg.substr(eq + 1);
      } else {
        MEGASFT_CHECK(i + 1 < args.size(), "option ", spelled, " requires a value");
        value = args[++i];
      }
    } else {
      MEGASFT_CHECK(eq == std::string::npos, "option ", spelled, " takes no value (got '", arg,
                    "')");
    }
    option->apply(config, spelled, value);
    ++i;
  }
  config.program.assign(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
  MEGASFT_CHECK(config.help || !config.program.empty(),
                "missing program to run (usage: megasft-run [options] program [args...])");
  return config;
}

std::string launch_usage() {
  return "usage: megasft-run [options] program [program args...]\n"
         "\n"
         "Starts K copies of program on this node with torchrun's environment (RANK, LOCAL_RANK,\n"
         "WORLD_SIZE, MASTER_ADDR, MASTER_PORT, ...). If one worker fails, the others are sent\n"
         "SIGTERM, then SIGKILL after the grace period. SIGINT/SIGTERM are forwarded to workers.\n"
         "\n"
         "options (--opt value, --opt=value, and --opt_name spellings are accepted):\n"
         "  --nproc-per-node K     workers on this node (default 1)\n"
         "  --master-addr ADDR     address of rank 0's store (default 127.0.0.1)\n"
         "  --master-port PORT     port of rank 0's store (default 29500)\n"
         "  --standalone           use 127.0.0.1 and a free port picked by the launcher\n"
         "  --nnodes N             number of nodes (only 1 is supported yet)\n"
         "  --node-rank R          rank of this node (only 0 is supported yet)\n"
         "  --rdzv-id ID           run id exported as TORCHELASTIC_RUN_ID (default: generated)\n"
         "  --grace-period SECS    SIGTERM to SIGKILL delay when stopping workers (default 5)\n"
         "  --no-python            accepted for torchrun compatibility; programs are always "
         "exec'd\n"
         "  -h, --help             show this help\n"
         "\n"
         "exit status: 0 if all workers succeed, 1 if one fails, 2 on bad options,\n"
         "128+N if megasft-run received signal N.\n";
}

}  // namespace megasft::launch
