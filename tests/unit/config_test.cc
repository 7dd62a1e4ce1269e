#include "common/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace tacc {
namespace {

// A TOML file in the test's temporary directory, removed at the end of the test.
class TempFile {
 public:
  explicit TempFile(const std::string& text) {
    static int n = 0;
    path_ = ::testing::TempDir() + "tacc_config_test_" + std::to_string(::getpid()) + "_" + std::to_string(n++) + ".toml";
    std::ofstream(path_) << text;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

Result<Config> LoadText(const std::string& toml, const std::vector<std::string>& overrides = {}) {
  TempFile f(toml);
  return Config::Load(f.path(), overrides);
}

void ExpectNames(const Result<Config>& r, const std::string& setting) {
  ASSERT_FALSE(r.ok()) << "accepted a bad " << setting;
  EXPECT_EQ(r.status().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(r.status().message().find(setting), std::string::npos) << r.status().message();
}

// Loads `c.ToToml()` back and checks it renders identically (ToToml covers every field).
void ExpectRoundTrip(const Config& c) {
  std::string toml = c.ToToml();
  auto back = LoadText(toml);
  ASSERT_TRUE(back.ok()) << back.status().ToString() << "\n" << toml;
  EXPECT_EQ(back->ToToml(), toml);
}

TEST(ConfigTest, DefaultsAreValid) {
  auto c = Config::Load("", {});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->beacon.interval_ms, 500);
  EXPECT_EQ(c->stub.balance_policy, "lottery");
  ASSERT_NE(c->FindClass("test"), nullptr);
  EXPECT_EQ(c->FindClass("test")->worker, "test");
  EXPECT_EQ(c->FindClass("nope"), nullptr);
}

TEST(ConfigTest, OverrideNamesTheBadSetting) {
  ExpectNames(Config::Load("", {"beacon.interval_ms=-5"}), "beacon.interval_ms");
  ExpectNames(Config::Load("", {"beacon.nope=1"}), "beacon.nope");
  ExpectNames(Config::Load("", {"beacon.interval_ms=fast"}), "beacon.interval_ms");
  ExpectNames(Config::Load("", {"beacon.interval_ms=1.5"}), "beacon.interval_ms");
  ExpectNames(Config::Load("", {"stub.balance_policy=round_robin"}), "stub.balance_policy");
  ExpectNames(Config::Load("", {"stub.delta_estimator=maybe"}), "stub.delta_estimator");
  ExpectNames(Config::Load("", {"manager.load_smoothing=0"}), "manager.load_smoothing");
  ExpectNames(Config::Load("", {"beacon.unicast_seeds=[1, 2]"}), "beacon.unicast_seeds");
}

TEST(ConfigTest, MalformedOverrideIsRejected) {
  EXPECT_FALSE(Config::Load("", {"beacon.interval_ms"}).ok());
  EXPECT_FALSE(Config::Load("", {"=5"}).ok());
  ExpectNames(Config::Load("", {"classes.x=1"}), "classes.x");
}

TEST(ConfigTest, OverridesAreTypedAndLaterOnesWin) {
  auto c = Config::Load(
      "", {"log.level=debug", "beacon.interval_ms=100", "beacon.interval_ms=250", "manager.spawn_threshold=2", "worker.weight_by_cost=true",
           "beacon.unicast_seeds=[\"10.0.0.1:7401\", \"h:1\"]", "cluster.name=\"quoted\"", "http.max_body_bytes=1099511627776"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->log.level, "debug");  // bare word taken as a string
  EXPECT_EQ(c->beacon.interval_ms, 250);
  EXPECT_DOUBLE_EQ(c->manager.spawn_threshold, 2.0);  // integer accepted for a number
  EXPECT_TRUE(c->worker.weight_by_cost);
  EXPECT_EQ(c->beacon.unicast_seeds, (std::vector<std::string>{"10.0.0.1:7401", "h:1"}));
  EXPECT_EQ(c->cluster.name, "quoted");
  EXPECT_EQ(c->http.max_body_bytes, int64_t{1} << 40);
}

TEST(ConfigTest, RangesAreInclusive) {
  EXPECT_TRUE(Config::Load("", {"beacon.port=1", "manager.port=65535", "manager.load_smoothing=1"}).ok());
  ExpectNames(Config::Load("", {"beacon.port=0"}), "beacon.port");
  ExpectNames(Config::Load("", {"manager.port=65536"}), "manager.port");
  ExpectNames(Config::Load("", {"http.max_body_bytes=-1"}), "http.max_body_bytes");
}

TEST(ConfigTest, FileSettingsApplyAndOverridesComeAfterTheFile) {
  auto c = LoadText(
      "[cluster]\nname = \"alpha\"\n"
      "[beacon]\nmode = \"unicast\"\ninterval_ms = 50\n"
      "[manager]\nspawn_hold_s = 2.5\n",
      {"beacon.interval_ms=75"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->cluster.name, "alpha");
  EXPECT_EQ(c->beacon.mode, "unicast");
  EXPECT_EQ(c->beacon.interval_ms, 75);
  EXPECT_DOUBLE_EQ(c->manager.spawn_hold_s, 2.5);
  EXPECT_EQ(c->RunDir(), "/tmp/tacc-alpha");
}

TEST(ConfigTest, FileErrorsNameTheFileAndTheSetting) {
  auto bad_range = LoadText("[http]\nmax_connections = 0\n");
  ExpectNames(bad_range, "http.max_connections");
  EXPECT_NE(bad_range.status().message().find("tacc_config_test_"), std::string::npos);
  ExpectNames(LoadText("[http]\nmax_conections = 5\n"), "http.max_conections");
  ExpectNames(LoadText("[htttp]\nmax_connections = 5\n"), "htttp.max_connections");
  ExpectNames(LoadText("[log]\nlevel = 3\n"), "log.level");
  ExpectNames(LoadText("log = 3\n"), "log");
  ExpectNames(LoadText("[classes.x]\nmin_workers = -1\n"), "classes.x.min_workers");
  ExpectNames(LoadText("[classes.x]\nworkers = 1\n"), "classes.x.workers");
  ExpectNames(LoadText("[classes.x]\ncost_hint = 0\n"), "classes.x.cost_hint");
  ExpectNames(LoadText("[classes.x]\nargs = { a = [1] }\n"), "classes.x.args.a");
  ExpectNames(LoadText("[classes]\nx = 1\n"), "classes.x");
}

TEST(ConfigTest, SyntaxErrorAndMissingFileAreReported) {
  auto syntax = LoadText("[beacon\ninterval_ms = 5\n");
  ASSERT_FALSE(syntax.ok());
  EXPECT_NE(syntax.status().message().find("tacc_config_test_"), std::string::npos);
  auto missing = Config::Load(::testing::TempDir() + "no_such_tacc_config.toml", {});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("no_such_tacc_config.toml"), std::string::npos);
}

TEST(ConfigTest, CrossSettingChecks) {
  ExpectNames(Config::Load("", {"manager.restart_backoff_min_ms=500", "manager.restart_backoff_max_ms=100"}),
              "manager.restart_backoff_max_ms");
  ExpectNames(Config::Load("", {"classes.x.min_workers=3", "classes.x.max_workers=2"}), "classes.x.max_workers");
  ExpectNames(Config::Load("", {"classes.x.max_workers=0"}), "classes.x.max_workers");
}

// Each in range, together contradictory: the message names both settings.
TEST(ConfigTest, ContradictingSettingsNameBoth) {
  struct Case {
    std::vector<std::string> sets;
    std::string a, b;
  };
  std::vector<Case> cases = {
      {{"worker.report_ms=2000", "manager.peer_timeout_ms=3000"}, "worker.report_ms", "manager.peer_timeout_ms"},
      {{"beacon.interval_ms=2000", "manager.peer_timeout_ms=3000", "frontend.manager_timeout_ms=60000"}, "beacon.interval_ms", "manager.peer_timeout_ms"},
      {{"beacon.interval_ms=1000", "frontend.manager_timeout_ms=1500"}, "beacon.interval_ms", "frontend.manager_timeout_ms"},
      {{"beacon.mode=unicast", "beacon.interval_ms=500", "beacon.subscription_ttl_ms=800"}, "beacon.interval_ms", "beacon.subscription_ttl_ms"},
  };
  for (auto& k : cases) {
    auto r = Config::Load("", k.sets);
    ExpectNames(r, k.a);
    ExpectNames(r, k.b);
  }
  // The same values on the right side of each limit are fine.
  EXPECT_TRUE(Config::Load("", {"worker.report_ms=1500", "manager.peer_timeout_ms=3000"}).ok());
  EXPECT_TRUE(Config::Load("", {"beacon.interval_ms=1000", "frontend.manager_timeout_ms=2000"}).ok());
}

TEST(ConfigTest, AdminListenerIsOnLoopbackAndApartFromThePublicPorts) {
  Config c;
  EXPECT_EQ(c.frontend.admin_host, "127.0.0.1");
  EXPECT_NE(c.frontend.admin_port, 0);
  // Public ports 8080..8081 (two front ends); admin ports must not overlap them.
  ExpectNames(Config::Load("", {"frontend.count=2", "frontend.admin_port=8081"}), "frontend.admin_port");
  ExpectNames(Config::Load("", {"frontend.count=3", "frontend.port=9000", "frontend.admin_port=8998"}), "frontend.admin_port");
  EXPECT_TRUE(Config::Load("", {"frontend.count=2", "frontend.admin_port=8082"}).ok());
  EXPECT_TRUE(Config::Load("", {"frontend.port=0", "frontend.admin_port=0"}).ok());
  ExpectNames(Config::Load("", {"frontend.count=10", "frontend.admin_port=65530"}), "frontend.admin_port");
}

TEST(ConfigTest, RequestMemoryBudgetHoldsAtLeastOneHead) {
  ExpectNames(Config::Load("", {"http.max_header_bytes=1048576", "http.max_buffered_bytes=65536"}), "http.max_buffered_bytes");
  EXPECT_TRUE(Config::Load("", {"http.max_buffered_bytes=65536"}).ok());
}

TEST(ConfigTest, ClassTablesFromFile) {
  auto c = LoadText(
      "[classes.distill]\nworker = \"jpeg\"\nmin_workers = 1\nmax_workers = 3\ncost_hint = 2.5\n"
      "args = { quality = 30, fast = true, scale = 0.5, name = \"x\" }\n"
      "[classes.plain]\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto* d = c->FindClass("distill");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->name, "distill");
  EXPECT_EQ(d->worker, "jpeg");
  EXPECT_EQ(d->min_workers, 1);
  EXPECT_EQ(d->max_workers, 3);
  EXPECT_DOUBLE_EQ(d->cost_hint, 2.5);
  EXPECT_EQ(d->args.at("quality"), "30");
  EXPECT_EQ(d->args.at("fast"), "true");
  EXPECT_EQ(d->args.at("scale"), "0.5");
  EXPECT_EQ(d->args.at("name"), "x");
  auto* p = c->FindClass("plain");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->worker, "plain");  // default worker is the class name
  EXPECT_EQ(p->max_workers, 8);
  EXPECT_NE(c->FindClass("test"), nullptr);  // the built-in class stays
}

TEST(ConfigTest, ClassOverridesCreateAndAmendClasses) {
  auto c = Config::Load("", {"classes.x.args.k=v", "classes.x.args.n=3", "classes.x.max_workers=2", "classes.test.args.mode=echo"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto* x = c->FindClass("x");
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->name, "x");
  EXPECT_EQ(x->worker, "x");
  EXPECT_EQ(x->max_workers, 2);
  EXPECT_EQ(x->args.at("k"), "v");
  EXPECT_EQ(x->args.at("n"), "3");
  auto* t = c->FindClass("test");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->args.at("mode"), "echo");
  EXPECT_EQ(t->args.at("cost_ms"), "10");  // other default args are kept
  ExpectNames(Config::Load("", {"classes.x.bogus=1"}), "classes.x.bogus");
}

TEST(ConfigTest, ToTomlOfDefaultsParsesBack) {
  auto c = Config::Load("", {});
  ASSERT_TRUE(c.ok());
  ExpectRoundTrip(*c);
}

TEST(ConfigTest, ToTomlOfEverySectionParsesBackToTheSameConfig) {
  auto c =
      Config::Load("", {"cluster.name=rt", "cluster.run_dir=/tmp/x y", "beacon.mode=unicast", "beacon.unicast_seeds=[\"a:1\", \"b:2\"]",
                        "manager.load_smoothing=0.25", "manager.spawn_hold_s=0", "manager.manage_frontends=true",
                        "frontend.service=\"svc \\\"q\\\" \\\\ x\"", "http.max_body_bytes=123456789012", "stub.balance_policy=random",
                        "wire.max_frame_bytes=4294967296", "log.level=warn", "classes.img.worker=jpeg", "classes.img.cost_hint=0.125",
                        "classes.img.min_workers=2", "classes.img.args.q=\"a \\\"b\\\"\"", "classes.img.args.n=7"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ExpectRoundTrip(*c);
  auto back = LoadText(c->ToToml());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->cluster.run_dir, "/tmp/x y");
  EXPECT_EQ(back->frontend.service, "svc \"q\" \\ x");
  EXPECT_DOUBLE_EQ(back->manager.load_smoothing, 0.25);
  EXPECT_EQ(back->http.max_body_bytes, 123456789012);
  EXPECT_EQ(back->wire.max_frame_bytes, int64_t{1} << 32);
  EXPECT_EQ(back->beacon.unicast_seeds.size(), 2u);
  auto* img = back->FindClass("img");
  ASSERT_NE(img, nullptr);
  EXPECT_EQ(img->worker, "jpeg");
  EXPECT_EQ(img->min_workers, 2);
  EXPECT_DOUBLE_EQ(img->cost_hint, 0.125);
  EXPECT_EQ(img->args.at("q"), "a \"b\"");
  EXPECT_EQ(img->args.at("n"), "7");
}

TEST(ConfigTest, ReferenceDocumentsEverySetting) {
  std::string ref = Config::Reference();
  for (const char* key : {"`cluster.name`", "`beacon.interval_ms`", "`manager.spawn_threshold`", "`http.max_header_bytes`",
                          "`stub.balance_policy`", "`wire.max_frame_bytes`", "`log.level`"})
    EXPECT_NE(ref.find(key), std::string::npos) << key;
  // Every setting ToToml emits appears in the reference, and vice versa in count.
  std::istringstream toml(Config().ToToml());
  std::string line, section;
  int settings = 0;
  while (std::getline(toml, line)) {
    if (line.rfind("[classes.", 0) == 0) break;
    if (line.rfind("[", 0) == 0) section = line.substr(1, line.size() - 2);
    auto eq = line.find(" = ");
    if (line.empty() || line[0] == '#' || eq == std::string::npos) continue;
    ++settings;
    std::string key = "`" + section + "." + line.substr(0, eq) + "`";
    EXPECT_NE(ref.find(key), std::string::npos) << key;
  }
  EXPECT_GT(settings, 40);
}

// Regressions: integers were narrowed before the range check; NaN and infinity passed.
TEST(ConfigTest, OutOfRangeIntegersAndNonFiniteNumbersAreRejected) {
  for (std::string bad : {"beacon.port=4294967297", "manager.port=-4294967296", "manager.spawn_threshold=nan",
                          "manager.spawn_threshold=inf", "classes.test.cost_hint=nan", "classes.test.cost_hint=inf"}) {
    auto c = Config::Load("", {bad});
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_NE(c.status().message().find(bad.substr(0, bad.find('='))), std::string::npos) << c.status().message();
  }
}

// Regression: names that TOML cannot take as bare keys broke --print-config round trips.
TEST(ConfigTest, ClassAndArgumentNamesMustBePlain) {
  EXPECT_FALSE(Config::Load("", {"classes.my class.min_workers=1"}).ok());
  EXPECT_FALSE(Config::Load("", {"classes.x.args.a b=1"}).ok());
  auto c = Config::Load("", {"cluster.name=a\nb", "classes.ok-name_1.args.k-1=v"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
}

TEST(ConfigArgsTest, ToArgvRepeatsConfigAndOverrides) {
  ConfigArgs a{"/etc/tacc.toml", {"a.b=1", "c.d=x y"}};
  EXPECT_EQ(a.ToArgv(), (std::vector<std::string>{"--config", "/etc/tacc.toml", "--set", "a.b=1", "--set", "c.d=x y"}));
  ConfigArgs none;
  EXPECT_TRUE(none.ToArgv().empty());
}

}  // namespace
}  // namespace tacc

namespace tacc {
namespace {
// A class's types for the chain planner: lists of exact MIME types, printed back.
TEST(ConfigTest, ClassTypesAreListsOfExactMimeTypes) {
  auto c = Config::Load("", {"classes.g.worker=test", "classes.g.takes=[\"image/gif\"]", "classes.g.produces=[\"image/png\", \"image/jpeg\"]"});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->FindClass("g")->takes, std::vector<std::string>{"image/gif"});
  EXPECT_EQ(c->FindClass("g")->produces, (std::vector<std::string>{"image/png", "image/jpeg"}));
  EXPECT_NE(c->ToToml().find("produces = [\"image/png\", \"image/jpeg\"]"), std::string::npos) << c->ToToml();
  ExpectNames(Config::Load("", {"classes.g.takes=\"image/gif\""}), "classes.g.takes");
  ExpectNames(Config::Load("", {"classes.g.takes=[\"image/*\"]"}), "classes.g.takes");
  ExpectNames(Config::Load("", {"classes.g.produces=[\"png\"]"}), "classes.g.produces");
}
}  // namespace
}  // namespace tacc
