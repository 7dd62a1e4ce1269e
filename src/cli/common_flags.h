// Flags every tacc command shares (--config, --set, --log-level) and the start-up steps
// that go with them: load and validate the configuration, start logging.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "common/config.h"
#include "common/log.h"

namespace tacc::cli {

// Exit codes of every command.
constexpr int kExitOk = 0;
constexpr int kExitUsage = 2;        // bad flag or setting
constexpr int kExitUnavailable = 3;  // port busy, lock held, peer missing
constexpr int kExitInternal = 4;

// Set by the command that ran; main() returns it.
inline int g_exit_code = kExitOk;

struct CommonFlags {
  std::string config_path;
  std::vector<std::string> overrides;
  std::string log_level;
};

void AddCommonFlags(CLI::App& cmd, CommonFlags& flags);

// Loads the configuration (printing the error naming the bad setting on failure) and
// starts logging for `component`. `extra` overrides are appended and inherited.
Result<Config> LoadConfig(CommonFlags& flags, const std::string& component, const std::vector<std::string>& extra = {});
ConfigArgs ToConfigArgs(const CommonFlags& flags);

void AddUpCommand(CLI::App& app);
void AddManagerCommand(CLI::App& app);
void AddFrontendCommand(CLI::App& app);
void AddWorkerCommand(CLI::App& app);
void AddStatusCommand(CLI::App& app);
void AddConfigCommand(CLI::App& app);
void AddKeyCommand(CLI::App& app);
void AddUrlCommand(CLI::App& app);
void AddDispatchCommand(CLI::App& app);
void AddPlayCommand(CLI::App& app);
void AddTraceCommand(CLI::App& app);

}  // namespace tacc::cli
