// The tacc binary's command line: help everywhere, configuration errors name the setting.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "cluster_harness.h"

namespace tacc::testing {
namespace {

TEST(CliTest, EveryCommandHasHelp) {
  for (std::string cmd : {"up", "manager", "frontend", "worker", "status", "config", "dispatch"}) {
    auto r = RunTacc({cmd, "--help"});
    EXPECT_EQ(r.exit_code, 0) << cmd << ": " << r.output;
    EXPECT_NE(r.output.find("--config"), std::string::npos) << cmd << ": " << r.output;
  }
  auto top = RunTacc({"--help"});
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_NE(top.output.find("frontend"), std::string::npos);
}

TEST(CliTest, PrintConfigShowsOverridesAndDocs) {
  auto r = RunTacc({"up", "--print-config", "--set", "manager.spawn_threshold=7.5", "--frontends", "3"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("spawn_threshold = 7.5"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("count = 3"), std::string::npos);
  EXPECT_NE(r.output.find("# H: when a class's mean smoothed queue"), std::string::npos);
}

TEST(CliTest, BadSettingStopsStartupAndNamesIt) {
  auto r = RunTacc({"up", "--set", "beacon.interval_ms=fast"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("beacon.interval_ms"), std::string::npos) << r.output;
  auto u = RunTacc({"manager", "--set", "manager.no_such_thing=1"});
  EXPECT_EQ(u.exit_code, 2);
  EXPECT_NE(u.output.find("manager.no_such_thing"), std::string::npos) << u.output;
  auto range = RunTacc({"frontend", "--set", "frontend.count=0"});
  EXPECT_EQ(range.exit_code, 2);
  EXPECT_NE(range.output.find("frontend.count"), std::string::npos) << range.output;
}

TEST(CliTest, BadConfigFileNamesFileAndSetting) {
  std::string path = "/tmp/tacc-cli-test-" + std::to_string(getpid()) + ".toml";
  FILE* f = fopen(path.c_str(), "w");
  fputs("[stub]\nmax_retries = \"many\"\n", f);
  fclose(f);
  auto r = RunTacc({"config", "--config", path});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find(path), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("stub.max_retries"), std::string::npos) << r.output;
  unlink(path.c_str());
}

// docs/configuration.md is generated; it must say what the binary says.
TEST(CliTest, ConfigurationReferenceInDocsIsCurrent) {
  auto r = RunTacc({"config", "--reference"});
  ASSERT_EQ(r.exit_code, 0);
  std::ifstream f(std::string(TACC_SOURCE_DIR) + "/docs/configuration.md");
  std::string doc((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_EQ(doc, r.output) << "regenerate: build/release/tacc config --reference > docs/configuration.md";
}

TEST(CliTest, WorkerOfUnknownClassIsAClearError) {
  auto r = RunTacc({"worker", "--class", "nosuch"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("unknown worker class 'nosuch'"), std::string::npos) << r.output;
  auto list = RunTacc({"worker", "--list"});
  EXPECT_EQ(list.exit_code, 0);
  EXPECT_NE(list.output.find("test"), std::string::npos);
}

}  // namespace
}  // namespace tacc::testing

namespace tacc::testing {
namespace {

TEST(CliKeyTest, GenerateWritesAPrivateKeyOnceAndFingerprintNamesIt) {
  std::string dir = "/tmp/tacc-cli-key-" + std::to_string(getpid());
  std::filesystem::remove_all(dir);
  std::string path = dir + "/cluster.key";
  auto g = RunTacc({"key", "generate", "--out", path});
  ASSERT_EQ(g.exit_code, 0) << g.output;
  EXPECT_EQ(std::filesystem::status(path).permissions() & std::filesystem::perms::all, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  // Never overwrites a cluster's key.
  auto again = RunTacc({"key", "generate", "--out", path});
  EXPECT_EQ(again.exit_code, 3) << again.output;
  EXPECT_NE(again.output.find("not overwriting"), std::string::npos) << again.output;
  // The fingerprint printed at generation is the one in force with that key file.
  auto fp = RunTacc({"key", "fingerprint", "--set", "cluster.key_file=" + path});
  ASSERT_EQ(fp.exit_code, 0) << fp.output;
  std::string printed = g.output.substr(g.output.find("cluster key ") + 12, 8);
  EXPECT_EQ(fp.output.substr(0, 8), printed) << g.output << fp.output;
  // A key others may read is refused by every component.
  std::filesystem::permissions(path, std::filesystem::perms::group_read, std::filesystem::perm_options::add);
  auto m = RunTacc({"manager", "--set", "cluster.key_file=" + path, "--set", "cluster.name=clikey" + std::to_string(getpid())});
  EXPECT_NE(m.exit_code, 0);
  EXPECT_NE(m.output.find("chmod 600"), std::string::npos) << m.output;
  std::filesystem::remove_all(dir);
}

TEST(CliTest, DispatchNamesTheBadSetting) {
  auto bad_backend = RunTacc({"dispatch", "--backend", "not-an-address:80", "--set", "frontdoor.from_beacons=false", "--set", "cluster.run_dir=/tmp/tacc-cli-dispatch"});
  EXPECT_EQ(bad_backend.exit_code, 2) << bad_backend.output;
  EXPECT_NE(bad_backend.output.find("frontdoor.backends"), std::string::npos) << bad_backend.output;
  auto rebuild = RunTacc({"dispatch", "--backend", "127.0.0.1:9", "--set", "frontdoor.from_beacons=false", "--set", "frontdoor.rebuild_timeout_ms=0",
                          "--set", "cluster.run_dir=/tmp/tacc-cli-dispatch"});
  EXPECT_EQ(rebuild.exit_code, 2) << rebuild.output;
  EXPECT_NE(rebuild.output.find("frontdoor.rebuild_timeout_ms"), std::string::npos) << rebuild.output;
  auto mode = RunTacc({"dispatch", "--mode", "l9"});
  EXPECT_EQ(mode.exit_code, 2) << mode.output;
  EXPECT_NE(mode.output.find("frontdoor.mode"), std::string::npos) << mode.output;
}

}  // namespace
}  // namespace tacc::testing
