#include "tacc/cached_profile_store.h"

#include <utility>
#include <vector>

namespace tacc::tacc_layer {

namespace asio = boost::asio;

CachedProfileStore::CachedProfileStore(ProfileStore& backing, ProfileCacheOptions options, Clock clock)
    : backing_(backing), options_(options), clock_(std::move(clock)), feed_seen_(options.feed ? options.feed->seq() : 0) {}

CachedProfileStore::CachedProfileStore(ProfileStore& backing, ProfileCacheOptions options)
    : CachedProfileStore(backing, options, [] { return std::chrono::steady_clock::now(); }) {}

void CachedProfileStore::CatchUp() {
  if (!options_.feed || options_.feed->seq() == feed_seen_) return;
  std::vector<std::string> written;
  if (!options_.feed->Since(&feed_seen_, this, &written)) {
    counters_.dropped_by_feed += index_.size();
    Clear();
    return;
  }
  for (const auto& token : written) {
    if (index_.count(token)) ++counters_.dropped_by_feed;
    Invalidate(token);
  }
}

asio::awaitable<Result<std::optional<Profile>>> CachedProfileStore::Get(std::string token) {
  CatchUp();
  if (auto it = index_.find(token); it != index_.end()) {
    if (clock_() < it->second->expires) {
      lru_.splice(lru_.begin(), lru_, it->second);
      ++counters_.hits;
      if (!it->second->profile) ++counters_.negative_hits;
      co_return it->second->profile;
    }
    ++counters_.expired;
    lru_.erase(it->second);
    index_.erase(it);
  }
  ++counters_.misses;
  // Whatever a fetch overlapping a write returns may predate that write: not cached.
  bool quiet = writes_in_flight_ == 0;
  uint64_t epoch = write_epoch_;
  auto fetched = co_await backing_.Get(token);
  if (!fetched.ok()) {
    ++counters_.backing_errors;
    co_return fetched;
  }
  if (quiet && epoch == write_epoch_) {
    Insert(token, *fetched);
  } else {
    ++counters_.not_cached;
  }
  co_return fetched;
}

asio::awaitable<Status> CachedProfileStore::Put(std::string token, Profile profile) {
  co_return co_await Write(std::move(token), std::optional<Profile>(std::move(profile)));
}

asio::awaitable<Status> CachedProfileStore::Erase(std::string token) { co_return co_await Write(std::move(token), std::nullopt); }

asio::awaitable<Status> CachedProfileStore::Write(std::string token, std::optional<Profile> profile) {
  // Drop the entry first: while the write is in flight nobody may read the old state
  // from here, and a racing Get will not cache what it fetched.
  Invalidate(token);
  bool alone = writes_in_flight_ == 0;
  uint64_t epoch = ++write_epoch_;
  ++writes_in_flight_;
  Status s;
  if (profile) {
    s = co_await backing_.Put(token, *profile);
  } else {
    s = co_await backing_.Erase(token);
  }
  --writes_in_flight_;
  if (!s.ok()) {
    ++counters_.write_failures;
    Invalidate(token);
    co_return s;
  }
  if (options_.feed) options_.feed->Published(token, this);
  // Cache the new state only if no other write overlapped this one (if one did, their
  // order at the backing store is unknown here, so the next Get asks the store).
  if (alone && epoch == write_epoch_) {
    Insert(token, std::move(profile));
  } else {
    Invalidate(token);
  }
  co_return s;
}

void CachedProfileStore::Insert(const std::string& token, std::optional<Profile> profile) {
  if (options_.max_entries == 0) return;
  auto expires = clock_() + options_.ttl;
  if (auto it = index_.find(token); it != index_.end()) {
    it->second->profile = std::move(profile);
    it->second->expires = expires;
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  lru_.push_front(Entry{token, std::move(profile), expires});
  index_.emplace(token, lru_.begin());
  while (index_.size() > options_.max_entries) {
    index_.erase(lru_.back().token);
    lru_.pop_back();
    ++counters_.evicted;
  }
}

void CachedProfileStore::Invalidate(const std::string& token) {
  auto it = index_.find(token);
  if (it == index_.end()) return;
  lru_.erase(it->second);
  index_.erase(it);
}

void CachedProfileStore::Clear() {
  lru_.clear();
  index_.clear();
}

}  // namespace tacc::tacc_layer
