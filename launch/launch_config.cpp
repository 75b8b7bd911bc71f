#include "launch/launch_config.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <functional>

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

double parse_seconds(const std::string& option, const std::string& text, bool allow_zero) {
  char* end = nullptr;
  double value = text.empty() ? NAN : std::strtod(text.c_str(), &end);
  MEGASFT_CHECK(!text.empty() && end == text.c_str() + text.size() && std::isfinite(value) &&
                    (allow_zero ? value >= 0.0 : value > 0.0),
                "invalid value '", text, "' for ", option, ": expected a number of seconds ",
                allow_zero ? ">= 0" : "> 0", " (e.g. 5 or 0.5)");
  return value;
}

std::string non_empty(const std::string& option, const std::string& text, const char* what) {
  MEGASFT_CHECK(!text.empty(), "invalid value '' for ", option, ": expected ", what);
  return text;
}

// torchrun's elastic "--nnodes MIN:MAX" is accepted; the world is fixed at MAX nodes.
void parse_nnodes(LaunchConfig& c, const std::string& option, const std::string& text) {
  std::string min_text = text, max_text = text;
  if (auto colon = text.find(':'); colon != std::string::npos) {
    min_text = text.substr(0, colon);
    max_text = text.substr(colon + 1);
  }
  std::optional<long long> min = to_integer(min_text), max = to_integer(max_text);
  MEGASFT_CHECK(min && max && *min >= 1 && *max >= *min && *max <= (1 << 20), "invalid value '",
                text, "' for ", option, ": expected a node count N >= 1 (or MIN:MAX)");
  c.nnodes = static_cast<int>(*max);
  c.nnodes_min = static_cast<int>(*min);
}

// HOST:PORT, HOST (torchrun's c10d port), or [IPv6]:PORT.
void parse_endpoint(LaunchConfig& c, const std::string& option, const std::string& text) {
  std::string host = text, port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    MEGASFT_CHECK(close != std::string::npos, "invalid value '", text, "' for ", option,
                  ": unclosed '[' in an IPv6 address");
    host = text.substr(1, close - 1);
    std::string rest = text.substr(close + 1);
    MEGASFT_CHECK(rest.empty() || rest.front() == ':', "invalid value '", text, "' for ", option,
                  ": expected [ADDRESS]:PORT");
    if (!rest.empty()) port = rest.substr(1);
  } else if (size_t colon = text.find(':'); colon != std::string::npos) {
    MEGASFT_CHECK(text.find(':', colon + 1) == std::string::npos, "invalid value '", text, "' for ",
                  option, ": write an IPv6 address as [ADDRESS]:PORT");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  MEGASFT_CHECK(!host.empty(), "invalid value '", text, "' for ", option,
                ": expected HOST:PORT (e.g. node01:29400)");
  std::optional<long long> number = port.empty() ? kDefaultRdzvPort : to_integer(port);
  MEGASFT_CHECK(number && *number >= 1 && *number <= 65535, "invalid value '", text, "' for ",
                option, ": expected HOST:PORT with a TCP port in [1, 65535]");
  c.rdzv_host = host;
  c.rdzv_port = static_cast<int>(*number);
}

// Flags take "1" from the command line; from the environment any of these spellings.
std::string parse_flag(const std::string& option, const std::string& text) {
  for (const char* yes : {"1", "true", "yes", "on"}) {
    if (text == yes) return "1";
  }
  for (const char* no : {"", "0", "false", "no", "off"}) {
    if (text == no) return "0";
  }
  MEGASFT_FAIL("invalid value '", text, "' for ", option,
               ": expected 1/true/yes/on or 0/false/no/off");
}

using Apply = std::function<void(LaunchConfig&, const std::string& option, const std::string& v)>;

struct Option {
  const char* name;  // canonical spelling, with dashes
  bool takes_value;
  bool from_env;  // may be set by MEGASFT_RUN_<NAME>
  Apply apply;
};

const std::vector<Option>& options() {
  using C = LaunchConfig;
  using S = const std::string&;
  static const std::vector<Option> table = {
      {"--nproc-per-node", true, true,
       [](C& c, S o, S v) { c.nproc_per_node = parse_int(o, v, 1, 1 << 16, "an integer >= 1"); }},
      {"--nnodes", true, true, [](C& c, S o, S v) { parse_nnodes(c, o, v); }},
      {"--node-rank", true, true,
       [](C& c, S o, S v) { c.node_rank = parse_int(o, v, 0, 1 << 20, "an integer >= 0"); }},
      {"--master-addr", true, true,
       [](C& c, S o, S v) { c.master_addr = non_empty(o, v, "a host name or address"); }},
      {"--master-port", true, true,
       [](C& c, S o, S v) {
         c.master_port = parse_int(o, v, 1, 65535, "a TCP port in [1, 65535]");
       }},
      {"--rdzv-endpoint", true, true, [](C& c, S o, S v) { parse_endpoint(c, o, v); }},
      {"--rdzv-backend", true, true,
       [](C&, S o, S v) {
         // Both mean "a store hosted by node 0's launcher" here; etcd is not available.
         MEGASFT_CHECK(v == "c10d" || v == "static", "unsupported value '", v, "' for ", o,
                       ": megasft-run's rendezvous is c10d's TCPStore (use c10d or static)");
       }},
      {"--rdzv-id", true, true,
       [](C& c, S o, S v) { c.rdzv_id = non_empty(o, v, "a non-empty run id"); }},
      {"--rdzv-timeout", true, true,
       [](C& c, S o, S v) { c.rdzv_timeout_s = parse_seconds(o, v, false); }},
      {"--max-restarts", true, true,
       [](C& c, S o, S v) { c.max_restarts = parse_int(o, v, 0, 1 << 20, "an integer >= 0"); }},
      {"--monitor-interval", true, true,
       [](C& c, S o, S v) { c.monitor_interval_s = parse_seconds(o, v, false); }},
      {"--log-dir", true, true, [](C& c, S o, S v) { c.log_dir = non_empty(o, v, "a directory"); }},
      {"--redirects", true, true,
       [](C& c, S o, S v) { c.redirects = parse_stream_selection(o, v); }},
      {"--tee", true, true, [](C& c, S o, S v) { c.tee = parse_stream_selection(o, v); }},
      {"--standalone", false, true, [](C& c, S, S v) { c.standalone = v == "1"; }},
      {"--grace-period", true, true,
       [](C& c, S o, S v) { c.grace_period_s = parse_seconds(o, v, true); }},
      // torchrun needs this to run a non-Python program; megasft-run always execs the program.
      {"--no-python", false, true, [](C&, S, S) {}},
      {"--help", false, false, [](C& c, S, S) { c.help = true; }},
  };
  return table;
}

const Option* find_option(const std::string& name) {
  for (const Option& option : options()) {
    if (name == option.name) return &option;
  }
  return nullptr;
}

void apply_cluster_defaults(LaunchConfig& config, const ClusterDefaults& cluster) {
  if (cluster.source.empty()) return;
  if (cluster.nnodes) config.nnodes = config.nnodes_min = *cluster.nnodes;
  if (cluster.node_rank) config.node_rank = *cluster.node_rank;
  if (cluster.master_addr) config.master_addr = *cluster.master_addr;
  if (cluster.master_port) config.master_port = *cluster.master_port;
  if (cluster.run_id) config.rdzv_id = *cluster.run_id;
  config.notes.push_back(cluster.describe());
}

// MEGASFT_RUN_NPROC_PER_NODE=8 acts as --nproc-per-node 8. An unknown name is an error: a typo
// must not silently launch a different job.
void apply_environment(LaunchConfig& config, const EnvMap& env) {
  const std::string prefix = kEnvPrefix;
  for (const auto& [variable, value] : env) {
    if (variable.compare(0, prefix.size(), prefix) != 0) continue;
    std::string name = "--";
    for (char ch : variable.substr(prefix.size())) {
      name += ch == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    }
    const Option* option = find_option(name);
    MEGASFT_CHECK(option != nullptr && option->from_env, "unknown variable ", variable,
                  " in the environment (", name, " is not an option megasft-run reads from ",
                  prefix, "*)");
    option->apply(config, variable, option->takes_value ? value : parse_flag(variable, value));
  }
}

size_t apply_command_line(LaunchConfig& config, const std::vector<std::string>& args) {
  size_t i = 0;
  while (i < args.size()) {
    const std::string& arg = args[i];
    if (arg == "--") return i + 1;
    if (arg == "-h") {
      config.help = true;
      ++i;
      continue;
    }
    if (arg.size() < 2 || arg[0] != '-') return i;  // the program; the rest belongs to it
    MEGASFT_CHECK(arg[1] == '-', "unknown option '", arg, "'");

    // --nproc_per_node and --nproc-per-node are the same option, as in torchrun.
    size_t eq = arg.find('=');
    std::string name = arg.substr(0, eq);
    for (size_t k = 2; k < name.size(); ++k) {
      if (name[k] == '_') name[k] = '-';
    }
    const Option* option = find_option(name);
    const std::string spelled = arg.substr(0, eq);
    MEGASFT_CHECK(option != nullptr, "unknown option '", spelled, "'");
    std::string value = "1";
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
  return i;
}

// Checks that need several options together, once every layer is applied.
void validate(LaunchConfig& c) {
  MEGASFT_CHECK(!c.program.empty(),
                "missing program to run (usage: megasft-run [options] program [args...])");
  MEGASFT_CHECK(c.node_rank < c.nnodes, "--node-rank ", c.node_rank, " must be below --nnodes ",
                c.nnodes, " (node ranks are 0..", c.nnodes - 1, ")");
  MEGASFT_CHECK(!c.standalone || c.nnodes == 1,
                "--standalone runs one node on 127.0.0.1 and cannot be combined with --nnodes ",
                c.nnodes);
  MEGASFT_CHECK(!c.standalone || c.rdzv_host.empty(),
                "--standalone picks its own endpoint and cannot be combined with --rdzv-endpoint");
  MEGASFT_CHECK(c.log_dir.size() > 0 || !c.redirects || !c.redirects->any(),
                "--redirects needs --log-dir: redirected output is written to "
                "<log-dir>/<run-id>/attempt_<k>/<local_rank>/{stdout,stderr}.log");
  for (const auto* selection : {c.redirects ? &*c.redirects : nullptr, &c.tee}) {
    if (selection == nullptr) continue;
    MEGASFT_CHECK(selection->max_named_local_rank() < c.nproc_per_node, "--",
                  selection == &c.tee ? "tee" : "redirects", " names local rank ",
                  selection->max_named_local_rank(), " but --nproc-per-node is ", c.nproc_per_node);
  }
  if (c.nnodes_min != c.nnodes) {
    c.notes.push_back("--nnodes " + std::to_string(c.nnodes_min) + ":" + std::to_string(c.nnodes) +
                      ": elastic membership is not supported; running a fixed world of " +
                      std::to_string(c.nnodes) + " nodes (MAX)");
  }
}

}  // namespace

int LaunchConfig::file_streams(int local_rank) const {
  if (log_dir.empty()) return kNoStreams;
  const int redirected = redirects ? redirects->for_local_rank(local_rank) : kBothStreams;
  return redirected | tee.for_local_rank(local_rank);
}

LaunchConfig parse_launch_args(const std::vector<std::string>& args) {
  return parse_launch_command(args, EnvMap{});
}

LaunchConfig parse_launch_command(const std::vector<std::string>& args, const EnvMap& env) {
  LaunchConfig config;
  apply_cluster_defaults(config, detect_cluster(env));
  apply_environment(config, env);
  size_t program_start = apply_command_line(config, args);
  config.program.assign(args.begin() + static_cast<std::ptrdiff_t>(program_start), args.end());
  if (!config.help) validate(config);
  return config;
}

}  // namespace megasft::launch
