#include "sns/worker_registry.h"

#include <cstdio>
#include <cstdlib>

namespace tacc::sns {

namespace {
std::map<std::string, WorkerEntry>& Table() {
  static std::map<std::string, WorkerEntry> table;
  return table;
}
}  // namespace

bool RegisterWorkerImpl(WorkerEntry entry) {
  auto name = entry.name;
  if (!Table().emplace(name, std::move(entry)).second) {
    std::fprintf(stderr, "fatal: worker '%s' registered twice\n", name.c_str());
    std::abort();
  }
  return true;
}

const WorkerEntry* FindWorkerImpl(const std::string& name) {
  auto it = Table().find(name);
  return it == Table().end() ? nullptr : &it->second;
}

std::vector<const WorkerEntry*> ListWorkerImpls() {
  std::vector<const WorkerEntry*> out;
  for (auto& [n, e] : Table()) out.push_back(&e);
  return out;
}

}  // namespace tacc::sns
