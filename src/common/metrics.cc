#include "common/metrics.h"

#include <fmt/format.h>

namespace tacc {

Counter& MetricsRegistry::counter(const std::string& name, const std::string& help) {
  std::lock_guard lock(mu_);
  for (auto& e : entries_)
    if (e.name == name) return e.c;
  auto& e = entries_.emplace_back();
  e.name = name;
  e.help = help;
  e.is_counter = true;
  return e.c;
}

Gauge& MetricsRegistry::gauge(const std::string& name, const std::string& help) {
  std::lock_guard lock(mu_);
  for (auto& e : entries_)
    if (e.name == name) return e.g;
  auto& e = entries_.emplace_back();
  e.name = name;
  e.help = help;
  e.is_counter = false;
  return e.g;
}

std::string MetricsRegistry::RenderPrometheus() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (auto& e : entries_) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", e.name, e.help, e.name, e.is_counter ? "counter" : "gauge");
    if (e.is_counter) out += fmt::format("{} {}\n", e.name, e.c.value());
    else out += fmt::format("{} {}\n", e.name, e.g.value());
  }
  return out;
}

MetricsRegistry& Metrics() {
  static MetricsRegistry registry;
  return registry;
}

}  // namespace tacc
