#include "sns/directory_snapshot.h"

#include <cmath>

namespace tacc::sns {

std::shared_ptr<const DirectorySnapshot> DirectorySnapshot::FromBeacon(const wire::Beacon& beacon, std::chrono::steady_clock::time_point received) {
  auto s = std::make_shared<DirectorySnapshot>();
  s->received = received;
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
  if (!same_beacon) {
    // The new beacon's loads include what was sent before it: start over, except for
    // workers that answered with their load since the previous beacon came (that load
    // is fresher than the beacon's, which is smoothed and a report period old).
    auto previous = snap_ ? snap_->received : std::chrono::steady_clock::time_point::max();
    std::erase_if(tally_, [&](const auto& kv) { return !kv.second.counts.observed_load || kv.second.observed_at < previous; });
  }
  snap_ = std::move(s);
}

void SharedDirectory::RecordSent(const std::string& worker_id) {
  std::lock_guard lock(mu_);
  ++tally_[worker_id].counts.sent;
}

void SharedDirectory::RecordAnswered(const std::string& worker_id, std::optional<double> load, std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(mu_);
  auto& t = tally_[worker_id];
  if (load && std::isfinite(*load) && *load >= 0) {
    // The announced load already counts everything this worker had when it answered.
    t.counts = DispatchCounts{0, 0, *load};
    t.observed_at = now;
  } else {
    ++t.counts.answered;
  }
}

void SharedDirectory::CountsOf(const std::vector<const wire::WorkerInfo*>& workers, std::vector<DispatchCounts>& out) const {
  out.assign(workers.size(), DispatchCounts{});
  std::lock_guard lock(mu_);
  if (tally_.empty()) return;
  for (size_t i = 0; i < workers.size(); ++i) {
    auto it = tally_.find(workers[i]->id());
    if (it != tally_.end()) out[i] = it->second.counts;
  }
}

}  // namespace tacc::sns
