#include "sns/connection_reporter.h"

#include <fmt/format.h>

#include <algorithm>

#include "wire/cluster.pb.h"
#include "wire/datagram_seal.h"

namespace tacc::sns {

ConnectionReporter::ConnectionReporter(wire::ClusterAuthPtr auth, uint16_t public_port, Lister lister)
    : auth_(std::move(auth)), public_port_(public_port), lister_(std::move(lister)) {}

bool ConnectionReporter::RememberNonce(const std::string& nonce, int64_t now_unix_ms) {
  // A nonce older than twice the freshness window cannot come back in a fresh query.
  while (!nonce_order_.empty() && (nonce_order_.front().first < now_unix_ms - 2 * kFreshnessMs || nonce_order_.size() >= kRememberedNonces)) {
    nonces_.erase(nonce_order_.front().second);
    nonce_order_.pop_front();
  }
  if (!nonces_.insert(nonce).second) return false;
  nonce_order_.emplace_back(now_unix_ms, nonce);
  return true;
}

Result<std::string> ConnectionReporter::Answer(std::string_view body, int64_t now_unix_ms) {
  wire::Unsealed unsealed;
  auto outcome = wire::Unseal(auth_->key, auth_->cluster, body, now_unix_ms, kFreshnessMs, wire::KindBit(wire::DATAGRAM_CONNECTION_QUERY), &unsealed);
  if (outcome == wire::UnsealOutcome::kMalformed || outcome == wire::UnsealOutcome::kUnwanted)
    return Status::InvalidArgument(fmt::format("not a connection query ({})", wire::ToString(outcome)));
  if (outcome != wire::UnsealOutcome::kOk) return Status::Forbidden(fmt::format("connection query refused: {}", wire::ToString(outcome)));
  wire::ConnectionQuery query;
  if (!query.ParseFromString(unsealed.body)) return Status::InvalidArgument("connection query: the body does not parse");
  if (query.nonce().size() < 8 || query.nonce().size() > 64) return Status::InvalidArgument("connection query: the nonce must be 8 to 64 bytes");
  boost::system::error_code ec;
  auto local = boost::asio::ip::make_address(query.local_host(), ec);
  if (ec) return Status::InvalidArgument(fmt::format("connection query: '{}' is not an IP address", query.local_host()));
  if (query.local_port() != public_port_)
    return Status::InvalidArgument(fmt::format("connection query: port {} is not this front end's ({})", query.local_port(), public_port_));
  {
    std::lock_guard lock(mu_);
    if (!RememberNonce(query.nonce(), now_unix_ms)) return Status::Forbidden("connection query refused: its nonce was used before (a replay)");
  }
  size_t max = std::min<size_t>(query.max_connections(), kMaxConnections);
  bool truncated = false;
  auto conns = lister_(local, static_cast<uint16_t>(query.local_port()), max, &truncated);
  if (!conns.ok()) return conns.status();
  wire::ConnectionReport report;
  report.set_nonce(query.nonce());
  report.set_truncated(truncated);
  for (auto& c : *conns) {
    auto* r = report.add_connections();
    r->set_client(c.remote.to_string());
    r->set_client_port(c.remote_port);
    r->set_client_wscale(c.remote_wscale);
    r->set_server_wscale(c.local_wscale);
  }
  return wire::Seal(auth_->key, auth_->cluster, wire::DATAGRAM_CONNECTION_REPORT, report.SerializeAsString(), now_unix_ms);
}

}  // namespace tacc::sns
