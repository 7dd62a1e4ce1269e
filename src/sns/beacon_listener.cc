#include "sns/beacon_listener.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "wire/datagram_seal.h"

namespace tacc::sns {

namespace asio = boost::asio;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

// A full listener may get a whole beacon's parts in one burst (the sender paces them in
// bursts, see BeaconSender): ask for room for a few hundred. The kernel caps it at
// net.core.rmem_max; docs/design.md says when to raise that.
constexpr int kReceiveBufferBytes = 4 << 20;
// Epochs whose sequence numbers are remembered (a few managers' worth).
constexpr size_t kEpochsRemembered = 16;

// ---------------------------------------------------------------- BeaconReceiver

const char* ToString(BeaconReceiver::Verdict v) {
  using V = BeaconReceiver::Verdict;
  switch (v) {
    case V::kBeacon:
      return "beacon";
    case V::kPending:
      return "pending";
    case V::kUnwanted:
      return "unwanted";
    case V::kOtherCluster:
      return "other cluster";
    case V::kMalformed:
      return "malformed";
    case V::kUnauthenticated:
      return "unauthenticated";
    case V::kStale:
      return "stale";
    case V::kReplayed:
      return "replayed";
  }
  return "?";
}

BeaconReceiver::BeaconReceiver(const ClusterKey& key, Options options) : key_(key), options_(std::move(options)) {}

uint64_t& BeaconReceiver::Delivered(uint64_t epoch) {
  for (auto& [e, seq] : delivered_)
    if (e == epoch) return seq;
  if (delivered_.size() >= kEpochsRemembered) {
    // Forget the oldest epoch: its manager has long been replaced, and its beacons are
    // stale by now anyway (freshness window).
    auto oldest = std::min_element(delivered_.begin(), delivered_.end());
    delivered_.erase(oldest);
  }
  delivered_.emplace_back(epoch, 0);
  return delivered_.back().second;
}

BeaconReceiver::Verdict BeaconReceiver::OnDatagram(std::string_view bytes, int64_t now_unix_ms, wire::Beacon* out) {
  uint32_t wanted = wire::KindBit(wire::DATAGRAM_BEACON_HEADER) | (options_.header_only ? 0u : wire::KindBit(wire::DATAGRAM_BEACON_PART));
  wire::Unsealed u;
  if (auto o = wire::Unseal(key_, options_.cluster, bytes, now_unix_ms, options_.freshness_ms, wanted, &u); o != wire::UnsealOutcome::kOk) return wire::RefusalOf<Verdict>(o);
  if (u.kind == wire::DATAGRAM_BEACON_HEADER) {
    wire::Beacon header;
    if (!header.ParseFromString(u.body) || header.cluster() != options_.cluster) return Verdict::kMalformed;
    uint64_t& delivered = Delivered(header.epoch());
    if (header.seq() <= delivered) return Verdict::kReplayed;
    if (options_.header_only) {
      delivered = header.seq();
      header.clear_workers();
      header.clear_frontends();
      header.clear_classes();
      *out = std::move(header);
      return Verdict::kBeacon;
    }
    uint64_t dups = assembler_.stats().duplicates;
    auto whole = assembler_.AddHeader(std::move(header));
    if (assembler_.stats().duplicates != dups) return Verdict::kReplayed;
    if (!whole) return Verdict::kPending;
    delivered = whole->seq();
    *out = std::move(*whole);
    return Verdict::kBeacon;
  }
  if (u.kind == wire::DATAGRAM_BEACON_PART) {
    wire::BeaconPart part;
    if (!part.ParseFromString(u.body)) return Verdict::kMalformed;
    if (part.seq() <= Delivered(part.epoch())) return Verdict::kReplayed;
    uint64_t dups = assembler_.stats().duplicates;
    auto whole = assembler_.AddPart(std::move(part));
    if (assembler_.stats().duplicates != dups) return Verdict::kReplayed;
    if (!whole) return Verdict::kPending;
    Delivered(whole->epoch()) = whole->seq();
    *out = std::move(*whole);
    return Verdict::kBeacon;
  }
  return Verdict::kMalformed;
}

// ---------------------------------------------------------------- BeaconListener

Result<std::unique_ptr<BeaconListener>> BeaconListener::Open(asio::io_context& ctx, const Config& config, const ClusterKey& key,
                                                             Handler handler, Options options) {
  Result<wire::udp::socket> sock =
      config.beacon.mode == "multicast"
          ? wire::OpenMulticastReceiver(ctx.get_executor(), config.beacon.group, config.beacon.port, config.beacon.interface)
          : wire::OpenUnicastSocket(ctx.get_executor(), config.cluster.host, 0);
  if (!sock.ok()) return sock.status();
  if (!options.header_only) {
    boost::system::error_code ec;
    sock->set_option(asio::socket_base::receive_buffer_size(kReceiveBufferBytes), ec);  // best effort
  }
  std::unique_ptr<BeaconListener> l(new BeaconListener(ctx, config, key, std::move(handler), std::move(options), std::move(*sock)));
  if (config.beacon.mode == "unicast") {
    auto names = config.beacon.unicast_seeds;
    if (names.empty()) names.push_back(config.cluster.host + ":" + std::to_string(config.beacon.port));
    std::vector<wire::udp::endpoint> skip;
    for (auto& s : l->options_.skip_seeds)
      if (auto ep = wire::ParseUdpEndpoint(s); ep.ok()) skip.push_back(*ep);
    for (auto& s : names) {
      auto ep = wire::ParseUdpEndpoint(s);
      if (!ep.ok()) return Status::InvalidArgument("setting 'beacon.unicast_seeds': " + ep.status().message());
      if (std::find(skip.begin(), skip.end(), *ep) == skip.end()) l->seeds_.push_back(*ep);
    }
  }
  return l;
}

BeaconListener::BeaconListener(asio::io_context& ctx, const Config& config, const ClusterKey& key, Handler handler, Options options,
                               wire::udp::socket socket)
    : ctx_(ctx),
      config_(config),
      key_(key),
      handler_(std::move(handler)),
      options_(std::move(options)),
      receiver_(key, BeaconReceiver::Options{config.cluster.name, config.beacon.freshness_ms, options_.header_only}),
      socket_(std::move(socket)),
      alive_(std::make_shared<bool>(true)) {}

BeaconListener::~BeaconListener() { Stop(); }

void BeaconListener::Start() {
  asio::co_spawn(ctx_, ReceiveLoop(), asio::detached);
  if (config_.beacon.mode == "unicast" && !seeds_.empty()) asio::co_spawn(ctx_, SubscribeLoop(), asio::detached);
}

void BeaconListener::Stop() {
  *alive_ = false;
  boost::system::error_code ec;
  socket_.close(ec);
}

asio::awaitable<void> BeaconListener::ReceiveLoop() {
  auto& stats = BeaconStats();
  auto alive = alive_;
  std::vector<char> buf(64 * 1024);
  while (*alive) {
    wire::udp::endpoint from;
    auto [ec, n] = co_await socket_.async_receive_from(asio::buffer(buf), from, kUseTuple);
    if (!*alive || ec == asio::error::operation_aborted) co_return;
    if (ec) continue;
    wire::Beacon beacon;
    auto verdict = receiver_.OnDatagram(std::string_view(buf.data(), n), wire::NowUnixMs(), &beacon);
    auto who = [&] { return fmt::format("{}:{}", from.address().to_string(), from.port()); };
    switch (verdict) {
      case BeaconReceiver::Verdict::kBeacon:
        stats.received.Inc();
        break;
      case BeaconReceiver::Verdict::kPending:
      case BeaconReceiver::Verdict::kUnwanted:
        break;
      case BeaconReceiver::Verdict::kOtherCluster:
        stats.other_cluster.Inc();
        break;
      case BeaconReceiver::Verdict::kMalformed:
        stats.malformed.Inc();
        malformed_log_.Note("a malformed beacon datagram", who());
        break;
      case BeaconReceiver::Verdict::kUnauthenticated:
        stats.unauthenticated.Inc();
        forged_log_.Note("a beacon datagram without a valid MAC (forged, or made with another cluster key)", who());
        break;
      case BeaconReceiver::Verdict::kStale:
        stats.stale.Inc();
        stale_log_.Note(
            fmt::format("a stale beacon datagram (sent more than beacon.freshness_ms = {} ms from our clock: replayed, or clocks apart)",
                        config_.beacon.freshness_ms),
            who());
        break;
      case BeaconReceiver::Verdict::kReplayed:
        stats.replayed.Inc();
        replay_log_.Note("a replayed beacon datagram (sequence number already seen)", who());
        break;
    }
    if (uint64_t abandoned = receiver_.assembly().abandoned; abandoned != incomplete_seen_) {
      stats.incomplete.Inc(abandoned - incomplete_seen_);
      incomplete_seen_ = abandoned;
    }
    if (verdict == BeaconReceiver::Verdict::kBeacon) handler_(beacon);
  }
}

asio::awaitable<void> BeaconListener::SubscribeLoop() {
  auto alive = alive_;
  boost::system::error_code ec;
  auto local = socket_.local_endpoint(ec);
  wire::Subscribe sub;
  sub.set_cluster(config_.cluster.name);
  sub.mutable_reply_to()->set_host(local.address().to_string());
  sub.mutable_reply_to()->set_port(local.port());
  sub.set_header_only(options_.header_only);
  std::string body = sub.SerializeAsString();
  asio::steady_timer timer(ctx_);
  while (*alive) {
    // Sealed afresh each time: the manager takes only a newer send time from a source.
    std::string bytes = wire::Seal(key_, config_.cluster.name, wire::DATAGRAM_SUBSCRIBE, body, wire::NowUnixMs());
    for (auto& s : seeds_) socket_.send_to(asio::buffer(bytes), s, 0, ec);  // UDP: never blocks long
    timer.expires_after(std::chrono::milliseconds(std::max(50, config_.beacon.subscription_ttl_ms / 3)));
    co_await timer.async_wait(kUseTuple);
  }
}

}  // namespace tacc::sns
