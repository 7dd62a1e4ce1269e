#include "frontdoor/failover.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "wire/datagram_seal.h"

namespace tacc::frontdoor {

namespace asio = boost::asio;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

Failover::Failover(asio::io_context& ctx, const Config& config, ClusterKey key, Hooks hooks)
    : ctx_(ctx),
      config_(config),
      key_(std::move(key)),
      hooks_(std::move(hooks)),
      incarnation_(static_cast<uint64_t>(wire::NowUnixMs())),
      address_(config.frontdoor.address, config.frontdoor.interface) {}

Failover::~Failover() { Stop(); }

Status Failover::Start() {
  auto link = StandbyLink::Open(ctx_, config_, key_, [this](const wire::DispatchHeartbeat& hb) { OnHeartbeat(hb); });
  if (!link.ok()) return link.status();
  link_ = std::move(link).value();
  (void)address_.ReleaseStale();
  StandbyRole::Rank self{config_.frontdoor.priority, incarnation_, config_.cluster.host};
  role_ = std::make_unique<StandbyRole>(self, std::chrono::milliseconds(config_.frontdoor.heartbeat_ms), config_.frontdoor.takeover_misses,
                                        StandbyRole::Clock::now());
  link_->Start();
  asio::co_spawn(ctx_, Loop(), asio::detached);
  spdlog::info("hot standby with {} (priority {}, failover state '{}'): starting as standby", config_.frontdoor.standby_peer,
               config_.frontdoor.priority, config_.frontdoor.failover_state);
  return Status::Ok();
}

void Failover::Stop() {
  if (!*alive_) return;
  *alive_ = false;
  (void)address_.Release();
  if (link_) {
    // Leaving in order: a last heartbeat of the lowest rank, so the peer takes over now
    // instead of after takeover_misses periods.
    wire::DispatchHeartbeat bye;
    bye.set_priority(0);
    bye.set_incarnation(incarnation_);
    bye.set_active(false);
    link_->Send(std::move(bye));
    link_->Stop();
  }
}

void Failover::OnHeartbeat(const wire::DispatchHeartbeat& hb) {
  StandbyRole::Rank peer{static_cast<int>(hb.priority()), hb.incarnation(), config_.frontdoor.standby_peer};
  role_->OnHeartbeat(peer, hb.active(), StandbyRole::Clock::now());
  if (hb.active() && !role_->active() && hb.flows_size() > 0 && hooks_.take_flows) hooks_.take_flows(hb);
  Apply();
}

void Failover::Apply() {
  if (!role_->Tick(StandbyRole::Clock::now())) return;
  if (role_->active()) {
    spdlog::warn("taking over as the active dispatcher: {}", role_->reason());
    if (Status s = address_.Claim(); !s.ok()) spdlog::error("cannot claim the cluster address: {}", s.ToString());
    if (hooks_.on_active) hooks_.on_active();
  } else {
    spdlog::warn("becoming standby: {}", role_->reason());
    (void)address_.Release();
    if (hooks_.on_standby) hooks_.on_standby();
  }
}

asio::awaitable<void> Failover::Loop() {
  auto alive = alive_;
  asio::steady_timer timer(ctx_);
  while (*alive) {
    Apply();
    wire::DispatchHeartbeat hb;
    hb.set_priority(static_cast<uint32_t>(config_.frontdoor.priority));
    hb.set_incarnation(incarnation_);
    hb.set_active(role_->active());
    if (role_->active() && config_.frontdoor.failover_state == "replicated" && hooks_.new_flows) hooks_.new_flows(hb);
    link_->Send(std::move(hb));
    timer.expires_after(std::chrono::milliseconds(config_.frontdoor.heartbeat_ms));
    co_await timer.async_wait(kUseTuple);
  }
}

}  // namespace tacc::frontdoor
