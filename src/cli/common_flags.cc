#include "cli/common_flags.h"

#include <cstdio>

#include "common/log.h"

namespace tacc::cli {

void AddCommonFlags(CLI::App& cmd, CommonFlags& f) {
  cmd.add_option("-c,--config", f.config_path, "TOML configuration file (see `tacc config --reference`)");
  cmd.add_option("-s,--set", f.overrides, "Override a setting: --set section.key=value (repeatable, later wins)");
  cmd.add_option("--log-level", f.log_level, "Shorthand for --set log.level=LEVEL (trace, debug, info, warn, error)");
}

Result<Config> LoadConfig(CommonFlags& f, const std::string& component, const std::vector<std::string>& extra) {
  if (!f.log_level.empty()) f.overrides.push_back("log.level=" + f.log_level);
  f.log_level.clear();
  f.overrides.insert(f.overrides.end(), extra.begin(), extra.end());
  auto c = Config::Load(f.config_path, f.overrides);
  if (!c.ok()) {
    std::fprintf(stderr, "tacc %s: %s\n", component.c_str(), c.status().message().c_str());
    return c;
  }
  InitLogging(component, c->log.level);
  return c;
}

ConfigArgs ToConfigArgs(const CommonFlags& f) { return ConfigArgs{f.config_path, f.overrides}; }

}  // namespace tacc::cli
