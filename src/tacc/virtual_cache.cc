#include "tacc/virtual_cache.h"

#include <openssl/sha.h>

#include <cstring>

namespace tacc::tacc_layer {

std::string VirtualCache::PartitionFor(const std::string& key, const std::vector<std::string>& partitions) {
  std::string best;
  uint64_t best_score = 0;
  for (const auto& p : partitions) {
    // A strong hash, so that a key's owner can't be steered by choosing the key.
    std::string material = key;
    material.push_back('\0');
    material += p;
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(material.data()), material.size(), digest);
    uint64_t score = 0;
    std::memcpy(&score, digest, sizeof score);
    if (best.empty() || score > best_score || (score == best_score && p < best)) {
      best = p;
      best_score = score;
    }
  }
  return best;
}

boost::asio::awaitable<Result<sns::TaskOutput>> VirtualCache::Call(const std::string& op, const std::string& key, std::string data,
                                                                   const std::map<std::string, std::string>* extra_args) {
  std::string partition = PartitionFor(key, tasks_.WorkersOf(class_));
  if (partition.empty()) co_return Status::Unavailable("no cache partition");
  sns::TaskInput in;
  in.data = std::move(data);
  if (extra_args) in.args = *extra_args;
  in.args["op"] = op;
  in.args["key"] = key;
  auto deadline = std::chrono::steady_clock::now() + timeout_;
  co_return co_await tasks_.DispatchTo(class_, partition, std::move(in), deadline);
}

boost::asio::awaitable<std::optional<std::string>> VirtualCache::Get(const std::string& key) {
  std::string op = "get";
  auto r = co_await Call(op, key, std::string());
  if (!r.ok()) {
    ++counters_.errors;
    ++counters_.misses;
    co_return std::nullopt;
  }
  auto hit = r->meta.find("hit");
  if (hit == r->meta.end() || hit->second != "1") {
    ++counters_.misses;
    co_return std::nullopt;
  }
  ++counters_.hits;
  co_return std::move(r->data);
}

boost::asio::awaitable<bool> VirtualCache::Put(const std::string& key, std::string value) {
  std::string op = "put";
  auto r = co_await Call(op, key, std::move(value));
  ++counters_.puts;
  bool stored = r.ok() && r->meta.count("stored") && r->meta.at("stored") == "1";
  if (!stored) ++counters_.put_errors;
  co_return stored;
}

boost::asio::awaitable<void> VirtualCache::Erase(const std::string& key) {
  std::string op = "erase";
  co_await Call(op, key, std::string());
}

}  // namespace tacc::tacc_layer

namespace tacc::tacc_layer {

boost::asio::awaitable<bool> VirtualCache::Push(const std::string& key, std::string line, int max_items) {
  std::string op = "push";
  std::map<std::string, std::string> args{{"max_items", std::to_string(max_items)}};
  auto r = co_await Call(op, key, std::move(line), &args);
  ++counters_.puts;
  bool stored = r.ok() && r->meta.count("stored") && r->meta.at("stored") == "1";
  if (!stored) ++counters_.put_errors;
  co_return stored;
}

}  // namespace tacc::tacc_layer
