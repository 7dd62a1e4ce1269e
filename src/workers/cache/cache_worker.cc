// The built-in "cache" worker: one partition of the virtual cache (paper §3.1.5; issue 7).
//
// A partition is an SNS worker whose job is BASE data: the manager spawns, counts and
// restarts it like any class and it appears in beacons; front ends pick a partition by
// hashing the key over the live ones (src/tacc/virtual_cache.h). It holds opaque entries
// (what the service stored: for TranSend, a response with its headers) in memory, under
// a byte budget with least-recently-used eviction. Losing it costs only time: a lost or
// restarted partition is a miss for its share of the keys.
//
// Tasks: args op=get|put|erase|push and key=<key>; put stores the task's input. push
// keeps a short list under the key (an index, e.g. of an original's variants): it puts
// the input line first, drops an older copy of it, and keeps at most max_items lines
// (default 8), in one step, so front ends adding at once lose nothing to each other.
// Answers: meta hit=1|0 (get: output = the entry), stored=1|0 (put and push, with the
// reason if not).
// Start-up args: budget_mb (default 64), max_entry_mb (default 8).
#include <fmt/format.h>

#include <cstdlib>

#include "sns/worker_registry.h"
#include "tacc/lru_store.h"

namespace tacc::workers {
namespace {

struct CacheEntry {
  std::string bytes;
  size_t size_bytes() const { return bytes.size(); }
};

class CacheWorker : public sns::WorkerFunction {
 public:
  explicit CacheWorker(tacc_layer::LruStoreOptions options) : store_(options) {}

  Result<sns::TaskOutput> Process(const sns::TaskInput& in) override {
    auto op = in.args.find("op");
    auto key = in.args.find("key");
    if (op == in.args.end() || key == in.args.end() || key->second.empty() || key->second.size() > 8192)
      return Status::InvalidArgument("cache: a task needs op=get|put|erase|push and a key of 1..8192 bytes");
    sns::TaskOutput out;
    if (op->second == "get") {
      auto v = store_.Get(key->second);
      out.meta["hit"] = v ? "1" : "0";
      if (v) out.data = v->bytes;
    } else if (op->second == "put") {
      auto r = store_.Put(key->second, std::make_shared<const CacheEntry>(CacheEntry{in.data}));
      out.meta["stored"] = tacc_layer::Stored(r) ? "1" : "0";
      if (!tacc_layer::Stored(r)) out.meta["reason"] = std::string(tacc_layer::PutResultName(r));
    } else if (op->second == "push") {
      auto r = Push(key->second, in.data, in.args);
      if (!r.ok()) return r.status();
      out.meta["stored"] = tacc_layer::Stored(*r) ? "1" : "0";
      if (!tacc_layer::Stored(*r)) out.meta["reason"] = std::string(tacc_layer::PutResultName(*r));
    } else if (op->second == "erase") {
      out.meta["erased"] = store_.Erase(key->second) ? "1" : "0";
    } else {
      return Status::InvalidArgument("cache: op must be get, put, erase or push");
    }
    const auto& c = store_.counters();
    out.meta["entries"] = fmt::format("{}", c.entries);
    out.meta["bytes"] = fmt::format("{}", c.bytes);
    return out;
  }

 private:
  Result<tacc_layer::PutResult> Push(const std::string& key, const std::string& line, const std::map<std::string, std::string>& args) {
    if (line.empty() || line.size() > 8192 || line.find('\n') != std::string::npos)
      return Status::InvalidArgument("cache: push takes one line of 1..8192 bytes");
    size_t max_items = 8;
    if (auto it = args.find("max_items"); it != args.end()) {
      max_items = static_cast<size_t>(std::strtoul(it->second.c_str(), nullptr, 10));
      if (max_items < 1 || max_items > 64) return Status::InvalidArgument("cache: push's max_items must be within 1..64");
    }
    std::string list = line;
    size_t kept = 1;
    if (auto old = store_.Peek(key)) {
      std::string_view rest = old->bytes;
      while (!rest.empty() && kept < max_items) {
        auto nl = rest.find('\n');
        std::string_view item = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
        if (item.empty() || item == line) continue;
        list += '\n';
        list += item;
        ++kept;
      }
    }
    return store_.Put(key, std::make_shared<const CacheEntry>(CacheEntry{std::move(list)}));
  }

  tacc_layer::LruStore<CacheEntry> store_;
};

Result<sns::WorkerFunctionPtr> MakeCacheWorker(const std::map<std::string, std::string>& args) {
  auto mb = [&](const char* name, double dflt) -> double {
    auto it = args.find(name);
    if (it == args.end()) return dflt;
    char* end = nullptr;
    double v = std::strtod(it->second.c_str(), &end);
    return (end == it->second.c_str() || *end || v <= 0 || v > 1024 * 1024) ? -1 : v;
  };
  double budget = mb("budget_mb", 64), entry = mb("max_entry_mb", 8);
  if (budget < 0 || entry < 0) return Status::InvalidArgument("cache worker: budget_mb and max_entry_mb must be positive numbers of MiB");
  tacc_layer::LruStoreOptions o;
  o.budget_bytes = static_cast<size_t>(budget * 1024 * 1024);
  o.max_entry_bytes = static_cast<size_t>(entry * 1024 * 1024);
  return sns::WorkerFunctionPtr(std::make_unique<CacheWorker>(o));
}

}  // namespace
}  // namespace tacc::workers

TACC_REGISTER_WORKER(cache, "cache", "a virtual-cache partition: op=get|put|erase|push, key; memory budget budget_mb with LRU eviction",
                     tacc::workers::MakeCacheWorker);
