#include "wire/handshake.h"

#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cstring>

#include "common/metrics.h"

namespace tacc::wire {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view kMagic = "TACCHS01";
constexpr size_t kNonceBytes = 16;
constexpr size_t kMacBytes = ClusterKey::kMacBytes;
constexpr size_t kClientHelloBytes = 8 + kNonceBytes;
constexpr size_t kServerHelloBytes = 8 + kNonceBytes + kMacBytes;

std::string_view AsView(const ClusterKey::Mac& m) { return {reinterpret_cast<const char*>(m.data()), m.size()}; }

// Reads exactly buf.size() bytes or fails with Timeout at `deadline`.
asio::awaitable<Status> ReadExact(tcp::socket& s, std::string& buf, asio::steady_timer& timer) {
  using namespace asio::experimental::awaitable_operators;
  auto r = co_await (asio::async_read(s, asio::buffer(buf), kUseTuple) || timer.async_wait(kUseTuple));
  if (r.index() == 1) co_return Status::Timeout("handshake timed out");
  auto [ec, n] = std::get<0>(r);
  if (ec) co_return Status::Unavailable("handshake: " + ec.message());
  co_return Status::Ok();
}

asio::awaitable<Status> WriteAll(tcp::socket& s, const std::string& buf, asio::steady_timer& timer) {
  using namespace asio::experimental::awaitable_operators;
  auto r = co_await (asio::async_write(s, asio::buffer(buf), kUseTuple) || timer.async_wait(kUseTuple));
  if (r.index() == 1) co_return Status::Timeout("handshake timed out");
  auto [ec, n] = std::get<0>(r);
  if (ec) co_return Status::Unavailable("handshake: " + ec.message());
  co_return Status::Ok();
}

}  // namespace

asio::awaitable<Status> ClientHandshake(tcp::socket& socket, const ClusterAuth& auth, std::chrono::milliseconds timeout) {
  asio::steady_timer timer(socket.get_executor());
  timer.expires_after(timeout);
  std::string cn = RandomBytes(kNonceBytes);
  std::string hello = std::string(kMagic) + cn;
  if (Status s = co_await WriteAll(socket, hello, timer); !s.ok()) co_return s;
  std::string reply(kServerHelloBytes, '\0');
  if (Status s = co_await ReadExact(socket, reply, timer); !s.ok()) co_return s;
  if (std::string_view(reply).substr(0, kMagic.size()) != kMagic) co_return Status::Protocol("peer is not a tacc cluster endpoint");
  std::string sn = reply.substr(kMagic.size(), kNonceBytes);
  std::string_view server_mac = std::string_view(reply).substr(kMagic.size() + kNonceBytes);
  if (!auth.key.Verify(server_mac, "tacc-tcp-server", {auth.cluster, cn, sn}))
    co_return Status::Protocol("peer did not prove the key of cluster '" + auth.cluster + "'");
  std::string proof(AsView(auth.key.Sign("tacc-tcp-client", {auth.cluster, cn, sn})));
  if (Status s = co_await WriteAll(socket, proof, timer); !s.ok()) co_return s;
  co_return Status::Ok();
}

asio::awaitable<Status> ServerHandshake(tcp::socket& socket, const ClusterAuth& auth, std::chrono::milliseconds timeout) {
  asio::steady_timer timer(socket.get_executor());
  timer.expires_after(timeout);
  std::string hello(kClientHelloBytes, '\0');
  if (Status s = co_await ReadExact(socket, hello, timer); !s.ok()) co_return s;
  if (std::string_view(hello).substr(0, kMagic.size()) != kMagic) co_return Status::Protocol("peer did not open with a tacc handshake");
  std::string cn = hello.substr(kMagic.size());
  std::string sn = RandomBytes(kNonceBytes);
  std::string reply = std::string(kMagic) + sn + std::string(AsView(auth.key.Sign("tacc-tcp-server", {auth.cluster, cn, sn})));
  if (Status s = co_await WriteAll(socket, reply, timer); !s.ok()) co_return s;
  std::string proof(kMacBytes, '\0');
  if (Status s = co_await ReadExact(socket, proof, timer); !s.ok()) co_return s;
  if (!auth.key.Verify(proof, "tacc-tcp-client", {auth.cluster, cn, sn}))
    co_return Status::Protocol("peer did not prove the key of cluster '" + auth.cluster + "'");
  co_return Status::Ok();
}

void NoteRefusedHandshake(const std::string& peer, const Status& why) {
  static Counter& refused = Metrics().counter("tacc_wire_handshakes_refused_total", "Cluster connections refused: no proof of the cluster key, or too slow");
  static std::atomic<int64_t> last_log_s{0};
  refused.Inc();
  int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
  int64_t last = last_log_s.load();
  if (now_s != last && last_log_s.compare_exchange_strong(last, now_s))
    spdlog::warn("refused cluster connection from {}: {}", peer, why.ToString());
}

}  // namespace tacc::wire
