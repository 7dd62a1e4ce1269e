#include "sns/directory_snapshot.h"

namespace tacc::sns {

std::shared_ptr<const DirectorySnapshot> DirectorySnapshot::FromBeacon(const wire::Beacon& beacon) {
  auto s = std::make_shared<DirectorySnapshot>();
  s->received = std::chrono::steady_clock::now();
  s->beacon = beacon;
  for (auto& w : s->beacon.workers()) s->by_class[w.worker_class()].push_back(&w);
  return s;
}

const std::vector<const wire::WorkerInfo*>& DirectorySnapshot::WorkersOf(const std::string& cls) const {
  static const std::vector<const wire::WorkerInfo*> kNone;
  auto it = by_class.find(cls);
  return it == by_class.end() ? kNone : it->second;
}

}  // namespace tacc::sns
