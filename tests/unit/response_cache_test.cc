// TranSend's ResponseCache over real cache-partition workers run in-process: the local
// tier (hits without a round trip, its TTL, its size limit), Vary markers and their
// generations, invalidation, variants and their index, and partitions that fail.
#include <gtest/gtest.h>

#include <boost/beast/http/fields.hpp>

#include "async_test_util.h"
#include "services/transend/response_cache.h"
#include "sns/worker_registry.h"
#include "tacc/cache_policy.h"

namespace tacc::testing {
namespace {

namespace bhttp = boost::beast::http;
using services::CachedResponse;
using services::ResponseCache;
using services::ResponseCacheOptions;

// Partitions are the built-in "cache" worker function, called in-process; counts calls.
class FakePartitions : public sns::TaskDispatcher {
 public:
  explicit FakePartitions(int count) {
    for (int i = 0; i < count; ++i) {
      auto fn = sns::FindWorkerImpl("cache")->factory({{"budget_mb", "4"}});
      EXPECT_TRUE(fn.ok());
      partitions_["cache@p" + std::to_string(i)] = std::move(*fn);
    }
  }
  asio::awaitable<Result<sns::TaskOutput>> Dispatch(const std::string&, sns::TaskInput, std::chrono::steady_clock::time_point,
                                                    sns::DispatchInfo*) override {
    co_return Status::Internal("not used");
  }
  std::optional<double> ClassLoad(const std::string&) const override { return std::nullopt; }
  std::vector<std::string> WorkersOf(const std::string&) const override {
    std::vector<std::string> ids;
    for (const auto& [id, fn] : partitions_) ids.push_back(id);
    return ids;
  }
  asio::awaitable<Result<sns::TaskOutput>> DispatchTo(const std::string&, const std::string& id, sns::TaskInput in,
                                                      std::chrono::steady_clock::time_point) override {
    ++calls;
    if (down) co_return Status::Unavailable("partition down");
    auto it = partitions_.find(id);
    if (it == partitions_.end()) co_return Status::Unavailable("no such partition");
    co_return it->second->Process(in);
  }
  int calls = 0;
  bool down = false;

 private:
  std::map<std::string, sns::WorkerFunctionPtr> partitions_;
};

CachedResponse Answer(std::string body, std::string vary = "") {
  CachedResponse r;
  r.headers.set(bhttp::field::content_type, "text/plain");
  if (!vary.empty()) r.headers.set(bhttp::field::vary, vary);
  r.body = std::move(body);
  return r;
}

bhttp::fields Request(std::string accept_language = "") {
  bhttp::fields f;
  if (!accept_language.empty()) f.set(bhttp::field::accept_language, accept_language);
  return f;
}

// Coroutine helpers that keep the test bodies free of temporaries inside co_await
// expressions (GCC 12 destroys some of those twice).
asio::awaitable<std::shared_ptr<const CachedResponse>> Stored(ResponseCache& cache, std::string url, bhttp::fields request) {
  auto found = co_await cache.Find(url, request);
  co_return found.stored;
}

asio::awaitable<void> Store(ResponseCache& cache, std::string url, bhttp::fields request, CachedResponse answer) {
  auto found = co_await cache.Find(url, request);
  co_await cache.StoreOriginal(found, std::move(answer));
}

class ResponseCacheTest : public ::testing::Test {
 protected:
  ResponseCacheOptions Options(size_t local_budget = 1 << 20) {
    ResponseCacheOptions o;
    o.local_budget_bytes = local_budget;
    o.local_max_object_bytes = 1000;
    o.local_ttl = std::chrono::milliseconds(1000);
    return o;
  }
  ResponseCache::Clock::time_point now_ = ResponseCache::Clock::time_point(std::chrono::hours(1));
  std::function<ResponseCache::Clock::time_point()> clock_ = [this] { return now_; };
  asio::io_context ctx_;
};

TEST_F(ResponseCacheTest, ALocalHitNeedsNoPartitionUntilItsTtlPasses) {
  FakePartitions parts(2);
  ResponseCache cache(parts, Options(), clock_);
  RunCoroutine(ctx_, [&]() -> asio::awaitable<void> {
    EXPECT_FALSE(co_await Stored(cache, "http://a/x", Request()));
    CachedResponse a = Answer("hello");
    co_await Store(cache, "http://a/x", Request(), std::move(a));
    int before = parts.calls;
    auto hit = co_await Stored(cache, "http://a/x", Request());
    CO_ASSERT_TRUE(hit);
    EXPECT_EQ(hit->body, "hello");
    EXPECT_EQ(parts.calls, before) << "a hot object went to its partition";
    EXPECT_EQ(cache.counters().local_hits, 1u);
    // After the TTL the partition is asked again (and still has it).
    now_ += std::chrono::milliseconds(1001);
    auto again = co_await Stored(cache, "http://a/x", Request());
    CO_ASSERT_TRUE(again);
    EXPECT_EQ(parts.calls, before + 1);
  });
}

TEST_F(ResponseCacheTest, ObjectsOverTheLocalLimitAreAlwaysFetchedFromTheirPartition) {
  FakePartitions parts(1);
  ResponseCache cache(parts, Options(), clock_);
  RunCoroutine(ctx_, [&]() -> asio::awaitable<void> {
    CachedResponse big = Answer(std::string(5000, 'b'));
    co_await Store(cache, "http://a/big", Request(), std::move(big));
    int before = parts.calls;
    for (int i = 0; i < 3; ++i) {
      auto hit = co_await Stored(cache, "http://a/big", Request());
      CO_ASSERT_TRUE(hit);
      EXPECT_EQ(hit->body.size(), 5000u);
    }
    EXPECT_EQ(parts.calls, before + 3);
    EXPECT_EQ(cache.counters().local_entries, 0u);
  });
}

TEST_F(ResponseCacheTest, WithoutALocalBudgetEveryLookupAsksThePartition) {
  FakePartitions parts(1);
  ResponseCache cache(parts, Options(0), clock_);
  RunCoroutine(ctx_, [&]() -> asio::awaitable<void> {
    CachedResponse x = Answer("x");
    co_await Store(cache, "http://a/x", Request(), std::move(x));
    int before = parts.calls;
    EXPECT_TRUE(co_await Stored(cache, "http://a/x", Request()));
    EXPECT_EQ(parts.calls, before + 1);
  });
}

TEST_F(ResponseCacheTest, VaryKeepsOneEntryPerSecondaryKeyAndInvalidationForgetsThemAll) {
  FakePartitions parts(2);
  // No local tier, so that every answer below comes from the partitions.
  ResponseCache cache(parts, Options(0), clock_);
  RunCoroutine(ctx_, [&]() -> asio::awaitable<void> {
    const std::string url = "http://a/page";
    for (std::string lang : {"en", "fr"}) {
      EXPECT_FALSE(co_await Stored(cache, url, Request(lang))) << lang;
      CachedResponse r = Answer("in " + lang, "Accept-Language");
      r.secondary_key = *tacc_layer::SecondaryKey(r.headers, Request(lang));
      co_await Store(cache, url, Request(lang), std::move(r));
    }
    auto en = co_await Stored(cache, url, Request("en"));
    auto fr = co_await Stored(cache, url, Request("fr"));
    CO_ASSERT_TRUE(en && fr);
    EXPECT_EQ(en->body, "in en");  // storing fr kept en reachable (same generation)
    EXPECT_EQ(fr->body, "in fr");
    EXPECT_FALSE(co_await Stored(cache, url, Request("de")));

    co_await cache.Invalidate(url);
    EXPECT_FALSE(co_await Stored(cache, url, Request("en")));
    // A new answer with Vary starts a new generation: fr's old entry is not reachable.
    CachedResponse r = Answer("in en, new", "Accept-Language");
    r.secondary_key = *tacc_layer::SecondaryKey(r.headers, Request("en"));
    co_await Store(cache, url, Request("en"), std::move(r));
    auto en2 = co_await Stored(cache, url, Request("en"));
    CO_ASSERT_TRUE(en2);
    EXPECT_EQ(en2->body, "in en, new");
    EXPECT_FALSE(co_await Stored(cache, url, Request("fr"))) << "an invalidated secondary entry came back";
  });
}

TEST_F(ResponseCacheTest, InvalidationReachesTheLocalTier) {
  FakePartitions parts(1);
  ResponseCache cache(parts, Options(), clock_);
  RunCoroutine(ctx_, [&]() -> asio::awaitable<void> {
    CachedResponse old = Answer("old");
    co_await Store(cache, "http://a/x", Request(), std::move(old));
    EXPECT_TRUE(co_await Stored(cache, "http://a/x", Request()));
    co_await cache.Invalidate("http://a/x");
    EXPECT_FALSE(co_await Stored(cache, "http://a/x", Request()));
  });
}

TEST_F(ResponseCacheTest, AnyVariantIsTheMostRecentOneStillStored) {
  FakePartitions parts(3);
  ResponseCache cache(parts, Options(0), clock_);
  RunCoroutine(ctx_, [&]() -> asio::awaitable<void> {
    const std::string original = "http://a/img";
    EXPECT_FALSE(co_await cache.AnyVariant(original));
    std::string k1 = ResponseCache::VariantKey(original, {{"w", "100"}});
    std::string k2 = ResponseCache::VariantKey(original, {{"w", "200"}});
    EXPECT_NE(k1, k2);
    CachedResponse v1 = Answer("w100"), v2 = Answer("w200");
    co_await cache.StoreVariant(original, k1, std::move(v1));
    co_await cache.StoreVariant(original, k2, std::move(v2));
    auto any = co_await cache.AnyVariant(original);
    CO_ASSERT_TRUE(any);
    EXPECT_EQ(any->body, "w200");
    auto first = co_await cache.FindVariant(k1);
    CO_ASSERT_TRUE(first);
    EXPECT_EQ(first->body, "w100");
    // Invalidating the original forgets its list of variants.
    co_await cache.Invalidate(original);
    EXPECT_FALSE(co_await cache.AnyVariant(original));
  });
}

TEST_F(ResponseCacheTest, TheVariantIndexKeepsOnlyTheNewestVariants) {
  FakePartitions parts(1);
  ResponseCacheOptions o = Options(0);
  o.variants_per_object = 2;
  ResponseCache cache(parts, o, clock_);
  RunCoroutine(ctx_, [&]() -> asio::awaitable<void> {
    const std::string original = "http://a/img";
    auto key = [&](int w) { return ResponseCache::VariantKey(original, {{"w", std::to_string(w)}}); };
    for (int w : {1, 2, 3}) {
      std::string k = key(w);
      CachedResponse v = Answer("w" + std::to_string(w));
      co_await cache.StoreVariant(original, k, std::move(v));
    }
    // The index lists w3 and w2 only: w1 is still stored but no longer offered.
    const std::string partition = parts.WorkersOf("cache")[0], cls = "cache";
    for (int w : {3, 2}) {
      sns::TaskInput erase;
      erase.args = {{"op", "erase"}, {"key", key(w)}};
      const auto deadline = std::chrono::steady_clock::now() + 1s;
      auto erased = co_await parts.DispatchTo(cls, partition, std::move(erase), deadline);
      EXPECT_TRUE(erased.ok());
      if (w == 3) {
        auto next = co_await cache.AnyVariant(original);
        CO_ASSERT_TRUE(next);
        EXPECT_EQ(next->body, "w2");
      }
    }
    EXPECT_TRUE(co_await cache.FindVariant(key(1)));
    EXPECT_FALSE(co_await cache.AnyVariant(original));
  });
}

TEST_F(ResponseCacheTest, DownPartitionsAreMissesNotErrors) {
  FakePartitions parts(2);
  ResponseCache cache(parts, Options(0), clock_);
  parts.down = true;
  RunCoroutine(ctx_, [&]() -> asio::awaitable<void> {
    EXPECT_FALSE(co_await Stored(cache, "http://a/x", Request()));
    CachedResponse x = Answer("x");
    co_await Store(cache, "http://a/x", Request(), std::move(x));
    EXPECT_FALSE(co_await Stored(cache, "http://a/x", Request()));
    EXPECT_FALSE(co_await cache.AnyVariant("http://a/x"));
  });
}

}  // namespace
}  // namespace tacc::testing
