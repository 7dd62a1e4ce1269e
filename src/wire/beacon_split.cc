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

std::string CanonicalId(const std::string& cls, const std::string& host, uint32_t port) { return fmt::format("{}@{}:{}", cls, host, port); }

uint32_t LoadMilli(double load) {
  if (!(load > 0)) return 0;  // also NaN
  double m = std::round(load * 1000);
  return m >= static_cast<double>(std::numeric_limits<uint32_t>::max()) ? std::numeric_limits<uint32_t>::max() : static_cast<uint32_t>(m);
}

// Fills parts greedily in entry order: classes, front ends, workers.
class Packer {
 public:
  Packer(uint64_t epoch, uint64_t seq, size_t budget) : epoch_(epoch), seq_(seq), budget_(budget) { Reset(); }

  // Adds an entry of `bytes` (plus `new_strings` to the table) if it fits, else starts
  // a new part first. False if it cannot fit even in an empty part.
  template <typename AddFn>
  bool Add(size_t bytes, AddFn add) {
    if (used_ + bytes > budget_) {
      if (empty_) return false;
      Flush();
      return false;  // the caller recomputes against the fresh part's string table
    }
    add(current_);
    used_ += bytes;
    empty_ = false;
    return true;
  }

  void AddClass(const ClassStatus& c, size_t* dropped) {
    size_t bytes = FieldBytes(c.ByteSizeLong());
    for (int attempt = 0; attempt < 2; ++attempt)
      if (Add(bytes, [&](BeaconPart& p) { *p.add_classes() = c; })) return;
    ++*dropped;
  }

  void AddFrontend(const FrontendInfo& f, size_t* dropped) {
    size_t bytes = FieldBytes(f.ByteSizeLong());
    for (int attempt = 0; attempt < 2; ++attempt)
      if (Add(bytes, [&](BeaconPart& p) { *p.add_frontends() = f; })) return;
    ++*dropped;
  }

  void AddWorker(const WorkerInfo& w, size_t* dropped) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      // Strings this entry needs that the current part does not carry yet.
      size_t extra = 0;
      std::vector<const std::string*> fresh;
      auto index_of = [&](const std::string& s) -> uint32_t {
        if (auto it = strings_.find(s); it != strings_.end()) return it->second;
        for (size_t i = 0; i < fresh.size(); ++i)
          if (*fresh[i] == s) return static_cast<uint32_t>(strings_.size() + i);
        fresh.push_back(&s);
        extra += FieldBytes(s.size());
        return static_cast<uint32_t>(strings_.size() + fresh.size() - 1);
      };
      CompactWorker cw;
      cw.set_worker_class(index_of(w.worker_class()));
      cw.set_host(index_of(w.address().host()));
      cw.set_port(w.address().port());
      cw.set_pid(w.pid());
      cw.set_load_milli(LoadMilli(w.load()));
      if (w.host() != w.address().host()) cw.set_process_host(index_of(w.host()) + 1);
      if (w.id() != CanonicalId(w.worker_class(), w.address().host(), w.address().port())) cw.set_id(w.id());
      size_t bytes = FieldBytes(cw.ByteSizeLong()) + extra;
      bool added = Add(bytes, [&](BeaconPart& p) {
        for (auto* s : fresh) {
          strings_.emplace(*s, static_cast<uint32_t>(p.strings_size()));
          p.add_strings(*s);
        }
        *p.add_workers() = std::move(cw);
      });
      if (added) return;
    }
    ++*dropped;
  }

  std::vector<BeaconPart> Finish() {
    if (!empty_) Flush();
    for (size_t i = 0; i < parts_.size(); ++i) {
      parts_[i].set_index(static_cast<uint32_t>(i));
      parts_[i].set_parts(static_cast<uint32_t>(parts_.size()));
    }
    return std::move(parts_);
  }

 private:
  void Reset() {
    current_.Clear();
    current_.set_epoch(epoch_);
    current_.set_seq(seq_);
    strings_.clear();
    used_ = kPartFixedBytes;
    empty_ = true;
  }
  void Flush() {
    parts_.push_back(std::move(current_));
    Reset();
  }

  uint64_t epoch_, seq_;
  size_t budget_;
  BeaconPart current_;
  std::unordered_map<std::string, uint32_t> strings_;
  size_t used_ = 0;
  bool empty_ = true;
  std::vector<BeaconPart> parts_;
};

}  // namespace

Result<SplitBeacon> Split(const Beacon& beacon, size_t max_body_bytes) {
  SplitBeacon out;
  out.header = beacon;
  out.header.clear_workers();
  out.header.clear_frontends();
  out.header.clear_classes();
  out.header.set_parts(kMaxBeaconParts);  // widest varint it may get
  if (out.header.ByteSizeLong() > max_body_bytes)
    return Status::InvalidArgument(fmt::format("a beacon header needs {} bytes, more than the {} a datagram may carry", out.header.ByteSizeLong(), max_body_bytes));
  Packer packer(beacon.epoch(), beacon.seq(), max_body_bytes);
  for (auto& c : beacon.classes()) packer.AddClass(c, &out.dropped);
  for (auto& f : beacon.frontends()) packer.AddFrontend(f, &out.dropped);
  for (auto& w : beacon.workers()) packer.AddWorker(w, &out.dropped);
  out.parts = packer.Finish();
  if (out.parts.size() > kMaxBeaconParts)
    return Status::InvalidArgument(fmt::format("a beacon of {} parts exceeds the limit of {}", out.parts.size(), kMaxBeaconParts));
  out.header.set_parts(static_cast<uint32_t>(out.parts.size()));
  return out;
}

Status AppendPart(const BeaconPart& part, Beacon* beacon) {
  auto str = [&](uint32_t i) -> const std::string* { return i < static_cast<uint32_t>(part.strings_size()) ? &part.strings(static_cast<int>(i)) : nullptr; };
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
  if (invalid) ++stats_.invalid;
  else ++stats_.abandoned;
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
