// TranSend's use of the virtual cache through real processes (issue 7, paper §3.1.5 and
// §3.1.8): results a worker injects are found by later requests; a failed chain answers
// with another cached variant of the same original; a front end answers hot objects from
// its own memory; a successful unsafe request invalidates what is stored for its URL.
#include <gtest/gtest.h>

#include "cluster_harness.h"
#include "test_origin.h"

namespace tacc::testing {
namespace {

std::vector<std::string> BaseSettings() {
  return {"frontend.service=transend", "proxy.allowed_destinations=[\"127.0.0.1/32\"]", "manager.spawn_policy=fixed",
          "classes.cache.min_workers=1", "classes.test.min_workers=1", "dispatch.min_transform_bytes=0", "frontend.threads=1"};
}

TEST(TransendCacheTest, AResultAWorkerInjectsIsFoundByTheRequestItWasMadeFor) {
  TestOrigin origin([](const TestOrigin::Request&) { return OkAnswer("abc", "text/plain", "Cache-Control: max-age=60\r\nETag: \"a1\"\r\n"); });
  auto settings = BaseSettings();
  // The worker answers with the original and offers the variant a Save-Data client gets.
  settings.push_back("dispatch.rules=[\"text/plain -> test{echo=1,inject=save_data:1}\"]");
  ClusterHarness c({.settings = settings});
  c.Start();
  ASSERT_TRUE(c.WaitForWorkers({"cache", "test"})) << c.Log();
  std::string url = "http://127.0.0.1:" + std::to_string(origin.port()) + "/t.txt";

  auto plain = HttpRequest("127.0.0.1", c.FrontendPort(), "GET", url);
  EXPECT_EQ(plain.status, 200);
  EXPECT_EQ(plain.body, "abc");
  EXPECT_EQ(plain.Header("X-Tacc-Chain"), "test");

  // Save-Data: on makes the task's args save_data=1: the injected result answers, and
  // no worker ran for it (the worker would have answered "abc").
  std::string raw = RawExchange("127.0.0.1", c.FrontendPort(), "GET " + url + " HTTP/1.1\r\nHost: x\r\nSave-Data: on\r\nConnection: close\r\n\r\n");
  EXPECT_NE(raw.find("\r\n\r\nabc[save_data=1]"), std::string::npos) << raw;
  EXPECT_NE(raw.find("X-Tacc-Cache: variant-hit"), std::string::npos) << raw;
  EXPECT_EQ(origin.targets().size(), 1u) << "the original was fetched twice";
}

TEST(TransendCacheTest, AFailedChainAnswersWithAnotherCachedVariantOfTheSameOriginal) {
  TestOrigin origin([](const TestOrigin::Request&) { return OkAnswer("abc", "text/plain", "Cache-Control: max-age=60\r\nETag: \"a1\"\r\n"); });
  auto settings = BaseSettings();
  // Users whose profile says gray=1 get a chain that fails.
  settings.push_back("classes.test.args.allow_faults=true");
  settings.push_back("dispatch.rules=[\"text/plain profile.gray=1 -> test{fail=1}\", \"text/plain -> test{echo=1,append=!}\"]");
  ClusterHarness c({.settings = settings});
  c.Start();
  ASSERT_TRUE(c.WaitForWorkers({"cache", "test"})) << c.Log();
  std::string url = "http://127.0.0.1:" + std::to_string(origin.port()) + "/t.txt";

  // Without a variant in the cache, a failed chain answers the original.
  auto saved = HttpRequest("127.0.0.1", c.FrontendPort(), "POST", "/_tacc/prefs", "gray=1");
  ASSERT_EQ(saved.status, 200) << saved.body;
  auto first = HttpRequest("127.0.0.1", c.FrontendPort(), "GET", url);
  EXPECT_EQ(first.body, "abc");
  EXPECT_EQ(first.Header("X-Tacc-Approximate"), "original");

  // With gray=0 the chain works and its variant ("abc!") is kept; with gray=1 again,
  // the failed chain answers with that variant.
  ASSERT_EQ(HttpRequest("127.0.0.1", c.FrontendPort(), "POST", "/_tacc/prefs", "gray=0").status, 200);
  auto exact = HttpRequest("127.0.0.1", c.FrontendPort(), "GET", url);
  EXPECT_EQ(exact.body, "abc!");
  EXPECT_EQ(exact.Header("X-Tacc-Approximate"), "");
  ASSERT_EQ(HttpRequest("127.0.0.1", c.FrontendPort(), "POST", "/_tacc/prefs", "gray=1").status, 200);
  auto approx = HttpRequest("127.0.0.1", c.FrontendPort(), "GET", url);
  EXPECT_EQ(approx.status, 200);
  EXPECT_EQ(approx.body, "abc!");
  EXPECT_EQ(approx.Header("X-Tacc-Approximate"), "variant");
  EXPECT_NE(approx.Header("X-Tacc-Approximate-Reason").find("asked to fail"), std::string::npos) << approx.Header("X-Tacc-Approximate-Reason");
}

TEST(TransendCacheTest, HotObjectsComeFromTheFrontEndsMemoryAndAnUnsafeRequestInvalidatesThem) {
  std::atomic<int> gets{0};
  TestOrigin origin([&](const TestOrigin::Request& r) {
    if (r.method() == boost::beast::http::verb::get) ++gets;
    return OkAnswer("v" + std::to_string(gets.load()), "application/octet-stream", "Cache-Control: max-age=60\r\n");
  });
  auto settings = BaseSettings();
  settings.push_back("cache.local_ttl_ms=60000");
  ClusterHarness c({.settings = settings});
  c.Start();
  ASSERT_TRUE(c.WaitForWorkers({"cache"})) << c.Log();
  std::string url = "http://127.0.0.1:" + std::to_string(origin.port()) + "/o.bin";

  auto miss = HttpRequest("127.0.0.1", c.FrontendPort(), "GET", url);
  EXPECT_EQ(miss.Header("X-Tacc-Cache"), "miss");
  double local_before = c.Metric("tacc_cache_local_hits_total"), asked_before = c.Metric("tacc_cache_partition_gets_total");
  for (int i = 0; i < 5; ++i) {
    auto hit = HttpRequest("127.0.0.1", c.FrontendPort(), "GET", url);
    EXPECT_EQ(hit.Header("X-Tacc-Cache"), "hit");
    EXPECT_EQ(hit.body, "v1");
  }
  EXPECT_EQ(gets.load(), 1);
  EXPECT_EQ(c.Metric("tacc_cache_local_hits_total") - local_before, 5);
  EXPECT_EQ(c.Metric("tacc_cache_partition_gets_total") - asked_before, 0) << "hot hits still went to the partition";

  // A POST to the URL that succeeds makes what is stored outdated (RFC 9111 §4.4),
  // here and in the partition: the next GET goes to the origin.
  auto post = HttpRequest("127.0.0.1", c.FrontendPort(), "POST", url, "x=1");
  EXPECT_EQ(post.status, 200);
  auto after = HttpRequest("127.0.0.1", c.FrontendPort(), "GET", url);
  EXPECT_EQ(after.Header("X-Tacc-Cache"), "miss");
  EXPECT_EQ(after.body, "v2");
  EXPECT_EQ(gets.load(), 2);
}

}  // namespace
}  // namespace tacc::testing
