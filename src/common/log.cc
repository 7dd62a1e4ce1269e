#include "common/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <unistd.h>

namespace tacc {

void InitLogging(const std::string& component, const std::string& level) {
  auto logger = spdlog::stderr_logger_mt(component);
  logger->set_pattern(fmt::format("%Y-%m-%d %H:%M:%S.%e %-5l [{} {}] %v", component, getpid()));
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

}  // namespace tacc
