// Worker registry: built-in worker implementations by name.
//
// Adding a worker is always the same: implement WorkerFunction, write a factory that
// validates the class's start-up args, and register it with TACC_REGISTER_WORKER in
// its own .cc file. A duplicate name is a fatal error at start-up.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "sns/worker_function.h"

namespace tacc::sns {

using WorkerFactory = std::function<Result<WorkerFunctionPtr>(const std::map<std::string, std::string>& args)>;

struct WorkerEntry {
  std::string name;
  std::string description;
  WorkerFactory factory;
};

bool RegisterWorkerImpl(WorkerEntry entry);
const WorkerEntry* FindWorkerImpl(const std::string& name);
std::vector<const WorkerEntry*> ListWorkerImpls();

}  // namespace tacc::sns

#define TACC_REGISTER_WORKER(ident, name, description, factory) \
  static const bool tacc_worker_registered_##ident = ::tacc::sns::RegisterWorkerImpl({name, description, factory})
