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

void SharedDirectory::Set(std::shared_ptr<const DirectorySnapshot> s) {
  std::lock_guard lock(mu_);
  bool same_beacon = snap_ && s && snap_->beacon.epoch() == s->beacon.epoch() && snap_->beacon.seq() == s->beacon.seq();
  if (!same_beacon) tally_.clear();
  snap_ = std::move(s);
}

void SharedDirectory::RecordSent(const std::string& worker_id) {
  std::lock_guard lock(mu_);
  ++tally_[worker_id].sent;
}

void SharedDirectory::RecordAnswered(const std::string& worker_id) {
  std::lock_guard lock(mu_);
  ++tally_[worker_id].answered;
}

void SharedDirectory::CountsOf(const std::vector<const wire::WorkerInfo*>& workers, std::vector<DispatchCounts>& out) const {
  out.assign(workers.size(), DispatchCounts{});
  std::lock_guard lock(mu_);
  if (tally_.empty()) return;
  for (size_t i = 0; i < workers.size(); ++i) {
    auto it = tally_.find(workers[i]->id());
    if (it != tally_.end()) out[i] = it->second;
  }
}

}  // namespace tacc::sns
