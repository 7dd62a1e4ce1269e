// `tacc config`: print the configuration in force, or the reference of every setting.
#include <iostream>

#include "cli/common_flags.h"

namespace tacc::cli {

namespace {
struct ConfigFlags {
  CommonFlags common;
  bool reference = false;
};
}  // namespace

void AddConfigCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("config", "Print the effective configuration (TOML) or, with --reference, every setting documented");
  auto f = std::make_shared<ConfigFlags>();
  AddCommonFlags(*cmd, f->common);
  cmd->add_flag("--reference", f->reference, "Print the Markdown reference of all settings");
  cmd->callback([f] {
    if (f->reference) {
      std::cout << Config::Reference();
      return;
    }
    auto c = Config::Load(f->common.config_path, f->common.overrides);
    if (!c.ok()) {
      std::cerr << "tacc config: " << c.status().message() << "\n";
      g_exit_code = kExitUsage;
      return;
    }
    std::cout << c->ToToml();
  });
}

}  // namespace tacc::cli
