// ResponseCache: how TranSend keeps answers in the virtual cache (paper §3.1.5; issue 7).
//
// Originals are kept under their URL's key as a shared cache keeps them (RFC 9111; the
// decisions are tacc_layer::cache_policy's, made by the caller). An original whose
// answer has Vary is kept per secondary key; the URL's own entry is then a "Vary
// marker" naming the fields that select and a generation: invalidating the URL erases
// the marker, so every secondary entry of the old generation is unreachable at once.
// Distilled variants are kept under fat URLs (the original's key plus what shaped
// them), and each original's most recent variants are listed in an index, so that an
// overloaded or failed chain can answer with another variant (§3.1.8).
//
// Two tiers. The partitions (workers of cache.worker_class, reached through
// tacc_layer::VirtualCache) hold everything and are shared by all front ends. Each
// front-end thread also keeps what it used last (cache.local_budget_mb, objects up to
// cache.local_max_object_bytes), decoded, for cache.local_ttl_ms: a hot object then
// needs no round trip. The local copy is the partition's copy as it was when fetched,
// and the caller judges freshness on every answer, so the TTL only bounds how long a
// front end can miss another front end's revalidation or invalidation.
//
// Every failure is a miss: the cache only saves time. Not thread-safe: one per
// front-end thread (it uses that thread's TaskDispatcher).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/fields.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "services/transend/cached_response.h"
#include "sns/service.h"
#include "tacc/lru_store.h"
#include "tacc/virtual_cache.h"

namespace tacc::services {

struct ResponseCacheOptions {
  std::string worker_class = "cache";
  std::chrono::milliseconds timeout{200};  // a partition slower than this is a miss
  size_t local_budget_bytes = 0;           // this thread's share; 0: no local tier
  size_t local_max_object_bytes = 256 << 10;
  std::chrono::milliseconds local_ttl{1000};
  int variants_per_object = 8;
};

// Where a request's answer is, or would go.
struct CacheLookup {
  std::string primary;  // the URL's key
  std::string key;      // the entry for this request: the primary, or a secondary entry's key
  std::shared_ptr<const CachedResponse> stored;  // what is there, or null
  std::string vary;           // the Vary marker's fields, if the URL has one
  std::string generation;     // and its generation
};

class ResponseCache {
 public:
  using Clock = std::chrono::steady_clock;
  ResponseCache(sns::TaskDispatcher& tasks, ResponseCacheOptions options, std::function<Clock::time_point()> now = Clock::now);

  // The stored answer to `request` for the URL whose key is `url_key`, if any.
  boost::asio::awaitable<CacheLookup> Find(std::string url_key, const boost::beast::http::fields& request);
  // Keeps `entry`, an answer fetched for `lookup`'s request, and returns the key it went
  // under (a secondary entry's if the answer has Vary).
  boost::asio::awaitable<std::string> StoreOriginal(const CacheLookup& lookup, CachedResponse entry);
  // Replaces the entry under `key` (e.g. refreshed by a 304).
  boost::asio::awaitable<void> Replace(const std::string& key, CachedResponse entry);
  // Forgets everything stored for the URL (RFC 9111 §4.4: after an unsafe request).
  boost::asio::awaitable<void> Invalidate(const std::string& primary);

  // The key of the variant of the original under `original_key` shaped by `shape`.
  static std::string VariantKey(const std::string& original_key, const std::map<std::string, std::string>& shape);
  boost::asio::awaitable<std::shared_ptr<const CachedResponse>> FindVariant(const std::string& variant_key);
  // Keeps a variant and lists it first among the original's variants.
  boost::asio::awaitable<void> StoreVariant(const std::string& original_key, const std::string& variant_key, CachedResponse variant);
  // The most recent variant of the original that is still stored, if any.
  boost::asio::awaitable<std::shared_ptr<const CachedResponse>> AnyVariant(const std::string& original_key);

  struct Counters {
    uint64_t local_hits = 0;  // answered from this thread's memory
    uint64_t local_entries = 0;
    uint64_t local_bytes = 0;
  };
  Counters counters() const;

 private:
  struct Local {
    std::shared_ptr<const CachedResponse> response;  // or
    std::string marker;                              // the raw Vary marker
    Clock::time_point fetched;
    size_t size_bytes() const { return marker.size() + (response ? response->body.size() + 512 : 0); }
  };
  // The entry under `key`: from this thread's memory if fetched within the TTL, else
  // from its partition (and then remembered).
  boost::asio::awaitable<std::shared_ptr<const Local>> Load(const std::string& key);
  void Remember(const std::string& key, std::shared_ptr<const Local> entry);
  void Forget(const std::string& key) { local_.Erase(key); }

  tacc_layer::VirtualCache partitions_;
  ResponseCacheOptions options_;
  std::function<Clock::time_point()> now_;
  tacc_layer::LruStore<Local> local_;
  uint64_t local_hits_ = 0;
};

}  // namespace tacc::services
