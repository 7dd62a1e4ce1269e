#include "wire/beacon_split.h"

#include <fmt/format.h>
#include <google/protobuf/io/coded_stream.h>

#include <cmath>
#include <limits>
#include <string>
#include <unordered_map>

namespace tacc::wire {

namespace {

using google::protobuf::io::CodedOutputStream;

// Bytes an element of a repeated length-delimited field (field number < 16) adds.
size_t FieldBytes(size_t len) { return 1 + CodedOutputStream::VarintSize64(len) + len; }

// Room a part's own fields take, whatever their values (epoch, seq: 10-byte varints;
// index, parts: 5-byte varints; one tag byte each).
constexpr size_t kPartFixedBytes = 4 + 10 + 10 + 5 + 5;

std::string CanonicalId(std::string_view cls, std::string_view host, uint32_t port) { return fmt::format("{}@{}:{}", cls, host, port); }

// id == CanonicalId(cls, host, port), without building it (10,000 times a beacon).
bool IsCanonicalId(std::string_view v, std::string_view cls, std::string_view host, uint32_t port) {
  char digits[16];
  auto end = fmt::format_to(digits, "{}", port);
  std::string_view p(digits, static_cast<size_t>(end - digits));
  return v.size() == cls.size() + 1 + host.size() + 1 + p.size() && v.substr(0, cls.size()) == cls && v[cls.size()] == '@' &&
         v.substr(cls.size() + 1, host.size()) == host && v[cls.size() + 1 + host.size()] == ':' && v.substr(v.size() - p.size()) == p;
}

uint32_t LoadMilli(double load) {
  if (!(load > 0)) return 0;  // also NaN
  double m = std::round(load * 1000);
  return m >= static_cast<double>(std::numeric_limits<uint32_t>::max()) ? std::numeric_limits<uint32_t>::max() : static_cast<uint32_t>(m);
}

}  // namespace

// ---------------------------------------------------------------- packer

BeaconPacker::BeaconPacker(size_t max_body_bytes) : budget_(max_body_bytes) { Reset(); }

void BeaconPacker::Reset() {
  current_.Clear();
  strings_.clear();
  last_.fill(kNoString);
  used_ = kPartFixedBytes;
  empty_ = true;
}

void BeaconPacker::Flush() {
  parts_.push_back(std::move(current_));
  Reset();
}

bool BeaconPacker::Fits(size_t bytes) {
  if (used_ + bytes <= budget_) return true;
  if (!empty_) Flush();  // the caller tries again against the fresh part
  return false;
}

void BeaconPacker::AddClass(const ClassStatus& c) {
  size_t bytes = FieldBytes(c.ByteSizeLong());
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!Fits(bytes)) continue;
    *current_.add_classes() = c;
    used_ += bytes;
    empty_ = false;
    return;
  }
  ++dropped_;
}

void BeaconPacker::AddFrontend(const FrontendInfo& f) {
  size_t bytes = FieldBytes(f.ByteSizeLong());
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!Fits(bytes)) continue;
    *current_.add_frontends() = f;
    used_ += bytes;
    empty_ = false;
    return;
  }
  ++dropped_;
}

uint32_t BeaconPacker::IndexOf(std::string_view s, int slot, size_t* extra, std::vector<std::string_view>* fresh) {
  // Consecutive workers mostly share class and host: remember the last one per slot.
  if (last_[slot] != kNoString && current_.strings(static_cast<int>(last_[slot])) == s) return last_[slot];
  if (auto it = strings_.find(std::string(s)); it != strings_.end()) return it->second;
  for (size_t i = 0; i < fresh->size(); ++i)
    if ((*fresh)[i] == s) return static_cast<uint32_t>(strings_.size() + i);
  fresh->push_back(s);
  *extra += FieldBytes(s.size());
  return static_cast<uint32_t>(strings_.size() + fresh->size() - 1);
}

void BeaconPacker::AddWorker(std::string_view id, std::string_view worker_class, std::string_view host, uint32_t port, uint32_t pid,
                             double load, std::string_view process_host) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    size_t extra = 0;
    std::vector<std::string_view> fresh;  // strings this entry adds to the part's table
    CompactWorker cw;
    uint32_t cls = IndexOf(worker_class, 0, &extra, &fresh);
    uint32_t h = IndexOf(host, 1, &extra, &fresh);
    cw.set_worker_class(cls);
    cw.set_host(h);
    cw.set_port(port);
    cw.set_pid(pid);
    cw.set_load_milli(LoadMilli(load));
    if (process_host != host) cw.set_process_host(IndexOf(process_host, 2, &extra, &fresh) + 1);
    if (!IsCanonicalId(id, worker_class, host, port)) cw.set_id(std::string(id));
    size_t bytes = FieldBytes(cw.ByteSizeLong()) + extra;
    if (!Fits(bytes)) continue;
    for (auto sv : fresh) {
      strings_.emplace(std::string(sv), static_cast<uint32_t>(current_.strings_size()));
      current_.add_strings(std::string(sv));
    }
    last_[0] = cls;
    last_[1] = h;
    if (cw.process_host() != 0) last_[2] = cw.process_host() - 1;
    *current_.add_workers() = std::move(cw);
    used_ += bytes;
    empty_ = false;
    return;
  }
  ++dropped_;
}

Result<SplitBeacon> BeaconPacker::Finish(Beacon header) {
  header.clear_workers();
  header.clear_frontends();
  header.clear_classes();
  header.set_parts(kMaxBeaconParts);  // widest varint it may get
  if (header.ByteSizeLong() > budget_)
    return Status::InvalidArgument(
        fmt::format("a beacon header needs {} bytes, more than the {} a datagram may carry", header.ByteSizeLong(), budget_));
  if (!empty_) Flush();
  if (parts_.size() > kMaxBeaconParts)
    return Status::InvalidArgument(fmt::format("a beacon of {} parts exceeds the limit of {}", parts_.size(), kMaxBeaconParts));
  SplitBeacon out;
  out.dropped = dropped_;
  out.parts = std::move(parts_);
  for (size_t i = 0; i < out.parts.size(); ++i) {
    auto& p = out.parts[i];
    p.set_epoch(header.epoch());
    p.set_seq(header.seq());
    p.set_index(static_cast<uint32_t>(i));
    p.set_parts(static_cast<uint32_t>(out.parts.size()));
  }
  header.set_parts(static_cast<uint32_t>(out.parts.size()));
  out.header = std::move(header);
  return out;
}

void AddEntries(const Beacon& beacon, BeaconPacker* packer) {
  for (auto& c : beacon.classes()) packer->AddClass(c);
  for (auto& f : beacon.frontends()) packer->AddFrontend(f);
  for (auto& w : beacon.workers())
    packer->AddWorker(w.id(), w.worker_class(), w.address().host(), w.address().port(), w.pid(), w.load(), w.host());
}

Result<SplitBeacon> Split(Beacon beacon, size_t max_body_bytes) {
  BeaconPacker packer(max_body_bytes);
  AddEntries(beacon, &packer);
  return packer.Finish(std::move(beacon));
}

Status AppendPart(const BeaconPart& part, Beacon* beacon) {
  auto str = [&](uint32_t i) -> const std::string* {
    return i < static_cast<uint32_t>(part.strings_size()) ? &part.strings(static_cast<int>(i)) : nullptr;
  };
  for (auto& c : part.classes()) *beacon->add_classes() = c;
  for (auto& f : part.frontends()) *beacon->add_frontends() = f;
  for (auto& cw : part.workers()) {
    const std::string* cls = str(cw.worker_class());
    const std::string* host = str(cw.host());
    const std::string* proc_host = cw.process_host() == 0 ? host : str(cw.process_host() - 1);
    if (!cls || !host || !proc_host) return Status::InvalidArgument("beacon part refers to a string it does not carry");
    auto* w = beacon->add_workers();
    w->set_worker_class(*cls);
    w->mutable_address()->set_host(*host);
    w->mutable_address()->set_port(cw.port());
    w->set_id(cw.id().empty() ? CanonicalId(*cls, *host, cw.port()) : cw.id());
    w->set_load(cw.load_milli() / 1000.0);
    w->set_pid(cw.pid());
    w->set_host(*proc_host);
  }
  return Status::Ok();
}

// ---------------------------------------------------------------- assembler

BeaconAssembler::Pending* BeaconAssembler::Slot(const Key& key, uint32_t parts) {
  if (parts > kMaxBeaconParts) {
    ++stats_.invalid;
    return nullptr;
  }
  auto it = pending_.find(key);
  if (it == pending_.end()) {
    while (pending_.size() >= max_pending_ && !pending_.empty()) {
      auto oldest = pending_.begin();
      for (auto i = pending_.begin(); i != pending_.end(); ++i)
        if (i->second.arrival < oldest->second.arrival) oldest = i;
      Drop(oldest->first, false);
    }
    it = pending_.emplace(key, Pending{}).first;
    it->second.arrival = ++arrivals_;
    it->second.parts.resize(parts);
  } else if (it->second.parts.size() != parts) {
    Drop(key, true);
    return nullptr;
  }
  return &it->second;
}

void BeaconAssembler::Drop(const Key& key, bool invalid) {
  if (pending_.erase(key) == 0) return;
  if (invalid)
    ++stats_.invalid;
  else
    ++stats_.abandoned;
}

std::optional<Beacon> BeaconAssembler::AddHeader(Beacon header) {
  Key key{header.epoch(), header.seq()};
  Pending* p = Slot(key, header.parts());
  if (!p) return std::nullopt;
  if (p->header) {
    ++stats_.duplicates;
    return std::nullopt;
  }
  p->header = std::move(header);
  return TryComplete(key);
}

std::optional<Beacon> BeaconAssembler::AddPart(BeaconPart part) {
  Key key{part.epoch(), part.seq()};
  if (part.index() >= part.parts()) {
    ++stats_.invalid;
    return std::nullopt;
  }
  Pending* p = Slot(key, part.parts());
  if (!p) return std::nullopt;
  auto& slot = p->parts[part.index()];
  if (slot) {
    ++stats_.duplicates;
    return std::nullopt;
  }
  slot = std::move(part);
  ++p->received;
  return TryComplete(key);
}

std::optional<Beacon> BeaconAssembler::TryComplete(const Key& key) {
  auto it = pending_.find(key);
  if (it == pending_.end() || !it->second.header || it->second.received != it->second.parts.size()) return std::nullopt;
  Beacon beacon = std::move(*it->second.header);
  for (auto& part : it->second.parts) {
    if (!AppendPart(*part, &beacon).ok()) {
      Drop(key, true);
      return std::nullopt;
    }
  }
  pending_.erase(it);
  // Older incomplete beacons of this epoch will never be wanted now.
  for (auto i = pending_.begin(); i != pending_.end();) {
    if (i->first.first == key.first && i->first.second < key.second) {
      ++stats_.abandoned;
      i = pending_.erase(i);
    } else {
      ++i;
    }
  }
  ++stats_.completed;
  return beacon;
}

}  // namespace tacc::wire
