// Metrics: named counters and gauges of one process, rendered in Prometheus text format.
//
// Each component declares its counters once (one struct of references per component),
// especially for every degraded path: retries, fallbacks, drops, refused input.
// Counter and Gauge are lock-free; registration takes a mutex and happens at start-up.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>

namespace tacc {

class Counter {
 public:
  void Inc(uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

class Gauge {
 public:
  void Set(double v) { v_.store(v, std::memory_order_relaxed); }
  double value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

class MetricsRegistry {
 public:
  // Returns the counter of that name, creating it on first use. References stay valid
  // for the registry's lifetime.
  Counter& counter(const std::string& name, const std::string& help);
  Gauge& gauge(const std::string& name, const std::string& help);
  std::string RenderPrometheus() const;

 private:
  struct Entry {
    std::string name, help;
    bool is_counter;
    Counter c;
    Gauge g;
  };
  mutable std::mutex mu_;
  std::deque<Entry> entries_;  // deque: stable addresses
};

// The process-wide registry.
MetricsRegistry& Metrics();

}  // namespace tacc
