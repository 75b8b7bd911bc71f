// What `megasft plan` prints and writes: the best layouts as a table, each with its memory
// breakdown and time breakdown, why the others were rejected, and the same as JSON.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "megasft/plan/dry_run.h"
#include "megasft/plan/layout_search.h"

namespace megasft::plan {

std::string format_plan(const PlanRequest& request, const PlanResult& result, int top);
nlohmann::json plan_json(const PlanRequest& request, const PlanResult& result);

// The dry run beside the planner's own count, stage by stage.
std::string format_dry_run(const Layout& layout, const std::vector<DryRunStage>& stages,
                           const std::vector<int64_t>& planned_elements,
                           const std::string& params_dtype);

}  // namespace megasft::plan
