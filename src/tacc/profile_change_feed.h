// ProfileChangeFeed: tells every front-end thread of this process which profiles were
// just written through another thread's cache (SNS paper §3.1, the customization
// database; ARCHITECTURE.md, Profiles).
//
// Each front-end thread keeps its own CachedProfileStore. Without this feed, a user who
// saves preferences on one thread would get the old ones from another thread's cache for
// up to profiles.cache_ttl_ms. With it, a write through any cache is published here, and
// every other cache drops that token at its next Get: one atomic load per Get when
// nothing changed. Writes by other processes (other front ends) still show within the
// TTL: that staleness is the BASE part of the design.
//
// The log keeps the last kCapacity writes; a cache that fell further behind drops
// everything it holds. Thread safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace tacc::tacc_layer {

class ProfileChangeFeed {
 public:
  static constexpr size_t kCapacity = 4096;

  // The feed shared by every cache of this process.
  static ProfileChangeFeed& Process();

  // `token` was written (Put or Erase succeeded) through the cache `writer`.
  void Published(const std::string& token, const void* writer);

  // The newest write's sequence number (0: none yet).
  uint64_t seq() const { return seq_.load(std::memory_order_acquire); }

  // Tokens written by others than `reader` after sequence *seen, into *tokens; moves *seen
  // to the newest. False: the log no longer reaches back to *seen (drop everything).
  bool Since(uint64_t* seen, const void* reader, std::vector<std::string>* tokens) const;

 private:
  struct Change {
    uint64_t seq;
    std::string token;
    const void* writer;
  };
  mutable std::mutex mu_;
  std::deque<Change> log_;  // oldest first
  std::atomic<uint64_t> seq_{0};
};

}  // namespace tacc::tacc_layer
