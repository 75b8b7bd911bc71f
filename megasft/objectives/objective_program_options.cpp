#include "megasft/objectives/objective_program_options.h"

namespace megasft::objectives {
namespace po = boost::program_options;

ObjectiveProgramOptions::ObjectiveProgramOptions(ObjectiveOptions& target) : target_(target) {
  auto& o = target_;
  description_.add_options()
      ("objective", po::value(&kind_name_)->default_value(objective_kind_name(o.kind)),
       "ce | sed | sed-nomask | gem | dft")
      ("top-k", po::value(&o.top_k)->default_value(o.top_k), "k of the top-k probability sum S_t")
      ("sed-ratio", po::value(&o.sed_ratio)->default_value(o.sed_ratio),
       "r: about this fraction of positions is left unpenalised by the calibrated tau")
      ("sed-lambda", po::value(&o.sed_lambda)->default_value(o.sed_lambda), "weight of the SED penalty")
      ("tau", po::value<double>(), "SED mask threshold (M = [S_t < tau]); calibrated when absent")
      ("gem-beta", po::value(&o.gem_beta)->default_value(o.gem_beta), "GEM temperature beta")
      ("gem-h", po::value(&gem_h_name_)->default_value(gem_h_name(o.gem_h)), "GEM weighting: linear | logsigmoid");
}

void ObjectiveProgramOptions::finish(const po::variables_map& vm) {
  target_.kind = parse_objective_kind(kind_name_);
  target_.gem_h = parse_gem_h(gem_h_name_);
  if (vm.count("tau")) target_.tau = vm["tau"].as<double>();
}

}  // namespace megasft::objectives
