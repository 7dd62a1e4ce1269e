#include "sns/manager_election.h"

#include <algorithm>
#include <vector>

namespace tacc::sns {

int FrontendRank(const wire::Beacon* last, uint32_t index) {
  if (!last || last->frontends_size() == 0) return static_cast<int>(index);
  std::vector<uint32_t> indices;
  for (auto& f : last->frontends()) indices.push_back(f.index());
  std::sort(indices.begin(), indices.end());
  indices.erase(std::unique(indices.begin(), indices.end()), indices.end());
  auto it = std::find(indices.begin(), indices.end(), index);
  return it == indices.end() ? static_cast<int>(indices.size()) : static_cast<int>(it - indices.begin());
}

bool ShouldRestartManager(const ElectionInput& in) {
  auto silent = in.now - in.last_beacon;
  // Only rank 0 acts on a broken connection at once. The others wait for the beacons'
  // silence as usual: rank 0's replacement may take longer than a timeout to come up (a
  // busy host, a sanitized build), and a second launch would race it for the lock.
  bool known_dead = in.rank == 0 && in.connection_lost_and_process_gone;
  bool presumed_dead = silent > in.timeout * (in.rank + 1) || known_dead;
  return presumed_dead && in.now - in.last_restart > in.timeout * (in.rank + 2);
}

}  // namespace tacc::sns
