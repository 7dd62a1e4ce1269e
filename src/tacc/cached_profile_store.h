// CachedProfileStore: a front end's read-through, write-through cache in front of the
// customization database (SNS paper §3.1; ARCHITECTURE.md, Profiles).
//
// Every request needs its user's profile, so each front-end thread keeps recent ones in
// memory: an LRU bounded by entry count, where users without a profile are remembered
// too (negative entries: most users never set one). A write through another thread's
// cache of this process reaches this one through `feed` (ProfileChangeFeed) at the next
// Get. Another front end may change a profile behind our back, so entries also expire
// after `ttl`: a change made in another process shows here within ttl. This staleness is
// the BASE part; the backing store stays ACID.
//
// Get: a fresh entry answers at once (hit); otherwise the backing store is asked (miss)
// and its answer cached, unless a Put or Erase through this cache overlapped the fetch
// (the answer could predate that write). Errors are returned, not cached.
// Put/Erase: write to the backing store first; on success the cache holds the new state,
// on failure the entry is dropped (the next Get asks the backing store).
//
// Time comes from an injectable clock (tests use a fake one). Thread safety: none; one
// cache per front-end thread, used from coroutines on that thread's executor only.
// Ownership: `backing` is borrowed and must outlive the cache and its calls.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>

#include "common/status.h"
#include "tacc/profile.h"
#include "tacc/profile_change_feed.h"
#include "tacc/profile_store.h"

namespace tacc::tacc_layer {

struct ProfileCacheOptions {
  size_t max_entries = 10000;  // 0 disables caching (every call goes to the backing store)
  std::chrono::milliseconds ttl{30000};
  ProfileChangeFeed* feed = nullptr;  // writes of the other caches of this process (none: TTL only)
};

class CachedProfileStore final : public ProfileStore {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  // The degraded and interesting paths, for the owner to export as metrics.
  struct Counters {
    uint64_t hits = 0;            // answered from the cache (negative hits included)
    uint64_t negative_hits = 0;   // ... of which "this user has no profile"
    uint64_t misses = 0;          // asked the backing store (expired entries included)
    uint64_t expired = 0;         // entries found older than ttl
    uint64_t evicted = 0;         // entries dropped to stay within max_entries
    uint64_t backing_errors = 0;  // backing store Get failed (error returned to the caller)
    uint64_t write_failures = 0;  // backing store Put/Erase failed (entry dropped)
    uint64_t not_cached = 0;      // a fetched answer not cached because a write raced it
    uint64_t dropped_by_feed = 0; // entries dropped because another thread wrote them
  };

  CachedProfileStore(ProfileStore& backing, ProfileCacheOptions options, Clock clock);
  CachedProfileStore(ProfileStore& backing, ProfileCacheOptions options);  // steady_clock::now

  boost::asio::awaitable<Result<std::optional<Profile>>> Get(std::string token) override;
  boost::asio::awaitable<Status> Put(std::string token, Profile profile) override;
  boost::asio::awaitable<Status> Erase(std::string token) override;

  // Forgets `token` (e.g. on a hint that another front end changed it).
  void Invalidate(const std::string& token);
  void Clear();

  const Counters& counters() const { return counters_; }
  size_t size() const { return index_.size(); }

 private:
  struct Entry {
    std::string token;
    std::optional<Profile> profile;  // nullopt: the user has no profile
    std::chrono::steady_clock::time_point expires;
  };
  using Lru = std::list<Entry>;  // most recently used first

  boost::asio::awaitable<Status> Write(std::string token, std::optional<Profile> profile);
  void Insert(const std::string& token, std::optional<Profile> profile);
  void CatchUp();  // drops what other caches wrote since the last call

  ProfileStore& backing_;
  ProfileCacheOptions options_;
  Clock clock_;
  Lru lru_;
  std::unordered_map<std::string, Lru::iterator> index_;
  // Coroutines on one thread still interleave at every co_await, so a fetch or a write
  // that overlapped a write (of any token: writes are rare) leaves the cache alone.
  // write_epoch_ is bumped when a Put or Erase starts.
  uint64_t write_epoch_ = 0;
  uint64_t feed_seen_ = 0;  // the feed's sequence number this cache has caught up to
  int writes_in_flight_ = 0;
  Counters counters_;
};

}  // namespace tacc::tacc_layer
