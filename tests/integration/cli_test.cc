// The tacc binary's command line: help everywhere, configuration errors name the setting.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "cluster_harness.h"

namespace tacc::testing {
namespace {

TEST(CliTest, EveryCommandHasHelp) {
  for (std::string cmd : {"up", "manager", "frontend", "worker", "status", "config"}) {
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
