// LruStore: the in-memory store of one partition of the virtual cache (SNS paper
// §3.1.5): key -> immutable entry, within a byte budget, least recently used out first.
//
// Cached data is BASE: evicting an entry, or refusing one too big to be worth keeping,
// costs only the time of fetching it again, so the store never blocks or fails a caller
// for lack of room: it makes room. The HTTP rules of what may be stored and reused are
// cache_policy.h's business; this unit knows nothing of HTTP.
//
// Entry is the caller's type (body bytes plus whatever metadata it keeps) and must have
// `size_t size_bytes() const`, read once on Put (entries are immutable). An entry is
// charged key.size() + size_bytes() + per_entry_overhead_bytes against the budget.
// Values are shared_ptr<const Entry>: a Get result stays valid after the entry is
// evicted or replaced, so a response being sent is never cut short.
//
// Every operation is O(1) (a list in recency order and a hash map of list positions),
// except eviction, O(1) per evicted entry. NOT thread-safe: each partition owns one
// store and uses it from its single event loop.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace tacc::tacc_layer {

struct LruStoreOptions {
  size_t budget_bytes = 64u << 20;
  // Largest charge one entry may have; 0 means the whole budget.
  size_t max_entry_bytes = 0;
  // Charged per entry for the list node, the map node and the shared_ptr control block.
  size_t per_entry_overhead_bytes = 128;
};

enum class PutResult {
  kStored,                 // new key
  kReplaced,               // the key's previous entry was replaced
  kRefusedOverBudget,      // charge larger than the whole budget
  kRefusedOverEntryLimit,  // charge larger than max_entry_bytes
  kRefusedNull,            // a null value
};
std::string_view PutResultName(PutResult result);
inline bool Stored(PutResult r) { return r == PutResult::kStored || r == PutResult::kReplaced; }

struct LruStoreCounters {
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t puts = 0;          // stored or replaced
  uint64_t replacements = 0;  // of those, replaced an existing entry
  uint64_t refusals = 0;
  uint64_t evictions = 0;  // entries removed to make room
  uint64_t evicted_bytes = 0;
  uint64_t erases = 0;  // entries removed by Erase
  size_t bytes = 0;     // current charge of all entries
  size_t entries = 0;
};

template <typename Entry>
concept SizedEntry = requires(const Entry& e) {
  { e.size_bytes() } -> std::convertible_to<size_t>;
};

template <SizedEntry Entry>
class LruStore {
 public:
  using Value = std::shared_ptr<const Entry>;

  explicit LruStore(LruStoreOptions options = {}) : options_(options) {}
  LruStore(const LruStore&) = delete;
  LruStore& operator=(const LruStore&) = delete;

  // Stores `value` under `key`, replacing any entry there, evicting least recently
  // used entries until the budget holds it. A refused value also removes the key's old
  // entry: the caller meant to replace it, so the old one is outdated.
  PutResult Put(std::string key, Value value) {
    if (!value) return Refuse(key, PutResult::kRefusedNull);
    const size_t charge = ChargeOf(key, *value);
    if (charge > options_.budget_bytes) return Refuse(key, PutResult::kRefusedOverBudget);
    if (options_.max_entry_bytes != 0 && charge > options_.max_entry_bytes) return Refuse(key, PutResult::kRefusedOverEntryLimit);
    const bool replaced = Remove(key);
    EvictUntilFree(charge);
    order_.push_front(Node{std::move(key), std::move(value), charge});
    index_.emplace(std::string_view(order_.front().key), order_.begin());
    counters_.bytes += charge;
    ++counters_.entries;
    ++counters_.puts;
    if (replaced) ++counters_.replacements;
    return replaced ? PutResult::kReplaced : PutResult::kStored;
  }

  // The entry under `key` (now the most recently used), or null. Counts a hit or miss.
  Value Get(std::string_view key) {
    auto it = index_.find(key);
    if (it == index_.end()) {
      ++counters_.misses;
      return nullptr;
    }
    ++counters_.hits;
    order_.splice(order_.begin(), order_, it->second);
    return it->second->value;
  }

  // The entry under `key` without touching recency or counters, or null.
  Value Peek(std::string_view key) const {
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : it->second->value;
  }

  // Removes the entry under `key`; false if there was none.
  bool Erase(std::string_view key) {
    if (!Remove(key)) return false;
    ++counters_.erases;
    return true;
  }

  // Changes the budget, evicting least recently used entries down to it.
  void SetBudget(size_t budget_bytes) {
    options_.budget_bytes = budget_bytes;
    EvictUntilFree(0);
  }

  // The charge `Put(key, value)` would have against the budget.
  size_t ChargeOf(std::string_view key, const Entry& value) const {
    return key.size() + static_cast<size_t>(value.size_bytes()) + options_.per_entry_overhead_bytes;
  }

  size_t bytes() const { return counters_.bytes; }
  size_t entries() const { return counters_.entries; }
  size_t budget_bytes() const { return options_.budget_bytes; }
  const LruStoreCounters& counters() const { return counters_; }

  // Keys from most to least recently used (for tests and the monitor; O(n)).
  template <typename F>
  void ForEachByRecency(F&& f) const {
    for (const auto& n : order_) f(std::string_view(n.key), n.value);
  }

 private:
  struct Node {
    std::string key;  // the index's string_view keys point here: list nodes never move
    Value value;
    size_t charge;
  };
  using Order = std::list<Node>;

  PutResult Refuse(std::string_view key, PutResult why) {
    Remove(key);
    ++counters_.refusals;
    return why;
  }

  // Unlinks the key's entry if present, without counting it as an eviction or erase.
  bool Remove(std::string_view key) {
    auto it = index_.find(key);
    if (it == index_.end()) return false;
    auto node = it->second;
    index_.erase(it);  // before the node whose key the index's string_view points into
    counters_.bytes -= node->charge;
    --counters_.entries;
    order_.erase(node);
    return true;
  }

  // Evicts from the least recently used end until `incoming` more bytes fit.
  void EvictUntilFree(size_t incoming) {
    while (!order_.empty() && counters_.bytes + incoming > options_.budget_bytes) {
      const size_t charge = order_.back().charge;
      Remove(order_.back().key);
      ++counters_.evictions;
      counters_.evicted_bytes += charge;
    }
  }

  LruStoreOptions options_;
  Order order_;  // front: most recently used
  std::unordered_map<std::string_view, typename Order::iterator> index_;
  LruStoreCounters counters_;
};

}  // namespace tacc::tacc_layer
