// Logging: one readable line per event on stderr, tagged with component and pid.
//
// Every process calls InitLogging once; the rest of the code uses spdlog's free
// functions (spdlog::info(...)). Lines look like
//   2026-11-23 01:02:03.456 info  [manager 1234] spawned worker test (pid 1240)
#pragma once

#include <spdlog/spdlog.h>

#include <string>

namespace tacc {

void InitLogging(const std::string& component, const std::string& level);

}  // namespace tacc
