// The pure parts of `tacc play` (src/tools/): arrival schedules (rates, steps, live
// changes), think-time distributions, and the requests it builds for each target mode.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "tools/arrival_schedule.h"
#include "tools/request_builder.h"
#include "tools/think_time.h"

namespace tacc::tools {
namespace {

int CountUntil(ArrivalSchedule& s, double end) {
  int n = 0;
  for (double t = s.Next(); t < end; t = s.Next()) ++n;
  return n;
}

TEST(ArrivalScheduleTest, EvenSpacingIsExact) {
  ArrivalSchedule s({{0, 250}}, /*poisson=*/false, 1);
  EXPECT_DOUBLE_EQ(s.Next(), 0.004);
  EXPECT_DOUBLE_EQ(s.Next(), 0.008);
  ArrivalSchedule t({{0, 250}}, false, 1);
  EXPECT_EQ(CountUntil(t, 10.0 + 1e-9), 2500);
}

TEST(ArrivalScheduleTest, PoissonArrivalsHoldTheRateAndHaveExponentialGaps) {
  ArrivalSchedule s({{0, 1000}}, true, 42);
  std::vector<double> gaps;
  double prev = 0;
  for (double t = s.Next(); t < 100; t = s.Next()) {
    gaps.push_back(t - prev);
    prev = t;
  }
  EXPECT_NEAR(static_cast<double>(gaps.size()), 100000, 1500);  // 1000/s for 100 s; sd ~316
  double mean = 0, var = 0;
  for (double g : gaps) mean += g;
  mean /= static_cast<double>(gaps.size());
  for (double g : gaps) var += (g - mean) * (g - mean);
  var /= static_cast<double>(gaps.size());
  EXPECT_NEAR(std::sqrt(var) / mean, 1.0, 0.02);  // exponential: coefficient of variation 1
}

TEST(ArrivalScheduleTest, StepsChangeTheRateAtTheirTimes) {
  auto steps = ParseRateSteps("100,400@2,0@3,50@5s");
  ASSERT_TRUE(steps.ok()) << steps.status().ToString();
  ArrivalSchedule s(*steps, false, 1);
  std::vector<double> t;
  for (double x = s.Next(); x < 7.0 + 1e-9; x = s.Next()) t.push_back(x);
  auto between = [&](double a, double b) { return std::count_if(t.begin(), t.end(), [&](double x) { return x > a + 1e-6 && x <= b + 1e-6; }); };
  EXPECT_EQ(between(0, 2), 200);
  EXPECT_EQ(between(2, 3), 400);
  EXPECT_EQ(between(3, 5), 0);
  EXPECT_EQ(between(5, 7), 100);
  EXPECT_NEAR(*std::find_if(t.begin(), t.end(), [](double x) { return x > 5; }), 5.02, 1e-9);  // the rate-0 gap is skipped
  EXPECT_DOUBLE_EQ(s.RateAt(4), 0);
  EXPECT_DOUBLE_EQ(s.RateAt(2.5), 400);
}

TEST(ArrivalScheduleTest, SetRateTakesEffectAtOnce) {
  ArrivalSchedule s({{0, 10}}, false, 1);
  EXPECT_DOUBLE_EQ(s.Next(), 0.1);
  s.SetRate(0.15, 1000);
  EXPECT_NEAR(s.Next(), 0.151, 1e-12);
  s.SetRate(0.2, 0);
  EXPECT_EQ(s.Next(), ArrivalSchedule::kNever);
}

TEST(ArrivalScheduleTest, BadStepsAreRefusedWithAReason) {
  EXPECT_FALSE(ParseRateSteps("fast").ok());
  EXPECT_FALSE(ParseRateSteps("-5").ok());
  EXPECT_FALSE(ParseRateSteps("100,200").ok());  // a later step needs its time
  EXPECT_FALSE(ParseRateSteps("100,200@x").ok());
  auto one = ParseRateSteps("250.5");
  ASSERT_TRUE(one.ok());
  EXPECT_DOUBLE_EQ(one->front().rate, 250.5);
}

TEST(ThinkTimeTest, DrawsHaveTheirDistributionsMeans) {
  std::mt19937_64 rng(3);
  for (const char* spec : {"fixed:250ms", "exp:2s", "uniform:1s:3s", "pareto:2.5:1s", "lognormal:1s:0.5"}) {
    auto t = ThinkTime::Parse(spec, 1e9);
    ASSERT_TRUE(t.ok()) << spec << ": " << t.status().ToString();
    double sum = 0;
    const int n = 200000;
    for (int i = 0; i < n; ++i) sum += t->Draw(rng);
    EXPECT_NEAR(sum / n, t->mean_s(), t->mean_s() * 0.03) << spec;
  }
}

TEST(ThinkTimeTest, DrawsAreCappedAndBadSpecsExplained) {
  std::mt19937_64 rng(3);
  auto t = ThinkTime::Parse("pareto:1.4:1s", 5);
  ASSERT_TRUE(t.ok());
  double max = 0, min = 1e9;
  for (int i = 0; i < 100000; ++i) {
    double d = t->Draw(rng);
    max = std::max(max, d);
    min = std::min(min, d);
  }
  EXPECT_EQ(max, 5);
  EXPECT_GE(min, 1);
  for (const char* bad : {"exp", "exp:0s", "uniform:3s:1s", "pareto:0:1s", "gamma:1s", "fixed:soon"}) {
    auto b = ThinkTime::Parse(bad);
    EXPECT_FALSE(b.ok()) << bad;
    if (!b.ok()) {
      EXPECT_NE(b.status().message().find("pareto:1.4:1s"), std::string::npos);
    }
  }
  double s = 0;
  EXPECT_TRUE(ParseSeconds("40us", &s));
  EXPECT_DOUBLE_EQ(s, 40e-6);
  EXPECT_TRUE(ParseSeconds("1.5", &s));
  EXPECT_DOUBLE_EQ(s, 1.5);
  EXPECT_FALSE(ParseSeconds("-1s", &s));
}

TEST(RequestBuilderTest, ForwardReverseAndUrlApiRequests) {
  RequestShape fwd;
  fwd.mode = TargetMode::kForward;
  auto r = RequestBuilder(fwd).Build("GET", "http://site.test/a.gif?x=1", UserToken("u1"), "10.0.0.1:8080");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->rfind("GET http://site.test/a.gif?x=1 HTTP/1.1\r\nHost: site.test\r\n", 0), 0u) << *r;
  EXPECT_NE(r->find("Cookie: tacc_user=" + UserToken("u1") + "\r\n"), std::string::npos);
  EXPECT_EQ(r->substr(r->size() - 4), "\r\n\r\n");
  EXPECT_FALSE(RequestBuilder(fwd).Build("GET", "/a.gif", "", "x:1").ok());  // a path needs an origin

  RequestShape moved = fwd;
  moved.origin = "http://127.0.0.1:9000";
  auto m = RequestBuilder(moved).Build("GET", "/a.gif", "", "x:1");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->rfind("GET http://127.0.0.1:9000/a.gif HTTP/1.1\r\nHost: 127.0.0.1:9000\r\n", 0), 0u) << *m;
  auto m2 = RequestBuilder(moved).Build("GET", "https://far.example/b/c.jpg", "", "x:1");
  EXPECT_EQ(m2->rfind("GET http://127.0.0.1:9000/b/c.jpg ", 0), 0u) << *m2;
  EXPECT_EQ(m->find("Cookie:"), std::string::npos);  // no user, no cookie

  RequestShape rev;
  rev.mode = TargetMode::kReverse;
  auto v = RequestBuilder(rev).Build("HEAD", "http://site.test/p/q.html", "", "10.0.0.1:8080");
  EXPECT_EQ(v->rfind("HEAD /p/q.html HTTP/1.1\r\nHost: 10.0.0.1:8080\r\n", 0), 0u) << *v;

  RequestShape api;
  api.mode = TargetMode::kUrlApi;
  api.url_api_options = {{"w", "320"}};
  auto a = RequestBuilder(api).Build("GET", "http://site.test/a.jpg", "", "10.0.0.1:8080");
  ASSERT_TRUE(a.ok());
  auto path = tacc_layer::MakeTransformPath("http://site.test/a.jpg", {{"w", "320"}}, nullptr);
  EXPECT_EQ(a->rfind("GET " + path + " HTTP/1.1\r\n", 0), 0u) << *a;
}

TEST(RequestBuilderTest, UserTokensAreStableWellFormedAndDistinct) {
  EXPECT_EQ(UserToken("10.0.0.1"), UserToken("10.0.0.1"));
  EXPECT_NE(UserToken("10.0.0.1"), UserToken("10.0.0.2"));
  EXPECT_EQ(UserToken("x").size(), 32u);
  for (char c : UserToken("x")) EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
}

}  // namespace
}  // namespace tacc::tools
