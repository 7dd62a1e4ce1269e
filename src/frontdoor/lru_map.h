// LruMap: a hash map of bounded size that forgets its least recently used entry first.
// The policies' memory of targets (LARD) and clients (affinity) lives in one, so that no
// stream of new keys (a crawler, a flood of spoofed addresses) grows it past its bound.
// An entry is "used" when it is put or touched; Peek does not count.
//
// At the bound, Put re-keys the evicted entry's nodes in place, so a full map allocates
// nothing more. Thread safety: none (one per policy, one policy per thread).
#pragma once

#include <cassert>
#include <cstddef>
#include <list>
#include <unordered_map>
#include <utility>

namespace tacc::frontdoor {

template <typename Key, typename Value, typename Hash>
class LruMap {
 public:
  struct Entry {
    Key key;
    Value value;
  };

  // capacity >= 1: the most entries the map holds.
  explicit LruMap(size_t capacity, Hash hash = {}) : capacity_(capacity < 1 ? 1 : capacity), index_(0, std::move(hash)) {}

  // The value for `key`, now the most recently used; nullptr when absent.
  Value* Touch(const Key& key) {
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    order_.splice(order_.begin(), order_, it->second);
    return &it->second->value;
  }
  // The value for `key` without counting a use; nullptr when absent.
  Value* Peek(const Key& key) {
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : &it->second->value;
  }
  // Sets `key` to `value` (inserting or replacing), now the most recently used; at the
  // bound the least recently used entry goes.
  Value& Put(const Key& key, Value value) {
    if (auto it = index_.find(key); it != index_.end()) {
      order_.splice(order_.begin(), order_, it->second);
      it->second->value = std::move(value);
      return it->second->value;
    }
    if (index_.size() >= capacity_) {
      auto oldest = std::prev(order_.end());
      auto node = index_.extract(oldest->key);
      assert(!node.empty());
      node.key() = key;
      oldest->key = key;
      oldest->value = std::move(value);
      order_.splice(order_.begin(), order_, oldest);
      index_.insert(std::move(node));
      return oldest->value;
    }
    order_.push_front(Entry{key, std::move(value)});
    index_.emplace(key, order_.begin());
    return order_.front().value;
  }
  bool Erase(const Key& key) {
    auto it = index_.find(key);
    if (it == index_.end()) return false;
    order_.erase(it->second);
    index_.erase(it);
    return true;
  }
  // The least recently used entry; nullptr when empty.
  const Entry* Oldest() const { return order_.empty() ? nullptr : &order_.back(); }
  void PopOldest() {
    if (order_.empty()) return;
    index_.erase(order_.back().key);
    order_.pop_back();
  }

  size_t size() const { return index_.size(); }
  size_t capacity() const { return capacity_; }

 private:
  size_t capacity_;
  std::list<Entry> order_;  // front: most recently used
  std::unordered_map<Key, typename std::list<Entry>::iterator, Hash> index_;
};

}  // namespace tacc::frontdoor
