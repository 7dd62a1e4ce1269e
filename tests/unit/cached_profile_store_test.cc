#include "tacc/cached_profile_store.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <map>
#include <memory>

#include "async_test_util.h"

namespace tacc::tacc_layer {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using tacc::testing::Event;
using tacc::testing::RunCoroutine;

// A backing store in memory that counts calls, can be told to fail, and can hold Gets
// (answering with what it read before being held) to let a test interleave a write.
class FakeStore : public ProfileStore {
 public:
  asio::awaitable<Result<std::optional<Profile>>> Get(std::string token) override {
    ++gets;
    if (fail_gets) co_return Status::Unavailable("fake: down");
    std::optional<Profile> found;
    if (auto it = data.find(token); it != data.end()) found = it->second;
    if (hold_gets) {
      held.push_back(std::make_unique<Event>(co_await asio::this_coro::executor));
      Event* release = held.back().get();
      co_await release->Wait(5s);
    }
    co_return found;
  }
  asio::awaitable<Status> Put(std::string token, Profile profile) override {
    ++puts;
    if (fail_writes) co_return Status::Unavailable("fake: disk full");
    data[token] = std::move(profile);
    co_return Status::Ok();
  }
  asio::awaitable<Status> Erase(std::string token) override {
    ++erases;
    if (fail_writes) co_return Status::Unavailable("fake: disk full");
    data.erase(token);
    co_return Status::Ok();
  }

  std::map<std::string, Profile> data;
  int gets = 0, puts = 0, erases = 0;
  bool fail_gets = false, fail_writes = false, hold_gets = false;
  std::vector<std::unique_ptr<Event>> held;
};

class CachedProfileStoreTest : public ::testing::Test {
 protected:
  CachedProfileStore Cache(size_t max_entries) {
    return CachedProfileStore(backing_, ProfileCacheOptions{max_entries, 10s}, [this] { return now_; });
  }
  static Profile Prefs(const std::string& quality) {
    Profile p;
    p.Set("image.quality", quality);
    return p;
  }

  asio::io_context io_;
  FakeStore backing_;
  std::chrono::steady_clock::time_point now_{std::chrono::hours(1)};
};

TEST_F(CachedProfileStoreTest, SecondGetIsAHit) {
  backing_.data["u"] = Prefs("30");
  auto cache = Cache(100);
  RunCoroutine(io_, [&]() -> asio::awaitable<void> {
    for (int i = 0; i < 3; ++i) {
      auto got = co_await cache.Get(std::string("u"));
      CO_ASSERT_TRUE(got.ok() && got->has_value());
      EXPECT_EQ(**got, Prefs("30"));
    }
  });
  EXPECT_EQ(backing_.gets, 1);
  EXPECT_EQ(cache.counters().misses, 1u);
  EXPECT_EQ(cache.counters().hits, 2u);
  EXPECT_EQ(cache.counters().negative_hits, 0u);
}

TEST_F(CachedProfileStoreTest, NoProfileIsCachedToo) {
  auto cache = Cache(100);
  RunCoroutine(io_, [&]() -> asio::awaitable<void> {
    for (int i = 0; i < 3; ++i) {
      auto got = co_await cache.Get(std::string("nobody"));
      CO_ASSERT_TRUE(got.ok());
      EXPECT_FALSE(got->has_value());
    }
  });
  EXPECT_EQ(backing_.gets, 1);
  EXPECT_EQ(cache.counters().negative_hits, 2u);
}

TEST_F(CachedProfileStoreTest, EntriesExpireAfterTtl) {
  backing_.data["u"] = Prefs("30");
  auto cache = Cache(100);
  RunCoroutine(io_, [&]() -> asio::awaitable<void> {
    EXPECT_TRUE((co_await cache.Get(std::string("u"))).ok());
    backing_.data["u"] = Prefs("80");  // another front end writes
    now_ += 9s;
    auto got = co_await cache.Get(std::string("u"));
    CO_ASSERT_TRUE(got.ok() && got->has_value());
    EXPECT_EQ(**got, Prefs("30"));  // stale within ttl: the BASE part
    now_ += 1s;
    got = co_await cache.Get(std::string("u"));
    CO_ASSERT_TRUE(got.ok() && got->has_value());
    EXPECT_EQ(**got, Prefs("80"));
  });
  EXPECT_EQ(backing_.gets, 2);
  EXPECT_EQ(cache.counters().expired, 1u);
  EXPECT_EQ(cache.counters().misses, 2u);
}

TEST_F(CachedProfileStoreTest, EvictsTheLeastRecentlyUsed) {
  for (const char* u : {"a", "b", "c"}) backing_.data[u] = Prefs(u);
  auto cache = Cache(2);
  RunCoroutine(io_, [&]() -> asio::awaitable<void> {
    EXPECT_TRUE((co_await cache.Get(std::string("a"))).ok());
    EXPECT_TRUE((co_await cache.Get(std::string("b"))).ok());
    EXPECT_TRUE((co_await cache.Get(std::string("a"))).ok());  // a is now the most recent
    EXPECT_TRUE((co_await cache.Get(std::string("c"))).ok());  // evicts b
    EXPECT_EQ(backing_.gets, 3);
    EXPECT_TRUE((co_await cache.Get(std::string("a"))).ok());
    EXPECT_TRUE((co_await cache.Get(std::string("c"))).ok());
    EXPECT_EQ(backing_.gets, 3);
    EXPECT_TRUE((co_await cache.Get(std::string("b"))).ok());
    EXPECT_EQ(backing_.gets, 4);
  });
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.counters().evicted, 2u);
}

TEST_F(CachedProfileStoreTest, ZeroEntriesDisablesCaching) {
  auto cache = Cache(0);
  RunCoroutine(io_, [&]() -> asio::awaitable<void> {
    EXPECT_TRUE((co_await cache.Get(std::string("u"))).ok());
    EXPECT_TRUE((co_await cache.Get(std::string("u"))).ok());
  });
  EXPECT_EQ(backing_.gets, 2);
  EXPECT_EQ(cache.size(), 0u);
}

TEST_F(CachedProfileStoreTest, PutWritesThrough) {
  auto cache = Cache(100);
  RunCoroutine(io_, [&]() -> asio::awaitable<void> {
    EXPECT_TRUE((co_await cache.Get(std::string("u"))).ok());  // negative entry
    EXPECT_TRUE((co_await cache.Put(std::string("u"), Prefs("40"))).ok());
    EXPECT_EQ(backing_.data.at("u"), Prefs("40"));
    auto got = co_await cache.Get(std::string("u"));
    CO_ASSERT_TRUE(got.ok() && got->has_value());
    EXPECT_EQ(**got, Prefs("40"));
    EXPECT_EQ(backing_.gets, 1);  // answered from the cache

    EXPECT_TRUE((co_await cache.Erase(std::string("u"))).ok());
    EXPECT_EQ(backing_.data.count("u"), 0u);
    got = co_await cache.Get(std::string("u"));
    CO_ASSERT_TRUE(got.ok());
    EXPECT_FALSE(got->has_value());
    EXPECT_EQ(backing_.gets, 1);
  });
}

TEST_F(CachedProfileStoreTest, FailedWriteDropsTheEntry) {
  backing_.data["u"] = Prefs("30");
  auto cache = Cache(100);
  RunCoroutine(io_, [&]() -> asio::awaitable<void> {
    EXPECT_TRUE((co_await cache.Get(std::string("u"))).ok());
    backing_.fail_writes = true;
    Status s = co_await cache.Put(std::string("u"), Prefs("99"));
    EXPECT_EQ(s.kind(), ErrorKind::kUnavailable);
    EXPECT_EQ(cache.size(), 0u);
    backing_.fail_writes = false;
    auto got = co_await cache.Get(std::string("u"));  // asks the backing store again
    CO_ASSERT_TRUE(got.ok() && got->has_value());
    EXPECT_EQ(**got, Prefs("30"));
    EXPECT_EQ(backing_.gets, 2);
    backing_.fail_writes = true;
    EXPECT_FALSE((co_await cache.Erase(std::string("u"))).ok());
    EXPECT_EQ(cache.size(), 0u);
  });
  EXPECT_EQ(cache.counters().write_failures, 2u);
}

TEST_F(CachedProfileStoreTest, BackingErrorsAreReturnedNotCached) {
  auto cache = Cache(100);
  backing_.fail_gets = true;
  RunCoroutine(io_, [&]() -> asio::awaitable<void> {
    auto got = co_await cache.Get(std::string("u"));
    EXPECT_EQ(got.status().kind(), ErrorKind::kUnavailable);
    backing_.fail_gets = false;
    backing_.data["u"] = Prefs("5");
    got = co_await cache.Get(std::string("u"));
    CO_ASSERT_TRUE(got.ok() && got->has_value());
    EXPECT_EQ(**got, Prefs("5"));
  });
  EXPECT_EQ(cache.counters().backing_errors, 1u);
  EXPECT_EQ(backing_.gets, 2);
}

// A Get that fetched the old profile while a Put went through must not put the old
// profile back in the cache.
TEST_F(CachedProfileStoreTest, FetchRacingAWriteIsNotCached) {
  backing_.data["u"] = Prefs("old");
  auto cache = Cache(100);
  RunCoroutine(io_, [&]() -> asio::awaitable<void> {
    backing_.hold_gets = true;
    std::optional<Result<std::optional<Profile>>> slow;
    Event fetched(io_.get_executor());
    asio::co_spawn(
        io_,
        [&]() -> asio::awaitable<void> {
          slow.emplace(co_await cache.Get(std::string("u")));
          fetched.Set();
        },
        asio::detached);
    co_await tacc::testing::Pause(std::chrono::milliseconds(1));
    CO_ASSERT_TRUE(backing_.held.size() == 1u);  // the Get read "old" and is held
    backing_.hold_gets = false;
    EXPECT_TRUE((co_await cache.Put(std::string("u"), Prefs("new"))).ok());
    backing_.held[0]->Set();
    EXPECT_TRUE(co_await fetched.Wait());
    CO_ASSERT_TRUE(slow && slow->ok() && (*slow)->has_value());
    EXPECT_EQ(**(*slow), Prefs("old"));  // its answer is what it read
    auto got = co_await cache.Get(std::string("u"));
    CO_ASSERT_TRUE(got.ok() && got->has_value());
    EXPECT_EQ(**got, Prefs("new"));  // but the cache kept the write
  });
  EXPECT_EQ(cache.counters().not_cached, 1u);
}

TEST_F(CachedProfileStoreTest, InvalidateAndClear) {
  backing_.data["u"] = Prefs("1");
  auto cache = Cache(100);
  RunCoroutine(io_, [&]() -> asio::awaitable<void> {
    EXPECT_TRUE((co_await cache.Get(std::string("u"))).ok());
    cache.Invalidate("u");
    EXPECT_TRUE((co_await cache.Get(std::string("u"))).ok());
    cache.Clear();
    EXPECT_TRUE((co_await cache.Get(std::string("u"))).ok());
  });
  EXPECT_EQ(backing_.gets, 3);
}

}  // namespace
}  // namespace tacc::tacc_layer

namespace tacc::tacc_layer {
namespace {

// Two front-end threads' caches over one database: a preference saved through one is
// what the other answers at its next Get, long before the TTL (the bug: the other thread
// served the old profile for up to profiles.cache_ttl_ms).
TEST_F(CachedProfileStoreTest, AWriteThroughOneThreadsCacheReachesTheOthersAtOnce) {
  ProfileChangeFeed feed;
  CachedProfileStore a(backing_, ProfileCacheOptions{100, 10s, &feed}, [this] { return now_; });
  CachedProfileStore b(backing_, ProfileCacheOptions{100, 10s, &feed}, [this] { return now_; });
  CachedProfileStore alone(backing_, ProfileCacheOptions{100, 10s}, [this] { return now_; });  // no feed
  backing_.data["u"] = Prefs("30");
  RunCoroutine(io_, [&]() -> asio::awaitable<void> {
    CO_ASSERT_TRUE((co_await a.Get(std::string("u"))).ok());
    CO_ASSERT_TRUE((co_await b.Get(std::string("u"))).ok());
    CO_ASSERT_TRUE((co_await alone.Get(std::string("u"))).ok());
    CO_ASSERT_TRUE((co_await a.Put(std::string("u"), Prefs("80"))).ok());
    auto got = co_await b.Get(std::string("u"));
    CO_ASSERT_TRUE(got.ok() && got->has_value());
    EXPECT_EQ(**got, Prefs("80")) << "b served the profile from before a's write";
    auto own = co_await a.Get(std::string("u"));  // a's own write stays cached in a
    CO_ASSERT_TRUE(own.ok() && own->has_value());
    EXPECT_EQ(**own, Prefs("80"));
    auto stale = co_await alone.Get(std::string("u"));  // without the feed: the TTL rules
    CO_ASSERT_TRUE(stale.ok() && stale->has_value());
    EXPECT_EQ(**stale, Prefs("30"));
  });
  EXPECT_EQ(b.counters().dropped_by_feed, 1u);
  EXPECT_EQ(a.counters().dropped_by_feed, 0u);
  EXPECT_EQ(a.counters().hits, 1u);
}

// A cache that fell more than the feed's capacity behind drops everything it holds.
TEST_F(CachedProfileStoreTest, ACacheFarBehindTheFeedDropsEverything) {
  ProfileChangeFeed feed;
  CachedProfileStore b(backing_, ProfileCacheOptions{100, 10s, &feed}, [this] { return now_; });
  backing_.data["u"] = Prefs("30");
  RunCoroutine(io_, [&]() -> asio::awaitable<void> {
    CO_ASSERT_TRUE((co_await b.Get(std::string("u"))).ok());
    for (size_t i = 0; i < ProfileChangeFeed::kCapacity + 1; ++i) feed.Published("other" + std::to_string(i), &feed);
    backing_.data["u"] = Prefs("90");  // "u" itself is not in the log that remains
    auto got = co_await b.Get(std::string("u"));
    CO_ASSERT_TRUE(got.ok() && got->has_value());
    EXPECT_EQ(**got, Prefs("90"));
  });
  EXPECT_EQ(backing_.gets, 2);
}

}  // namespace
}  // namespace tacc::tacc_layer
