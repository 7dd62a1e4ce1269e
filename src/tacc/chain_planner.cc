#include "tacc/chain_planner.h"

#include <algorithm>
#include <map>
#include <queue>
#include <tuple>

namespace tacc::tacc_layer {

std::string PlannedChain::Text() const {
  std::string out;
  for (const auto& s : steps) out += (out.empty() ? "" : "|") + s.worker_class;
  return out;
}

ChainPlanner::ChainPlanner(std::vector<ClassTypes> classes, int max_steps) : classes_(std::move(classes)), max_steps_(std::max(1, max_steps)) {
  for (auto& c : classes_) {
    for (auto* list : {&c.takes, &c.produces})
      for (auto& t : *list) t = MimeEssence(t);
    if (!(c.cost > 0)) c.cost = 1;
  }
  // Deterministic plans whatever order the configuration listed the classes in.
  std::sort(classes_.begin(), classes_.end(), [](const ClassTypes& a, const ClassTypes& b) { return a.worker_class < b.worker_class; });
}

std::optional<PlannedChain> ChainPlanner::Plan(std::string_view from, const AcceptList& accept) const {
  // Uniform-cost search over (type reached, steps taken); costs are positive, so the
  // first acceptable state taken off the queue ends a cheapest chain. Ties: fewer
  // steps, then the better q (lower -q), then the order of the search.
  struct State {
    double cost;
    int steps;
    double neg_q;
    size_t id;  // index into `nodes`
  };
  struct Node {
    std::string type;
    int cls = -1;      // class of the step that reached it
    size_t parent = 0;
  };
  auto later = [](const State& a, const State& b) { return std::tie(a.cost, a.steps, a.neg_q, a.id) > std::tie(b.cost, b.steps, b.neg_q, b.id); };
  std::priority_queue<State, std::vector<State>, decltype(later)> queue(later);
  std::vector<Node> nodes{{MimeEssence(from), -1, 0}};
  std::map<std::pair<std::string, int>, double> settled;  // (type, steps) -> cost
  queue.push({0, 0, 0, 0});
  while (!queue.empty()) {
    State s = queue.top();
    queue.pop();
    const std::string type = nodes[s.id].type;
    if (s.steps > 0 && accept.Accepts(type)) {
      PlannedChain plan;
      plan.produces = type;
      plan.cost = s.cost;
      std::vector<size_t> path;
      for (size_t id = s.id; nodes[id].cls >= 0; id = nodes[id].parent) path.push_back(id);
      std::reverse(path.begin(), path.end());
      for (size_t i = 0; i < path.size(); ++i) {
        const Node& n = nodes[path[i]];
        const ClassTypes& c = classes_[static_cast<size_t>(n.cls)];
        ChainStep step;
        step.worker_class = c.worker_class;
        bool last = i + 1 == path.size();
        bool all_accepted = std::all_of(c.produces.begin(), c.produces.end(), [&](const std::string& t) { return accept.Accepts(t); });
        if (!last || !all_accepted || c.produces.size() == 1) step.args["to"] = n.type;
        plan.steps.push_back(std::move(step));
      }
      return plan;
    }
    if (!settled.emplace(std::make_pair(type, s.steps), s.cost).second) continue;
    if (s.steps >= max_steps_) continue;
    for (size_t ci = 0; ci < classes_.size(); ++ci) {
      const ClassTypes& c = classes_[ci];
      if (std::find(c.takes.begin(), c.takes.end(), type) == c.takes.end()) continue;
      for (const auto& out : c.produces) {
        if (settled.contains({out, s.steps + 1})) continue;
        nodes.push_back({out, static_cast<int>(ci), s.id});
        queue.push({s.cost + c.cost, s.steps + 1, -accept.Quality(out), nodes.size() - 1});
      }
    }
  }
  return std::nullopt;
}

}  // namespace tacc::tacc_layer
