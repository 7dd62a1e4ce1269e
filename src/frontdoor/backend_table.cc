#include "frontdoor/backend_table.h"

#include <spdlog/spdlog.h>

namespace tacc::frontdoor {

void BackendTable::SetFrom(BackendSource source, std::span<const BackendSpec> specs) {
  bool changed = false;
  std::map<std::string, const BackendSpec*> named;
  for (auto& s : specs) named[s.Id()] = &s;
  for (auto it = backends_.begin(); it != backends_.end();) {
    auto& b = it->second.backend;
    auto n = named.find(it->first);
    if (n == named.end() && (b.sources & source)) {
      b.sources &= static_cast<uint8_t>(~source);
      if (b.sources == 0) {
        spdlog::info("back end {} left ({})", it->first, source == kFromBeacon ? "no longer in the beacons" : "no longer configured");
        it = backends_.erase(it);
        changed = true;
        continue;
      }
    }
    ++it;
  }
  for (auto& [id, spec] : named) {
    auto [it, added] = backends_.try_emplace(id);
    auto& b = it->second.backend;
    if (added) {
      b.spec = *spec;
      spdlog::info("back end {} joined ({})", id, source == kFromBeacon ? "from the beacons" : "configured");
      changed = true;
    } else if (source == kFromConfig && b.spec.weight != spec->weight) {
      b.spec.weight = spec->weight;
      changed = true;
    }
    b.sources |= source;
  }
  if (changed) Changed();
}

void BackendTable::SetLoad(const std::string& id, double load) {
  if (auto* b = Find(id)) b->backend.load = load;
}

BackendState* BackendTable::Find(const std::string& id) {
  auto it = backends_.find(id);
  return it == backends_.end() ? nullptr : &it->second;
}

bool BackendTable::ReportFailure(const std::string& id) {
  auto* b = Find(id);
  if (!b) return false;
  ++b->failures;
  b->passes_in_row = 0;
  if (++b->fails_in_row >= fall_ && b->backend.health == Health::kUp) {
    b->backend.health = Health::kTesting;
    spdlog::warn("back end {} out of rotation after {} failures in a row; testing it", id, b->fails_in_row);
    Changed();
    return true;
  }
  return false;
}

bool BackendTable::ReportSuccess(const std::string& id) {
  auto* b = Find(id);
  if (!b) return false;
  b->fails_in_row = 0;
  if (b->backend.health == Health::kTesting && ++b->passes_in_row >= rise_) {
    b->backend.health = Health::kUp;
    b->passes_in_row = 0;
    spdlog::info("back end {} readmitted after {} passed checks", id, rise_);
    Changed();
    return true;
  }
  return false;
}

void BackendTable::Opened(const std::string& id) {
  if (auto* b = Find(id)) {
    ++b->active;
    ++b->forwarded;
  }
}

void BackendTable::Closed(const std::string& id) {
  if (auto* b = Find(id); b && b->active > 0) --b->active;
}

void BackendTable::ObserveResponse(const std::string& id, double ms) {
  if (auto* b = Find(id)) b->response_ms = b->response_ms < 0 ? ms : 0.8 * b->response_ms + 0.2 * ms;
}

std::span<const Candidate> BackendTable::Candidates() {
  candidates_.clear();
  for (auto& [id, b] : backends_) {
    if (b.backend.health != Health::kUp) continue;
    candidates_.push_back(Candidate{id, b.backend.spec.weight, b.active, b.backend.load, b.response_ms});
  }
  return candidates_;
}

std::vector<const BackendState*> BackendTable::Rotation() const {
  std::vector<const BackendState*> out;
  for (auto& [id, b] : backends_)
    if (b.backend.health == Health::kUp) out.push_back(&b);
  return out;
}

void BackendTable::Changed() {
  ++generation_;
  if (on_change_) on_change_();
}

}  // namespace tacc::frontdoor
