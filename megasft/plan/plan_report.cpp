// Plain text for people (GiB, seconds, one layout per line, then the breakdowns of the best), JSON
// with every number in bytes and seconds for tools.
#include "megasft/plan/plan_report.h"

#include <algorithm>
#include <iomanip>
#include <map>
#include <sstream>

namespace megasft::plan {
namespace {

double gib(double bytes) { return bytes / (1ull << 30); }

std::string fixed(double v, int digits) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(digits) << v;
  return out.str();
}

nlohmann::json layout_json(const Layout& l) {
  return {{"tp", l.tp},
          {"pp", l.pp},
          {"dp", l.dp},
          {"micro_batch", l.micro_batch},
          {"recompute", l.recompute},
          {"sequence_parallel", l.sequence_parallel},
          {"pipeline_layers", l.pipeline_layers},
          {"train_flags", l.train_flags()}};
}

nlohmann::json stage_json(const StageMemory& m) {
  return {{"stage", m.stage},
          {"range", m.range.to_string()},
          {"parameters", m.parameters},
          {"owned_elements", m.owned_elements},
          {"in_flight", m.in_flight},
          {"weights", m.weights},
          {"main_grads", m.main_grads},
          {"optimizer_states", m.optimizer_states},
          {"runtime", m.runtime},
          {"activations_per_micro_batch", m.activations_per_micro_batch},
          {"other_micro_batches", m.other_micro_batches},
          {"p2p_held", m.p2p_held},
          {"backward_peak", m.backward_peak},
          {"backward_peak_cause", m.backward_peak_cause},
          {"step_transient", m.step_transient},
          {"dp_buffers", m.dp_buffers},
          {"pipeline_peak", m.pipeline_peak()},
          {"step_peak", m.step_peak()},
          {"peak", m.peak()}};
}

nlohmann::json time_json(const StepTime& t) {
  nlohmann::json stages = nlohmann::json::array();
  for (const auto& s : t.stages)
    stages.push_back(
        {{"compute", s.compute}, {"memory", s.memory}, {"tp_comm", s.tp_comm}, {"p2p", s.p2p}});
  return {{"micro_batches", t.micro_batches},
          {"pipeline", t.pipeline},
          {"bubble", t.bubble},
          {"dp_comm", t.dp_comm},
          {"embedding_sync", t.embedding_sync},
          {"optimizer", t.optimizer},
          {"total", t.total},
          {"dp_crosses_nodes", t.dp_crosses_nodes},
          {"pp_crosses_nodes", t.pp_crosses_nodes},
          {"model_flops", t.model_flops},
          {"tokens_per_s_per_gpu", t.tokens_per_s_per_gpu},
          {"mfu", t.mfu},
          {"per_micro_batch_by_stage", stages}};
}

void print_breakdown(std::ostringstream& out, int index, const EvaluatedLayout& e) {
  const auto& m = e.stages[e.worst_stage];
  const auto& t = e.time;
  out << "\n"
      << index << ". " << e.layout.to_string() << "\n   megasft train " << e.layout.train_flags()
      << "\n";
  out << "   memory on stage " << m.stage << " (" << m.range.to_string() << "), GiB: peak "
      << fixed(gib(m.peak()), 1) << " in the "
      << (m.pipeline_peak() >= m.step_peak() ? "pipeline" : "optimizer step") << "\n";
  out << "     held      weights " << fixed(gib(m.weights), 2) << " + fp32 main grads "
      << fixed(gib(m.main_grads), 2) << " + optimizer shard (1/" << e.layout.dp << ") "
      << fixed(gib(m.optimizer_states), 2) << " + runtime " << fixed(gib(m.runtime), 2) << "\n";
  out << "     pipeline  " << m.in_flight << " micro-batch(es) in flight x "
      << fixed(gib(m.activations_per_micro_batch), 2) << ": others "
      << fixed(gib(m.other_micro_batches), 2) << " + p2p " << fixed(gib(m.p2p_held), 2)
      << " + the one in backward " << fixed(gib(m.backward_peak), 2) << " ("
      << m.backward_peak_cause << ") = " << fixed(gib(m.pipeline_peak()), 1) << "\n";
  out << "     step      gradient shard and Adam temporaries " << fixed(gib(m.step_transient), 2)
      << " + DP buffers " << fixed(gib(m.dp_buffers), 2) << " = " << fixed(gib(m.step_peak()), 1)
      << "\n";
  const auto& slowest =
      *std::max_element(t.stages.begin(), t.stages.end(),
                        [](const auto& a, const auto& b) { return a.total() < b.total(); });
  out << "   time per step " << fixed(t.total, 2) << " s: pipeline " << fixed(t.pipeline, 2) << " ("
      << t.micro_batches << " micro-batches; slowest stage per micro-batch: GEMMs "
      << fixed(slowest.compute * 1e3, 1) << " ms, elementwise " << fixed(slowest.memory * 1e3, 1)
      << ", TP " << fixed(slowest.tp_comm * 1e3, 1) << ", p2p " << fixed(slowest.p2p * 1e3, 1)
      << "; bubble (P-1)/M " << fixed(100 * t.bubble, 0) << "%), DP " << fixed(t.dp_comm, 2)
      << (t.dp_crosses_nodes ? " (inter-node)" : " (NVLink)") << ", optimizer "
      << fixed(t.optimizer, 2);
  if (t.embedding_sync > 0) out << ", tied embedding " << fixed(t.embedding_sync, 3);
  out << "\n";
}

}  // namespace

std::string format_plan(const PlanRequest& r, const PlanResult& result, int top) {
  const auto& c = r.model;
  const auto& o = r.options;
  std::ostringstream out;
  out << "megasft plan: " << (c.architecture.empty() ? "Llama-architecture" : c.architecture)
      << " model, " << c.num_layers << " layers, hidden " << c.hidden_size << ", "
      << c.num_attention_heads << "/" << c.num_key_value_heads << " heads, vocab " << c.vocab_size
      << ", " << fixed(c.num_parameters() / 1e9, 2) << " B parameters\n";
  out << "  on " << r.nodes << " node(s) of " << r.cluster.name << ": "
      << r.nodes * r.cluster.gpus_per_node << " GPUs, " << fixed(r.cluster.memory_gib, 1)
      << " GiB each, " << fixed(gib(result.usable_bytes), 1) << " GiB planned ("
      << fixed(100 * o.headroom, 0) << "% headroom)\n";
  out << "  seq-len " << o.seq_len << ", global batch " << o.global_batch << " sequences ("
      << o.global_batch * o.seq_len << " tokens), params " << o.params_dtype << ", objective "
      << o.objective << ", loss chunk " << o.loss_chunk_tokens << " tokens, DP overlap "
      << fixed(100 * o.dp_overlap, 0) << "%\n\n";
  if (result.feasible.empty()) {
    out << "No layout fits.\n";
  } else {
    out << "  #  layout                                      M  peak GiB  step s  tokens/s/GPU    "
           "MFU  bubble\n";
    const int shown = std::min<int>(top, result.feasible.size());
    for (int i = 0; i < shown; ++i) {
      const auto& e = result.feasible[i];
      out << std::setw(3) << i + 1 << "  " << std::left << std::setw(42) << e.layout.to_string()
          << std::right << std::setw(3) << e.time.micro_batches << std::setw(10)
          << fixed(gib(e.peak), 1) << std::setw(8) << fixed(e.time.total, 2) << std::setw(14)
          << fixed(e.time.tokens_per_s_per_gpu, 0) << std::setw(6) << fixed(100 * e.time.mfu, 1)
          << "%" << std::setw(7) << fixed(100 * e.time.bubble, 0) << "%\n";
    }
    out << "  (" << result.feasible.size() << " layouts fit; the " << shown << " fastest shown)\n";
    for (int i = 0; i < shown; ++i) print_breakdown(out, i + 1, result.feasible[i]);
  }
  // Per category one example; for memory the one closest to fitting.
  std::map<std::string, std::vector<const RejectedLayout*>> by_category;
  for (const auto& rejected : result.rejected) by_category[rejected.category].push_back(&rejected);
  auto& too_big = by_category["memory"];
  std::stable_sort(too_big.begin(), too_big.end(), [](const auto* a, const auto* b) {
    return a->evaluated.peak < b->evaluated.peak;
  });
  if (too_big.empty()) by_category.erase("memory");
  out << "\nrejected " << result.rejected.size() << " layout(s):\n";
  for (const auto& [category, list] : by_category)
    out << "  " << std::left << std::setw(18) << category << std::right << std::setw(5)
        << list.size() << "  " << (category == "memory" ? "closest: " : "e.g. ")
        << list.front()->layout.to_string() << ": " << list.front()->reason << "\n";
  if (result.feasible.empty() && !too_big.empty()) {
    out << "\nThe layouts closest to fitting:\n";
    for (int i = 0; i < std::min<int>(top, too_big.size()); ++i)
      print_breakdown(out, i + 1, too_big[i]->evaluated);
  }
  return out.str();
}

nlohmann::json plan_json(const PlanRequest& r, const PlanResult& result) {
  const auto& c = r.model;
  const auto& o = r.options;
  nlohmann::json j;
  j["model"] = {{"architecture", c.architecture},
                {"vocab_size", c.vocab_size},
                {"hidden_size", c.hidden_size},
                {"intermediate_size", c.intermediate_size},
                {"num_layers", c.num_layers},
                {"num_attention_heads", c.num_attention_heads},
                {"num_key_value_heads", c.num_key_value_heads},
                {"head_dim", c.head_dim()},
                {"tie_word_embeddings", c.tie_word_embeddings},
                {"qkv_bias", c.qkv_bias},
                {"parameters", c.num_parameters()}};
  const auto& k = r.cluster;
  j["cluster"] = {{"name", k.name},
                  {"nodes", r.nodes},
                  {"gpus_per_node", k.gpus_per_node},
                  {"memory_gib", k.memory_gib},
                  {"dense_bf16_tflops", k.dense_bf16_tflops},
                  {"hbm_tb_s", k.hbm_tb_s},
                  {"nvlink_gb_s", k.nvlink_gb_s},
                  {"inter_node_gb_s", k.inter_node_gb_s},
                  {"matmul_efficiency", k.matmul_efficiency},
                  {"nvlink_efficiency", k.nvlink_efficiency},
                  {"inter_node_efficiency", k.inter_node_efficiency},
                  {"hbm_efficiency", k.hbm_efficiency},
                  {"runtime_reserved_gib", k.runtime_reserved_gib}};
  j["options"] = {{"seq_len", o.seq_len},
                  {"global_batch", o.global_batch},
                  {"params_dtype", o.params_dtype},
                  {"loss_chunk_tokens", o.loss_chunk_tokens},
                  {"objective", o.objective},
                  {"top_k", o.top_k},
                  {"grad_bucket_mb", o.grad_bucket_mb},
                  {"headroom", o.headroom},
                  {"dp_overlap", o.dp_overlap}};
  j["usable_bytes"] = result.usable_bytes;
  j["feasible"] = nlohmann::json::array();
  for (const auto& e : result.feasible) {
    nlohmann::json stages = nlohmann::json::array();
    for (const auto& s : e.stages) stages.push_back(stage_json(s));
    j["feasible"].push_back({{"layout", layout_json(e.layout)},
                             {"peak_bytes", e.peak},
                             {"worst_stage", e.worst_stage},
                             {"memory", stages},
                             {"time", time_json(e.time)}});
  }
  j["rejected"] = nlohmann::json::array();
  for (const auto& x : result.rejected)
    j["rejected"].push_back(
        {{"layout", layout_json(x.layout)}, {"category", x.category}, {"reason", x.reason}});
  return j;
}

std::string format_dry_run(const Layout& layout, const std::vector<DryRunStage>& stages,
                           const std::vector<int64_t>& planned, const std::string& params_dtype) {
  std::ostringstream out;
  out << "megasft plan --dry-run: TP " << layout.tp << ", PP " << layout.pp << ", DP " << layout.dp
      << " (one rank's shard built on the meta device; parameters in " << params_dtype << ")\n";
  out << "  stage  layers                                    parameters           bytes       "
         "planned  match\n";
  bool all = true;
  for (size_t i = 0; i < stages.size(); ++i) {
    const auto& s = stages[i];
    const bool match = planned[i] == s.elements;
    all = all && match;
    out << std::setw(7) << s.stage << "  " << std::left << std::setw(38) << s.range.to_string()
        << std::right << std::setw(14) << s.elements << std::setw(16) << s.bytes << std::setw(14)
        << planned[i] << (match ? "  yes" : "  NO") << "\n";
  }
  out << (all ? "The planner's count equals the model's on every stage.\n"
              : "MISMATCH: the planner's count differs from the model's.\n");
  return out.str();
}

}  // namespace megasft::plan
