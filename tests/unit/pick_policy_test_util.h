// Helpers for the front door's policy tests: a pool of back ends whose Candidates point
// at ids the pool owns, and a PickContext for a client at a fake time.
#pragma once

#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "frontdoor/pick_policy.h"

namespace tacc::frontdoor::testing {

class Pool {
 public:
  Pool() = default;
  explicit Pool(std::vector<std::string> ids, std::vector<double> weights = {}) {
    for (size_t i = 0; i < ids.size(); ++i) Add(ids[i], i < weights.size() ? weights[i] : 1.0);
  }
  Pool(const Pool&) = delete;  // Candidates point into ids_
  Pool& operator=(const Pool&) = delete;

  Candidate& Add(const std::string& id, double weight = 1.0) {
    ids_.reserve(kMax);  // ids never move: the candidates' string_views stay valid
    ids_.push_back(id);
    Candidate c;
    c.id = ids_.back();
    c.weight = weight;
    cands_.push_back(c);
    return cands_.back();
  }
  void Remove(std::string_view id) {
    std::erase_if(cands_, [&](const Candidate& c) { return c.id == id; });
  }
  Candidate& operator[](std::string_view id) {
    return *std::find_if(cands_.begin(), cands_.end(), [&](const Candidate& c) { return c.id == id; });
  }
  std::vector<Candidate>& candidates() { return cands_; }
  std::string Id(std::optional<size_t> i) const { return i ? std::string(cands_.at(*i).id) : std::string("(none)"); }

 private:
  static constexpr size_t kMax = 4096;
  std::vector<std::string> ids_;
  std::vector<Candidate> cands_;
};

inline PickContext Client(const std::string& address, uint16_t port = 40000, std::string_view target = {},
                          PolicyClock::time_point now = PolicyClock::time_point{}) {
  PickContext ctx;
  ctx.client = boost::asio::ip::make_address(address);
  ctx.client_port = port;
  ctx.target = target;
  ctx.now = now;
  return ctx;
}

// The n-th of many distinct clients: 10.x.y.z.
inline std::string NthClient(int n) {
  return "10." + std::to_string((n >> 16) & 255) + "." + std::to_string((n >> 8) & 255) + "." + std::to_string(n & 255);
}

}  // namespace tacc::frontdoor::testing
