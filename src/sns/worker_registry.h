// Worker registry: built-in worker implementations by name.
//
// Adding a worker is always the same: implement WorkerFunction, write a factory that
// validates the class's start-up args, and register it with TACC_REGISTER_WORKER in
// its own .cc file (TACC_REGISTER_TYPED_WORKER: with the types it converts between, so
// that `auto` dispatch rules can plan chains over it). A duplicate name is a fatal error
// at start-up.
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
  // The MIME types (essences) it takes and produces, for the chain planner
  // (src/tacc/chain_planner.h); empty: it is not planned over, only named by rules.
  std::vector<std::string> takes;
  std::vector<std::string> produces;
};

bool RegisterWorkerImpl(WorkerEntry entry);
const WorkerEntry* FindWorkerImpl(const std::string& name);
std::vector<const WorkerEntry*> ListWorkerImpls();

}  // namespace tacc::sns

#define TACC_REGISTER_WORKER(ident, name, description, factory) \
  static const bool tacc_worker_registered_##ident = ::tacc::sns::RegisterWorkerImpl({name, description, factory, {}, {}})

#define TACC_REGISTER_TYPED_WORKER(ident, name, description, factory, takes, produces) \
  static const bool tacc_worker_registered_##ident = ::tacc::sns::RegisterWorkerImpl({name, description, factory, takes, produces})
