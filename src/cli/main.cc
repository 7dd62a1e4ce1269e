// The one tacc binary: every process of the cluster is `tacc <command>`, and processes
// start each other by re-executing it (ARCHITECTURE.md "Processes").
#include <signal.h>

#include <CLI/CLI.hpp>

#include "cli/common_flags.h"

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  CLI::App app{"tacc: cluster-based scalable network services (TranSend on a TACC/SNS platform)"};
  app.require_subcommand(1);
  app.fallthrough(false);
  tacc::cli::AddUpCommand(app);
  tacc::cli::AddManagerCommand(app);
  tacc::cli::AddFrontendCommand(app);
  tacc::cli::AddWorkerCommand(app);
  tacc::cli::AddStatusCommand(app);
  tacc::cli::AddConfigCommand(app);
  tacc::cli::AddKeyCommand(app);
  tacc::cli::AddUrlCommand(app);
  tacc::cli::AddDispatchCommand(app);
  tacc::cli::AddPlayCommand(app);
  tacc::cli::AddTraceCommand(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return tacc::cli::g_exit_code;
}
