#include "frontdoor/simple_policies.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "frontdoor/candidate_set.h"
#include "frontdoor/client_key.h"
#include "frontdoor/rotation.h"
#include "frontdoor/stable_hash.h"

namespace tacc::frontdoor {

namespace {

// A weight that is not a positive number counts as none.
double SaneWeight(double w) { return std::isfinite(w) && w > 0 ? w : 0.0; }

class RoundRobinPolicy final : public PickPolicy {
 public:
  std::optional<size_t> Pick(std::span<const Candidate> candidates, const PickContext&) override { return rotation_.Next(candidates); }
  std::string_view name() const override { return "round_robin"; }

 private:
  Rotation rotation_;
};

class RandomPolicy final : public PickPolicy {
 public:
  explicit RandomPolicy(uint64_t seed) : rng_(seed) {}
  std::optional<size_t> Pick(std::span<const Candidate> candidates, const PickContext&) override {
    if (candidates.empty()) return std::nullopt;
    return std::uniform_int_distribution<size_t>(0, candidates.size() - 1)(rng_);
  }
  std::string_view name() const override { return "random"; }

 private:
  std::mt19937_64 rng_;
};

class LeastConnectionsPolicy final : public PickPolicy {
 public:
  std::optional<size_t> Pick(std::span<const Candidate> candidates, const PickContext&) override { return LeastActive(candidates, ties_); }
  std::string_view name() const override { return "least_connections"; }

 private:
  Rotation ties_;
};

// nginx's smooth weighted round robin: every choice adds each back end's weight to its
// counter, takes the largest counter and subtracts the total from it. Over any
// sum-of-weights choices each back end is taken weight times, spread out. Counters are
// kept per back end id (in id order, so equal counters go to the smaller id).
class WeightedPolicy final : public PickPolicy {
 public:
  std::optional<size_t> Pick(std::span<const Candidate> candidates, const PickContext&) override {
    if (candidates.empty()) return std::nullopt;
    if (set_.Update(candidates, &old_to_new_).ids) Carry();
    double total = 0;
    size_t best = 0;
    for (size_t m = 0; m < current_.size(); ++m) {
      double w = SaneWeight(set_.member(m).weight);
      current_[m] += w;
      total += w;
      if (current_[m] > current_[best]) best = m;
    }
    current_[best] -= total;
    return set_.CandidateOf(best);
  }
  std::string_view name() const override { return "weighted"; }

 private:
  // The set changed: keep the counters of the back ends that stayed, start joiners at 0,
  // and re-centre on 0 (the counters of those that left are gone; they would otherwise
  // skew the sum, which the algorithm keeps at 0).
  void Carry() {
    std::vector<double> next(set_.size(), 0.0);
    for (size_t o = 0; o < old_to_new_.size(); ++o)
      if (old_to_new_[o] >= 0) next[old_to_new_[o]] = current_[o];
    double mean = 0;
    for (double c : next) mean += c / static_cast<double>(next.size());
    for (double& c : next) c -= mean;
    current_ = std::move(next);
  }

  CandidateSet set_;
  std::vector<int32_t> old_to_new_;
  std::vector<double> current_;  // by member of set_
};

class FastestResponsePolicy final : public PickPolicy {
 public:
  std::optional<size_t> Pick(std::span<const Candidate> candidates, const PickContext&) override {
    if (candidates.empty()) return std::nullopt;
    // A back end whose time is unknown is tried first, to learn it; but only while it has
    // nothing open from us, else a new back end would take every connection until its
    // first answer came back.
    if (auto probe = probes_.Next(candidates, [](const Candidate& c) { return c.response_ms < 0 && c.active == 0; })) return probe;
    std::optional<size_t> best;
    for (size_t i = 0; i < candidates.size(); ++i) {
      const Candidate& c = candidates[i];
      if (!(c.response_ms >= 0)) continue;  // unknown (or NaN)
      if (!best) {
        best = i;
        continue;
      }
      const Candidate& b = candidates[*best];
      if (c.response_ms < b.response_ms || (c.response_ms == b.response_ms && c.active < b.active)) best = i;
    }
    if (best) return best;
    return LeastActive(candidates, ties_);  // no time known yet and every back end busy
  }
  std::string_view name() const override { return "fastest_response"; }

 private:
  Rotation probes_;
  Rotation ties_;
};

// Weighted rendezvous hashing (Thaler & Ravishankar; the logarithmic method of
// Schindelhauer & Schomaker): every back end scores the client with weight / -ln(u),
// u a hash of (client, back end) in (0, 1); the highest wins. Back end i wins a share
// w_i / sum(w) of clients, and a back end's score does not depend on the others, so one
// leaving moves only the clients it had, and one joining takes only the ones it now wins.
class SourceHashPolicy final : public PickPolicy {
 public:
  std::optional<size_t> Pick(std::span<const Candidate> candidates, const PickContext& ctx) override {
    if (candidates.empty()) return std::nullopt;
    if (set_.Update(candidates).ids) {
      id_hash_.resize(set_.size());
      for (size_t m = 0; m < set_.size(); ++m) id_hash_[m] = StableHash(set_.member(m).id);
    }
    const ClientKey key = ClientKeyOf(ctx.client);
    const uint64_t client = StableHash(BytesOf(key));
    size_t best = 0;
    double best_score = -std::numeric_limits<double>::infinity();
    for (size_t m = 0; m < set_.size(); ++m) {
      double score = SaneWeight(set_.member(m).weight) / -std::log(UnitInterval(Mix64(client ^ id_hash_[m])));
      if (score > best_score) {
        best_score = score;
        best = m;
      }
    }
    return set_.CandidateOf(best);
  }
  std::string_view name() const override { return "source_hash"; }

 private:
  CandidateSet set_;
  std::vector<uint64_t> id_hash_;  // by member of set_
};

class LoadWeightedPolicy final : public PickPolicy {
 public:
  LoadWeightedPolicy(uint64_t seed, double active_bias) : rng_(seed), active_bias_(std::max(0.0, active_bias)) {}
  std::optional<size_t> Pick(std::span<const Candidate> candidates, const PickContext&) override {
    if (candidates.empty()) return std::nullopt;
    auto known = [](double load) { return std::isfinite(load) && load >= 0; };
    // A back end the beacons have not reported yet counts as average: neither shunned
    // nor flooded.
    double sum = 0;
    int n = 0;
    for (const Candidate& c : candidates) {
      if (!known(c.load)) continue;
      sum += c.load;
      ++n;
    }
    const double unknown_load = n > 0 ? sum / n : 0.0;
    tickets_.resize(candidates.size());
    double total = 0;
    for (size_t i = 0; i < candidates.size(); ++i) {
      const Candidate& c = candidates[i];
      double load = known(c.load) ? c.load : unknown_load;
      double active = static_cast<double>(std::max<int64_t>(0, c.active));
      total += tickets_[i] = SaneWeight(c.weight) / (1.0 + load + active_bias_ * active);
    }
    if (!(total > 0)) return std::uniform_int_distribution<size_t>(0, candidates.size() - 1)(rng_);
    double draw = std::uniform_real_distribution<double>(0, total)(rng_);
    for (size_t i = 0; i < candidates.size(); ++i) {
      draw -= tickets_[i];
      if (draw < 0) return i;
    }
    // Rounding left a sliver: the last back end with tickets.
    for (size_t i = candidates.size(); i-- > 0;)
      if (tickets_[i] > 0) return i;
    return candidates.size() - 1;
  }
  std::string_view name() const override { return "load_weighted"; }

 private:
  std::mt19937_64 rng_;
  double active_bias_;
  std::vector<double> tickets_;
};

}  // namespace

std::unique_ptr<PickPolicy> MakeRoundRobinPolicy() { return std::make_unique<RoundRobinPolicy>(); }
std::unique_ptr<PickPolicy> MakeRandomPolicy(uint64_t seed) { return std::make_unique<RandomPolicy>(seed); }
std::unique_ptr<PickPolicy> MakeLeastConnectionsPolicy() { return std::make_unique<LeastConnectionsPolicy>(); }
std::unique_ptr<PickPolicy> MakeWeightedPolicy() { return std::make_unique<WeightedPolicy>(); }
std::unique_ptr<PickPolicy> MakeFastestResponsePolicy() { return std::make_unique<FastestResponsePolicy>(); }
std::unique_ptr<PickPolicy> MakeSourceHashPolicy() { return std::make_unique<SourceHashPolicy>(); }
std::unique_ptr<PickPolicy> MakeLoadWeightedPolicy(uint64_t seed, double active_bias) {
  return std::make_unique<LoadWeightedPolicy>(seed, active_bias);
}

}  // namespace tacc::frontdoor
