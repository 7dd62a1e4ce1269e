#include "services/transend/response_cache.h"

#include <fmt/format.h>
#include <openssl/rand.h>

#include "common/metrics.h"
#include "tacc/cache_policy.h"
#include "tacc/fat_url.h"

namespace tacc::services {
namespace {

namespace bhttp = boost::beast::http;

// What the cache holds under a URL whose answer varies: "TVARY <generation>\n<Vary>".
constexpr std::string_view kVaryMarker = "TVARY ";
// Separators that can't appear in a URL: a secondary entry's key and a variant index's.
constexpr char kSecondarySeparator = '\x1e';
constexpr std::string_view kVariantIndexSuffix = "\x1dvariants";

struct CacheMetrics {
  Counter& local_hits = Metrics().counter("tacc_cache_local_hits_total", "Cache entries a front end found in its own memory (cache.local_budget_mb)");
  Counter& partition_gets = Metrics().counter("tacc_cache_partition_gets_total", "Cache entries a front end asked a partition for");
  Counter& partition_hits = Metrics().counter("tacc_cache_partition_hits_total", "Of those, found there");
  Counter& invalidations = Metrics().counter("tacc_cache_invalidations_total", "URLs forgotten after an unsafe request (RFC 9111 section 4.4)");
  Counter& variants_stored = Metrics().counter("tacc_cache_variants_stored_total", "Distilled variants kept, made by a chain or injected by a worker");
};
CacheMetrics& CacheCounters() {
  static CacheMetrics m;
  return m;
}

std::string NewGeneration() {
  uint64_t g = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&g), sizeof g) != 1) g = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  return fmt::format("{:016x}", g);
}

// "<generation>\n<Vary>" of a marker, or false if `bytes` is not one.
bool ParseMarker(std::string_view bytes, std::string& generation, std::string& vary) {
  if (!bytes.starts_with(kVaryMarker)) return false;
  bytes.remove_prefix(kVaryMarker.size());
  auto nl = bytes.find('\n');
  if (nl == std::string_view::npos || nl == 0) return false;
  generation.assign(bytes.substr(0, nl));
  vary.assign(bytes.substr(nl + 1));
  return true;
}

std::string SecondaryEntryKey(const std::string& primary, const std::string& generation, const std::string& secondary) {
  return primary + kSecondarySeparator + generation + kSecondarySeparator + secondary;
}

}  // namespace

ResponseCache::ResponseCache(sns::TaskDispatcher& tasks, ResponseCacheOptions options, std::function<Clock::time_point()> now)
    : partitions_(tasks, options.worker_class, options.timeout),
      options_(std::move(options)),
      now_(std::move(now)),
      local_(tacc_layer::LruStoreOptions{options_.local_budget_bytes, options_.local_max_object_bytes + 1024, 256}) {}

boost::asio::awaitable<std::shared_ptr<const ResponseCache::Local>> ResponseCache::Load(const std::string& key) {
  if (auto local = local_.Get(key)) {
    if (now_() - local->fetched < options_.local_ttl) {
      ++local_hits_;
      CacheCounters().local_hits.Inc();
      co_return local;
    }
    Forget(key);
  }
  CacheCounters().partition_gets.Inc();
  auto bytes = co_await partitions_.Get(key);
  if (!bytes) co_return nullptr;
  auto entry = std::make_shared<Local>();
  entry->fetched = now_();
  if (bytes->starts_with(kVaryMarker)) {
    entry->marker = std::move(*bytes);
  } else {
    auto decoded = DecodeCachedResponse(*bytes);
    if (!decoded) co_return nullptr;  // malformed: a miss
    entry->response = std::make_shared<const CachedResponse>(std::move(*decoded));
  }
  CacheCounters().partition_hits.Inc();
  Remember(key, entry);
  co_return entry;
}

void ResponseCache::Remember(const std::string& key, std::shared_ptr<const Local> entry) {
  if (options_.local_budget_bytes == 0 || options_.local_ttl.count() == 0) return;
  if (entry->response && entry->response->body.size() > options_.local_max_object_bytes) {
    Forget(key);
    return;
  }
  local_.Put(key, std::move(entry));
}

boost::asio::awaitable<CacheLookup> ResponseCache::Find(std::string url_key, const bhttp::fields& request) {
  CacheLookup out;
  out.primary = std::move(url_key);
  out.key = out.primary;
  auto entry = co_await Load(out.primary);
  if (entry && !entry->marker.empty()) {
    // The URL's answers vary: find the one for this request's selecting fields.
    if (!ParseMarker(entry->marker, out.generation, out.vary)) co_return out;
    bhttp::fields vary;
    vary.set(bhttp::field::vary, out.vary);
    auto secondary = tacc_layer::SecondaryKey(vary, request);
    if (!secondary) co_return out;
    out.key = SecondaryEntryKey(out.primary, out.generation, *secondary);
    entry = co_await Load(out.key);
  }
  if (entry && entry->response) out.stored = entry->response;
  co_return out;
}

boost::asio::awaitable<std::string> ResponseCache::StoreOriginal(const CacheLookup& lookup, CachedResponse entry) {
  std::string key = lookup.primary;
  if (auto vary = entry.headers.find(bhttp::field::vary); vary != entry.headers.end()) {
    // Kept under its secondary key; the URL's entry becomes (or stays) the marker. A
    // marker of the same fields keeps its generation, so that the URL's other
    // secondary entries stay reachable.
    std::string fields(vary->value());
    std::string generation = (!lookup.generation.empty() && lookup.vary == fields) ? lookup.generation : NewGeneration();
    if (generation != lookup.generation) {
      std::string marker = fmt::format("{}{}\n{}", kVaryMarker, generation, fields);
      Forget(lookup.primary);
      co_await partitions_.Put(lookup.primary, std::move(marker));
    }
    key = SecondaryEntryKey(lookup.primary, generation, entry.secondary_key);
  }
  co_await Replace(key, std::move(entry));
  co_return key;
}

boost::asio::awaitable<void> ResponseCache::Replace(const std::string& key, CachedResponse entry) {
  std::string encoded = EncodeCachedResponse(entry);
  auto local = std::make_shared<Local>();
  local->fetched = now_();
  local->response = std::make_shared<const CachedResponse>(std::move(entry));
  Remember(key, std::move(local));
  co_await partitions_.Put(key, std::move(encoded));
}

boost::asio::awaitable<void> ResponseCache::Invalidate(const std::string& primary) {
  CacheCounters().invalidations.Inc();
  // The URL's entry (an answer, or the marker: its secondary entries go with it) and
  // the list of its variants (whose keys name the original they came from).
  std::string index = primary + std::string(kVariantIndexSuffix);
  Forget(primary);
  co_await partitions_.Erase(primary);
  co_await partitions_.Erase(index);
}

std::string ResponseCache::VariantKey(const std::string& original_key, const std::map<std::string, std::string>& shape) {
  return tacc_layer::FatUrl(original_key, shape);
}

boost::asio::awaitable<std::shared_ptr<const CachedResponse>> ResponseCache::FindVariant(const std::string& variant_key) {
  auto entry = co_await Load(variant_key);
  co_return entry ? entry->response : nullptr;
}

boost::asio::awaitable<void> ResponseCache::StoreVariant(const std::string& original_key, const std::string& variant_key, CachedResponse variant) {
  CacheCounters().variants_stored.Inc();
  co_await Replace(variant_key, std::move(variant));
  std::string index = original_key + std::string(kVariantIndexSuffix);
  std::string line = variant_key;
  if (line.find('\n') == std::string::npos) co_await partitions_.Push(index, std::move(line), options_.variants_per_object);
}

boost::asio::awaitable<std::shared_ptr<const CachedResponse>> ResponseCache::AnyVariant(const std::string& original_key) {
  std::string index = original_key + std::string(kVariantIndexSuffix);
  auto list = co_await partitions_.Get(index);
  if (!list) co_return nullptr;
  std::string_view rest = *list;
  while (!rest.empty()) {
    auto nl = rest.find('\n');
    std::string key(rest.substr(0, nl));
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (key.empty()) continue;
    if (auto v = co_await FindVariant(key)) co_return v;
  }
  co_return nullptr;
}

ResponseCache::Counters ResponseCache::counters() const {
  Counters c;
  c.local_hits = local_hits_;
  c.local_entries = local_.entries();
  c.local_bytes = local_.bytes();
  return c;
}

}  // namespace tacc::services
