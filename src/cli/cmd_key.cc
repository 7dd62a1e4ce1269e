// `tacc key`: make the cluster key an operator copies to every host of a cluster.
//
//   tacc key generate --out /etc/tacc/cluster.key     (mode 0600; never overwrites)
//   tacc key fingerprint [-c cluster.toml]            (which key is in force, safely)
#include <iostream>

#include "cli/common_flags.h"
#include "common/cluster_key.h"

namespace tacc::cli {

namespace {
struct KeyFlags {
  CommonFlags common;
  std::string out;
};
}  // namespace

void AddKeyCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("key", "Create or identify the cluster key every process proves itself with");
  cmd->require_subcommand(1);
  auto f = std::make_shared<KeyFlags>();

  auto* gen = cmd->add_subcommand("generate", "Write a new random cluster key to a file with mode 0600 (never overwrites)");
  gen->add_option("--out,-o", f->out, "File to create (e.g. /etc/tacc/cluster.key); then set cluster.key_file to it on every host")->required();
  gen->callback([f] {
    auto k = ClusterKey::CreateFile(f->out);
    if (!k.ok()) {
      std::cerr << "tacc key generate: " << k.status().message() << "\n";
      g_exit_code = k.status().kind() == ErrorKind::kUnavailable ? kExitUnavailable : kExitInternal;
      return;
    }
    std::cout << "wrote cluster key " << k->Fingerprint() << " to " << f->out
              << "\ncopy it (mode 0600) to every host of the cluster and set cluster.key_file = \"" << f->out << "\"\n";
  });

  auto* fp = cmd->add_subcommand("fingerprint", "Print the fingerprint of the cluster key in force (cluster.key_file)");
  AddCommonFlags(*fp, f->common);
  fp->callback([f] {
    auto c = Config::Load(f->common.config_path, f->common.overrides);
    if (!c.ok()) {
      std::cerr << "tacc key fingerprint: " << c.status().message() << "\n";
      g_exit_code = kExitUsage;
      return;
    }
    auto k = ClusterKey::Load(c->KeyFile());
    if (!k.ok()) {
      std::cerr << "tacc key fingerprint: " << k.status().message() << "\n";
      g_exit_code = kExitUnavailable;
      return;
    }
    std::cout << k->Fingerprint() << "  " << c->KeyFile() << "\n";
  });
}

}  // namespace tacc::cli
