// VirtualCache: the front end's view of the cache partitions (paper §3.1.5; issue 7).
//
// Keys are spread over the live partitions of a worker class (normally "cache") by
// rendezvous hashing: each key goes to the partition with the highest hash of
// (key, partition id), so adding or losing a partition moves only the keys it gains or
// held. A restarted partition has a new id and starts empty. Every failure is a miss:
// no partition, a dead one, a slow one (timeout_ms), a refused store. The cache holds
// BASE data; losing it costs only time.
//
// Not thread-safe: one per front-end thread (it uses that thread's TaskDispatcher).
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sns/service.h"

namespace tacc::tacc_layer {

struct VirtualCacheCounters {
  uint64_t hits = 0, misses = 0, errors = 0, puts = 0, put_errors = 0;
};

class VirtualCache {
 public:
  VirtualCache(sns::TaskDispatcher& tasks, std::string worker_class, std::chrono::milliseconds timeout)
      : tasks_(tasks), class_(std::move(worker_class)), timeout_(timeout) {}

  // The entry stored under `key`, or none (a miss, whatever the reason).
  boost::asio::awaitable<std::optional<std::string>> Get(const std::string& key);
  // Stores `value` under `key` (best effort; false if it was not stored).
  boost::asio::awaitable<bool> Put(const std::string& key, std::string value);
  boost::asio::awaitable<void> Erase(const std::string& key);
  // Puts `line` first in the short list under `key`, keeping at most `max_items` lines
  // (the partition does it in one step; see src/workers/cache/cache_worker.cc).
  boost::asio::awaitable<bool> Push(const std::string& key, std::string line, int max_items);

  // The partition (worker id) that owns `key` among `partitions`, or empty.
  static std::string PartitionFor(const std::string& key, const std::vector<std::string>& partitions);

  const VirtualCacheCounters& counters() const { return counters_; }

 private:
  boost::asio::awaitable<Result<sns::TaskOutput>> Call(const std::string& op, const std::string& key, std::string data,
                                                      const std::map<std::string, std::string>* extra_args = nullptr);

  sns::TaskDispatcher& tasks_;
  std::string class_;
  std::chrono::milliseconds timeout_;
  VirtualCacheCounters counters_;
};

}  // namespace tacc::tacc_layer
