#include "sns/load_report_receiver.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "sns/beacon_counters.h"
#include "wire/datagram_seal.h"
#include "wire/datagram_socket.h"

namespace tacc::sns {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

LoadReportCounters& LoadReportStats() {
  static LoadReportCounters c;
  return c;
}

const char* ToString(LoadReportReceiver::Verdict v) {
  using V = LoadReportReceiver::Verdict;
  switch (v) {
    case V::kTaken:
      return "taken";
    case V::kUnknownToken:
      return "a load report for no registered worker";
    case V::kReplayed:
      return "a replayed load report";
    case V::kBadLoad:
      return "a load report with a NaN or negative load";
    case V::kMalformed:
      return "a malformed datagram";
    case V::kOtherCluster:
      return "another cluster's datagram";
    case V::kUnwanted:
      return "a datagram that is no load report";
    case V::kUnauthenticated:
      return "a load report without a valid MAC (forged, or another key)";
    case V::kStale:
      return "a stale load report (sent outside beacon.freshness_ms)";
  }
  return "?";
}

LoadReportReceiver::Verdict LoadReportReceiver::Judge(const ClusterKey& key, std::string_view cluster, int64_t freshness_ms,
                                                      std::string_view bytes, int64_t now_unix_ms, wire::LoadAnnouncement* out) {
  thread_local wire::Unsealed u;  // reused: no allocation per datagram
  if (auto o = wire::Unseal(key, cluster, bytes, now_unix_ms, freshness_ms, wire::KindBit(wire::DATAGRAM_LOAD_REPORT), &u);
      o != wire::UnsealOutcome::kOk)
    return wire::RefusalOf<Verdict>(o);
  if (!out->ParseFromString(u.body)) return Verdict::kMalformed;
  return Verdict::kTaken;
}

LoadReportReceiver::LoadReportReceiver(asio::io_context& ctx, const Config& config, const ClusterKey& key, Sink sink)
    : ctx_(ctx), config_(config), key_(key), sink_(std::move(sink)), socket_(ctx) {}

LoadReportReceiver::~LoadReportReceiver() { Stop(); }

Status LoadReportReceiver::Open(const std::string& host, uint16_t port) {
  auto s = wire::OpenUnicastSocket(ctx_.get_executor(), host, port);
  if (!s.ok()) return s.status();
  socket_ = std::move(*s);
  // 10,000 workers' reports arrive at 20,000 a second: room for a few hundred ms of them
  // if the manager is busy (the kernel caps this at net.core.rmem_max).
  boost::system::error_code ec;
  socket_.set_option(asio::socket_base::receive_buffer_size(4 << 20), ec);
  return Status::Ok();
}

void LoadReportReceiver::Start() { asio::co_spawn(ctx_, ReceiveLoop(), asio::detached); }

void LoadReportReceiver::Stop() {
  *alive_ = false;
  boost::system::error_code ec;
  socket_.close(ec);
}

LoadReportReceiver::Verdict LoadReportReceiver::Handle(std::string_view bytes, const asio::ip::udp::endpoint& from, int64_t now_unix_ms) {
  static RefusalLog log;
  auto& c = LoadReportStats();
  thread_local wire::LoadAnnouncement a;  // reused: no allocation per datagram
  Verdict v = Judge(key_, config_.cluster.name, config_.beacon.freshness_ms, bytes, now_unix_ms, &a);
  if (v == Verdict::kTaken) {
    switch (sink_(a)) {
      case WorkerDirectory::Announcement::kTaken:
        c.taken.Inc();
        return Verdict::kTaken;
      case WorkerDirectory::Announcement::kUnknownToken:
        // Also a worker's last report racing its deregistration: counted, not logged.
        c.unknown_token.Inc();
        return Verdict::kUnknownToken;
      case WorkerDirectory::Announcement::kReplayed:
        v = Verdict::kReplayed;
        break;
      case WorkerDirectory::Announcement::kBadLoad:
        v = Verdict::kBadLoad;
        break;
    }
  }
  switch (v) {
    case Verdict::kUnauthenticated:
      c.unauthenticated.Inc();
      break;
    case Verdict::kStale:
      c.stale.Inc();
      break;
    case Verdict::kReplayed:
      c.replayed.Inc();
      break;
    default:
      c.malformed.Inc();
  }
  log.Note(ToString(v), fmt::format("{}:{}", from.address().to_string(), from.port()));
  return v;
}

asio::awaitable<void> LoadReportReceiver::ReceiveLoop() {
  auto alive = alive_;
  // One wake-up takes every datagram that is there, kBatch per recvmmsg call, up to
  // kMaxBatches calls; then the loop yields to the rest of the manager (the beacon timer
  // must not wait behind a flood).
  constexpr size_t kBatch = 64, kDatagramBytes = 2048;
  constexpr int kMaxBatches = 16;
  std::vector<std::array<char, kDatagramBytes>> bufs(kBatch);
  std::array<iovec, kBatch> iov{};
  std::array<mmsghdr, kBatch> msgs{};
  std::array<sockaddr_storage, kBatch> addrs{};
  while (*alive && socket_.is_open()) {
    auto [ec] = co_await socket_.async_wait(asio::ip::udp::socket::wait_read, kUseTuple);
    if (!*alive || ec == asio::error::operation_aborted) co_return;
    if (ec) continue;
    for (int b = 0; b < kMaxBatches; ++b) {
      for (size_t i = 0; i < kBatch; ++i) {
        iov[i] = {bufs[i].data(), kDatagramBytes};
        msgs[i] = {};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = &addrs[i];
        msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
      }
      int n = ::recvmmsg(socket_.native_handle(), msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
      if (n <= 0) break;  // EAGAIN: all taken
      int64_t now_ms = wire::NowUnixMs();
      for (int i = 0; i < n; ++i) {
        const auto& m = msgs[static_cast<size_t>(i)];
        std::string_view bytes(bufs[static_cast<size_t>(i)].data(), m.msg_len);
        if (m.msg_hdr.msg_flags & MSG_TRUNC) bytes = {};  // too big to be a report: malformed
        asio::ip::udp::endpoint from;
        std::memcpy(from.data(), &addrs[static_cast<size_t>(i)], std::min<size_t>(m.msg_hdr.msg_namelen, from.capacity()));
        Handle(bytes, from, now_ms);
      }
      if (static_cast<size_t>(n) < kBatch) break;
    }
  }
}

}  // namespace tacc::sns
