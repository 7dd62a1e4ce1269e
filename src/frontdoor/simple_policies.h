// The clustering survey's classic dispatching policies (frontdoor.policy), each a
// PickPolicy:
//   round_robin       turns in id order (Rotation: stable when back ends come and go)
//   random            uniform, seeded
//   least_connections fewest open connections/requests through this dispatcher; ties take
//                     turns
//   weighted          smooth weighted round robin (nginx's): each back end in proportion
//                     to its weight, interleaved (5,1,1 -> a a b a c a a)
//   fastest_response  lowest moving-average response time; a back end whose time is not
//                     known yet is tried first, one connection at a time
//   source_hash       weighted rendezvous (HRW) hash of the client address: stateless, the
//                     same on every dispatcher, and a back end leaving moves only its own
//                     clients (ONE-IP's hashing dispatcher)
//   load_weighted     lottery over the beacons' loads: tickets = weight / (1 + load +
//                     active_bias x active) (the SNS stub's lottery; Magicrouter's
//                     "incremental load")
// LARD and bounded-load hashing have their own files. Thread safety: none.
#pragma once

#include <cstdint>
#include <memory>

#include "frontdoor/pick_policy.h"

namespace tacc::frontdoor {

std::unique_ptr<PickPolicy> MakeRoundRobinPolicy();
std::unique_ptr<PickPolicy> MakeRandomPolicy(uint64_t seed);
std::unique_ptr<PickPolicy> MakeLeastConnectionsPolicy();
std::unique_ptr<PickPolicy> MakeWeightedPolicy();
std::unique_ptr<PickPolicy> MakeFastestResponsePolicy();
std::unique_ptr<PickPolicy> MakeSourceHashPolicy();
// active_bias: what one connection open through this dispatcher adds to a back end's
// beacon load. The beacons are periodic, so between two of them the load they report
// does not see the connections just sent; the bias damps the herd onto the back end that
// looked idlest (0.1: ten connections weigh as one queued request).
inline constexpr double kDefaultActiveBias = 0.1;
std::unique_ptr<PickPolicy> MakeLoadWeightedPolicy(uint64_t seed, double active_bias = kDefaultActiveBias);

}  // namespace tacc::frontdoor
