#include "sns/beacon_sender.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "wire/beacon_split.h"
#include "wire/datagram_seal.h"

namespace tacc::sns {

namespace asio = boost::asio;
using Millis = std::chrono::milliseconds;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

// ---------------------------------------------------------------- SubscriberTable

const char* ToString(SubscriberTable::Verdict v) {
  using V = SubscriberTable::Verdict;
  switch (v) {
    case V::kAdded:
      return "added";
    case V::kRenewed:
      return "renewed";
    case V::kFull:
      return "refused: beacon.max_subscribers reached";
    case V::kUnauthenticated:
      return "refused: no valid MAC (forged, or made with another cluster key)";
    case V::kStale:
      return "refused: stale (sent outside beacon.freshness_ms: replayed, or clocks apart)";
    case V::kReplayed:
      return "refused: replayed (not newer than the last one from that address)";
    case V::kSourceMismatch:
      return "refused: reply address is not the sender's own";
    case V::kMalformed:
      return "refused: malformed";
    case V::kOtherCluster:
      return "dropped: another cluster's";
    case V::kUnwanted:
      return "refused: not a subscription";
  }
  return "?";
}

SubscriberTable::Verdict SubscriberTable::OnDatagram(std::string_view bytes, const wire::udp::endpoint& from, int64_t now_unix_ms,
                                                     Clock::time_point now) {
  wire::Unsealed u;
  if (auto o = wire::Unseal(key_, options_.cluster, bytes, now_unix_ms, options_.freshness_ms, wire::KindBit(wire::DATAGRAM_SUBSCRIBE), &u); o != wire::UnsealOutcome::kOk) return wire::RefusalOf<Verdict>(o);
  wire::Subscribe sub;
  if (!sub.ParseFromString(u.body) || sub.cluster() != options_.cluster) return Verdict::kMalformed;
  // Beacons go only to where the subscription came from, and only if the subscriber
  // named that address itself (under the MAC): a captured subscription replayed from a
  // forged source cannot aim beacons at a third party.
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(sub.reply_to().host(), ec);
  if (ec || addr != from.address() || sub.reply_to().port() != from.port()) return Verdict::kSourceMismatch;
  if (auto it = subs_.find(from); it != subs_.end()) {
    if (u.sent_unix_ms <= it->second.last_sent_unix_ms) return Verdict::kReplayed;
    it->second.expires = now + options_.ttl;
    it->second.last_sent_unix_ms = u.sent_unix_ms;
    it->second.header_only = sub.header_only();
    return Verdict::kRenewed;
  }
  if (subs_.size() >= options_.max_subscribers) {
    std::erase_if(subs_, [&](const auto& kv) { return now > kv.second.expires; });
    if (subs_.size() >= options_.max_subscribers) return Verdict::kFull;
  }
  subs_[from] = Sub{now + options_.ttl, u.sent_unix_ms, sub.header_only()};
  return Verdict::kAdded;
}

std::vector<SubscriberTable::Target> SubscriberTable::Live(Clock::time_point now) {
  std::erase_if(subs_, [&](const auto& kv) { return now > kv.second.expires; });
  std::vector<Target> out;
  out.reserve(subs_.size());
  for (auto& [ep, s] : subs_) out.push_back(Target{ep, s.header_only});
  return out;
}

// ---------------------------------------------------------------- BeaconSender

BeaconSender::BeaconSender(asio::io_context& ctx, const Config& config, const ClusterKey& key, BuildFn build)
    : ctx_(ctx),
      config_(config),
      key_(key),
      build_(std::move(build)),
      subscribers_(key, SubscriberTable::Options{config.cluster.name, config.beacon.freshness_ms, Millis(config.beacon.subscription_ttl_ms),
                                                 static_cast<size_t>(config.beacon.max_subscribers)}),
      wake_(ctx),
      pace_(ctx),
      alive_(std::make_shared<bool>(true)) {}

BeaconSender::~BeaconSender() { Stop(); }

Status BeaconSender::Open(std::optional<int> port) {
  if (config_.beacon.mode == "multicast") {
    auto s = wire::OpenMulticastSender(ctx_.get_executor(), config_.beacon.interface, config_.beacon.ttl);
    if (!s.ok()) return s.status();
    socket_.emplace(std::move(*s));
    boost::system::error_code ec;
    group_ = wire::udp::endpoint(asio::ip::make_address(config_.beacon.group, ec), static_cast<uint16_t>(config_.beacon.port));
    if (ec) return Status::InvalidArgument("setting 'beacon.group': '" + config_.beacon.group + "' is not an IP address");
  } else {
    auto s = wire::OpenUnicastSocket(ctx_.get_executor(), config_.cluster.host, port.value_or(config_.beacon.port));
    if (!s.ok()) return s.status();
    socket_.emplace(std::move(*s));
  }
  return Status::Ok();
}

uint16_t BeaconSender::local_port() const {
  boost::system::error_code ec;
  return socket_ ? socket_->local_endpoint(ec).port() : 0;
}

void BeaconSender::Start() {
  if (running_ || !socket_) return;
  running_ = true;
  asio::co_spawn(ctx_, Loop(), asio::detached);
  if (config_.beacon.mode == "unicast") asio::co_spawn(ctx_, SubscriptionLoop(), asio::detached);
}

void BeaconSender::Stop() {
  if (!*alive_) return;
  *alive_ = false;
  running_ = false;
  wake_.cancel();
  pace_.cancel();
  boost::system::error_code ec;
  if (socket_) socket_->close(ec);
}

void BeaconSender::SendSoon() {
  if (!running_) return;
  extra_wanted_ = true;
  if (waiting_) wake_.cancel();
}

size_t BeaconSender::max_body_bytes() const {
  size_t overhead = wire::SealOverhead(config_.cluster.name);
  return static_cast<size_t>(config_.beacon.max_datagram_bytes) > overhead ? config_.beacon.max_datagram_bytes - overhead : 0;
}

Result<std::vector<std::string>> BeaconSender::Seal(wire::Beacon beacon) {
  return SealSplit(wire::Split(std::move(beacon), max_body_bytes()));
}

Result<std::vector<std::string>> BeaconSender::SealSplit(Result<wire::SplitBeacon> split) {
  if (!split.ok()) return split.status();
  if (split->dropped > 0) {
    BeaconStats().entries_dropped.Inc(split->dropped);
    dropped_log_.Note(fmt::format("{} directory entries too big for a {}-byte datagram (beacon.max_datagram_bytes)", split->dropped,
                                  config_.beacon.max_datagram_bytes),
                      "the beacon");
  }
  int64_t now = wire::NowUnixMs();
  std::vector<std::string> out;
  out.reserve(1 + split->parts.size());
  out.push_back(wire::Seal(key_, config_.cluster.name, wire::DATAGRAM_BEACON_HEADER, split->header.SerializeAsString(), now));
  for (auto& p : split->parts)
    out.push_back(wire::Seal(key_, config_.cluster.name, wire::DATAGRAM_BEACON_PART, p.SerializeAsString(), now));
  return out;
}

void BeaconSender::SendTo(const std::string& bytes, const wire::udp::endpoint& to) {
  auto& stats = BeaconStats();
  boost::system::error_code ec;
  socket_->send_to(asio::buffer(bytes), to, 0, ec);
  if (ec) {
    stats.send_errors.Inc();
    return;
  }
  stats.datagrams_sent.Inc();
  stats.bytes_sent.Inc(bytes.size());
}

asio::awaitable<void> BeaconSender::SendOne(bool extra) {
  auto alive = alive_;
  wire::BeaconPacker packer(max_body_bytes());
  wire::Beacon b = build_(packer);
  b.set_seq(++seq_);
  b.set_tick(tick_);
  b.set_extra(extra);
  b.set_interval_ms(static_cast<uint32_t>(config_.beacon.interval_ms));
  b.set_datagrams_refused(b.datagrams_refused() + BeaconStats().Suspect());  // the builder's own count plus the beacon paths
  last_send_ = Clock::now();
  auto datagrams = SealSplit(packer.Finish(std::move(b)));
  if (!datagrams.ok()) {
    dropped_log_.Note("to send a beacon: " + datagrams.status().message(), "the manager's own directory");
    co_return;
  }
  BeaconStats().sent.Inc();
  const bool multicast = config_.beacon.mode == "multicast";
  std::vector<SubscriberTable::Target> targets;
  if (!multicast) targets = subscribers_.Live(last_send_);
  auto& d = *datagrams;
  if (multicast) SendTo(d[0], group_);
  for (auto& t : targets) SendTo(d[0], t.endpoint);
  for (size_t i = 1; i < d.size(); ++i) {
    if (multicast) SendTo(d[i], group_);
    for (auto& t : targets)
      if (!t.header_only) SendTo(d[i], t.endpoint);
    if (i % kBurst == 0 && i + 1 < d.size()) {
      // Let receivers drain their socket buffers before the next burst.
      pace_.expires_after(Millis(1));
      co_await pace_.async_wait(kUseTuple);
      if (!*alive) co_return;
    }
  }
}

asio::awaitable<void> BeaconSender::Loop() {
  auto alive = alive_;
  const auto period = Millis(config_.beacon.interval_ms);
  const auto min_gap = std::max<Clock::duration>(Millis(5), period / 10);
  auto next_tick = Clock::now();
  while (*alive) {
    auto now = Clock::now();
    if (now >= next_tick) {
      if (now - next_tick > period / 10) BeaconStats().late.Inc();
      co_await SendOne(false);
      if (!*alive) co_return;
      ++tick_;
      extra_wanted_ = false;  // this beacon carries whatever the extra was for
      next_tick += period;
      if (next_tick < Clock::now()) next_tick = Clock::now();  // overrun: do not burst to catch up
      continue;
    }
    auto wake_at = next_tick;
    if (extra_wanted_) {
      auto at = last_send_ + min_gap;
      if (at <= now) {
        extra_wanted_ = false;
        co_await SendOne(true);
        if (!*alive) co_return;
        continue;
      }
      wake_at = std::min(wake_at, at);
    }
    wake_.expires_at(wake_at);
    waiting_ = true;
    co_await wake_.async_wait(kUseTuple);  // SendSoon cancels it
    if (!*alive) co_return;                // stopped, perhaps destroyed: touch nothing
    waiting_ = false;
  }
}

asio::awaitable<void> BeaconSender::SubscriptionLoop() {
  auto alive = alive_;
  auto& stats = BeaconStats();
  std::vector<char> buf(64 * 1024);
  while (*alive) {
    wire::udp::endpoint from;
    auto [ec, n] = co_await socket_->async_receive_from(asio::buffer(buf), from, kUseTuple);
    if (!*alive || ec == asio::error::operation_aborted) co_return;
    if (ec) continue;
    auto verdict = subscribers_.OnDatagram(std::string_view(buf.data(), n), from, wire::NowUnixMs(), Clock::now());
    switch (verdict) {
      case SubscriberTable::Verdict::kAdded:
        SendSoon();  // a new subscriber should not wait a whole period
        break;
      case SubscriberTable::Verdict::kRenewed:
        break;
      case SubscriberTable::Verdict::kOtherCluster:
        stats.other_cluster.Inc();
        break;
      case SubscriberTable::Verdict::kFull:
        stats.subscriptions_refused.Inc();
        full_log_.Note(fmt::format("a subscription: {} subscribers already (beacon.max_subscribers)", subscribers_.size()),
                       fmt::format("{}:{}", from.address().to_string(), from.port()));
        break;
      default:
        stats.subscriptions_refused.Inc();
        refused_log_.Note(fmt::format("a subscription ({})", ToString(verdict)),
                          fmt::format("{}:{}", from.address().to_string(), from.port()));
        break;
    }
  }
}

}  // namespace tacc::sns
