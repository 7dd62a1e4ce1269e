#include "frontdoor/maglev_table.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "frontdoor/stable_hash.h"

namespace tacc::frontdoor {

namespace {

// Seeds of the two hashes of an id (offset and skip); changing them reshuffles every
// dispatcher's table, so they are fixed forever.
constexpr uint64_t kOffsetSeed = 0x6d61676c65763031ULL;
constexpr uint64_t kSkipSeed = 0x6d61676c65763032ULL;
constexpr uint32_t kEmpty = std::numeric_limits<uint32_t>::max();

double SaneWeight(double w) { return std::isfinite(w) && w > 0 ? w : 0.0; }

struct Turn {
  uint32_t input;  // index into the caller's span
  uint64_t slot;   // its next preferred slot: offset, offset + skip, offset + 2 skip, ... (mod size)
  uint64_t skip;
  double share;       // weight / the largest weight, in (0, 1]
  double credit = 0;  // turns earned and not yet taken
};

}  // namespace

bool MaglevTable::IsPrime(uint32_t n) {
  if (n < 2) return false;
  if (n % 2 == 0) return n == 2;
  for (uint64_t d = 3; d * d <= n; d += 2)
    if (n % d == 0) return false;
  return true;
}

uint32_t MaglevTable::NextPrime(uint32_t n) {
  while (!IsPrime(n)) ++n;
  return n;
}

std::vector<uint32_t> MaglevTable::Build(std::span<const MaglevEntry> backends, uint32_t size) {
  std::vector<uint32_t> order;
  double heaviest = 0;
  for (uint32_t i = 0; i < backends.size(); ++i) {
    if (SaneWeight(backends[i].weight) <= 0) continue;
    order.push_back(i);
    heaviest = std::max(heaviest, backends[i].weight);
  }
  if (order.empty()) return {};
  // Id order, not input order, decides whose turn comes first.
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    if (backends[a].id != backends[b].id) return backends[a].id < backends[b].id;
    return backends[a].weight < backends[b].weight;
  });

  const uint64_t m = NextPrime(std::max<uint32_t>(size, 2));
  std::vector<Turn> turns;
  turns.reserve(order.size());
  for (uint32_t i : order) {
    const std::string& id = backends[i].id;
    turns.push_back(Turn{.input = i,
                         .slot = StableHash(id, kOffsetSeed) % m,
                         .skip = m > 2 ? StableHash(id, kSkipSeed) % (m - 1) + 1 : 1,
                         .share = backends[i].weight / heaviest});
  }

  std::vector<uint32_t> table(m, kEmpty);
  uint64_t filled = 0;
  while (filled < m) {
    for (Turn& t : turns) {
      // The heaviest back end takes a slot every round; one of a third its weight, every
      // third round.
      t.credit += t.share;
      if (t.credit < 1.0) continue;
      t.credit -= 1.0;
      // skip is in [1, m-1] and m is prime: the first m steps reach every slot, and one
      // is still free, so this ends.
      while (table[t.slot] != kEmpty) t.slot = (t.slot + t.skip) % m;
      table[t.slot] = t.input;
      t.slot = (t.slot + t.skip) % m;
      if (++filled == m) break;
    }
  }
  return table;
}

}  // namespace tacc::frontdoor
