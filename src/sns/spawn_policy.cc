#include "sns/spawn_policy.h"

#include <fmt/format.h>

#include <algorithm>

namespace tacc::sns {

namespace {

using Clock = std::chrono::steady_clock;

SpawnDecision KeepMinimum(const ClassLoadView& v) {
  SpawnDecision d;
  int have = v.live + v.pending;
  if (have < v.config->min_workers) {
    d.spawn = v.config->min_workers - have;
    d.reason = fmt::format("below min_workers={}", v.config->min_workers);
  }
  return d;
}

class ThresholdPolicy : public SpawnPolicy {
 public:
  ThresholdPolicy(double h, double d_s, double r_s)
      : h_(h), hold_(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(d_s))),
        idle_(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(r_s))) {}

  SpawnDecision Decide(const ClassLoadView& v, Clock::time_point now) const override {
    SpawnDecision d = KeepMinimum(v);
    if (d.spawn > 0) return d;
    bool held = v.last_spawn != Clock::time_point{} && now - v.last_spawn < hold_;  // epoch: never spawned
    if (v.live > 0 && v.pending == 0 && !held && v.mean_load > h_ && v.live < v.config->max_workers) {
      d.spawn = 1;
      d.reason = fmt::format("mean queue {:.2f} > H={}", v.mean_load, h_);
      return d;
    }
    if (held || v.pending > 0 || v.live <= v.config->min_workers) return d;
    const WorkerLoadView* most_idle = nullptr;
    for (auto& w : v.Workers())
      if (w.idle_for >= idle_ && (!most_idle || w.idle_for > most_idle->idle_for)) most_idle = &w;
    if (most_idle) {
      d.reap.emplace_back(most_idle->id);
      d.reason = fmt::format("idle for {:.1f} s >= R", std::chrono::duration<double>(most_idle->idle_for).count());
      return d;
    }
    if (v.light_since != Clock::time_point{} && now - v.light_since >= idle_ && v.live > 1) {
      const WorkerLoadView* least = nullptr;
      for (auto& w : v.Workers())
        if (!least || w.load < least->load || (w.load == least->load && w.idle_for > least->idle_for)) least = &w;
      if (least) {
        d.reap.emplace_back(least->id);
        d.reason = fmt::format("light for {:.1f} s >= R: mean queue {:.2f} over {} workers would be {:.2f} over {}, under L",
                               std::chrono::duration<double>(now - v.light_since).count(), v.mean_load, v.live,
                               v.mean_load * v.live / (v.live - 1), v.live - 1);
      }
    }
    return d;
  }

 private:
  double h_;
  Clock::duration hold_, idle_;
};

class FixedPolicy : public SpawnPolicy {
 public:
  SpawnDecision Decide(const ClassLoadView& v, Clock::time_point) const override { return KeepMinimum(v); }
};

}  // namespace

std::unique_ptr<SpawnPolicy> MakeSpawnPolicy(const Config& c) {
  if (c.manager.spawn_policy == "fixed") return std::make_unique<FixedPolicy>();
  return std::make_unique<ThresholdPolicy>(c.manager.spawn_threshold, c.manager.spawn_hold_s, c.manager.reap_idle_s);
}

}  // namespace tacc::sns
