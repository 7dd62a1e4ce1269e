// ChainPlanner: the cheapest chain of worker classes from an object's type to a type
// the client accepts (paper §2.2.1: workers composed like a Unix pipeline; the TACC
// model's path search over transformation workers; issue 8, "Composition").
//
// Each class declares the types it takes and produces (its worker's registration, or
// classes.<name>.takes / produces) and an expected cost per task (cost_hint). A dispatch
// rule whose chain is the single step `auto` is planned here per request: at least one
// step, at most max_steps, ending in a type the client's Accept gives q > 0; the
// cheapest by summed cost, then the fewest steps, then the best q.
//
// Every step gets the arg to=<type> (what the next step takes, or what the chain ends
// in), except a last step whose every product is acceptable: that worker picks among
// its types from the client's hints (e.g. WebP where Accept says so).
//
// Pure logic, immutable once built; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tacc/accept_list.h"
#include "tacc/dispatch_rules.h"

namespace tacc::tacc_layer {

struct ClassTypes {
  std::string worker_class;
  std::vector<std::string> takes;     // MIME essences
  std::vector<std::string> produces;  // MIME essences
  double cost = 1;                    // expected cost of one task (> 0)
};

struct PlannedChain {
  std::vector<ChainStep> steps;
  std::string produces;  // the type the chain ends in
  double cost = 0;
  std::string Text() const;  // "gif2png|png" for headers and logs
};

class ChainPlanner {
 public:
  ChainPlanner() = default;
  explicit ChainPlanner(std::vector<ClassTypes> classes, int max_steps = 4);

  // The cheapest chain for an object of `from` (a MIME type; parameters ignored), or
  // none if no chain of classes reaches a type `accept` takes.
  std::optional<PlannedChain> Plan(std::string_view from, const AcceptList& accept) const;

  const std::vector<ClassTypes>& classes() const { return classes_; }

 private:
  std::vector<ClassTypes> classes_;
  int max_steps_ = 4;
};

}  // namespace tacc::tacc_layer
