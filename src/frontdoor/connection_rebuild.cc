#include "frontdoor/connection_rebuild.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include <memory>

#include "wire/cluster.pb.h"
#include "wire/datagram_seal.h"

namespace tacc::frontdoor {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

// Reports are checked against the front end's clock as the query is: within this much.
constexpr int64_t kReportFreshnessMs = 60'000;

std::string MakeConnectionQuery(const wire::ClusterAuth& auth, const RebuildSource& source, std::string_view nonce, uint32_t max,
                                int64_t now_unix_ms) {
  wire::ConnectionQuery q;
  q.set_local_host(source.local_host);
  q.set_local_port(source.local_port);
  q.set_nonce(std::string(nonce));
  q.set_max_connections(max);
  return wire::Seal(auth.key, auth.cluster, wire::DATAGRAM_CONNECTION_QUERY, q.SerializeAsString(), now_unix_ms);
}

Result<std::vector<RebuiltConnection>> ParseConnectionReport(const wire::ClusterAuth& auth, std::string_view body, std::string_view nonce,
                                                             int64_t now_unix_ms, bool* truncated) {
  wire::Unsealed u;
  auto outcome = wire::Unseal(auth.key, auth.cluster, body, now_unix_ms, kReportFreshnessMs, wire::KindBit(wire::DATAGRAM_CONNECTION_REPORT), &u);
  if (outcome != wire::UnsealOutcome::kOk) return Status::Protocol(fmt::format("connection report refused: {}", wire::ToString(outcome)));
  wire::ConnectionReport report;
  if (!report.ParseFromString(u.body)) return Status::Protocol("connection report: the body does not parse");
  if (report.nonce() != nonce) return Status::Protocol("connection report: not the answer to this query (another nonce)");
  if (truncated) *truncated = report.truncated();
  std::vector<RebuiltConnection> out;
  out.reserve(static_cast<size_t>(report.connections_size()));
  for (auto& c : report.connections()) {
    boost::system::error_code ec;
    RebuiltConnection r;
    r.client = asio::ip::make_address(c.client(), ec);
    // A front end is trusted with the key, not with its numbers: anything out of range is
    // left out, never handed to the kernel.
    if (ec || c.client_port() == 0 || c.client_port() > 65535 || c.client_wscale() > 14 || c.server_wscale() > 14) continue;
    r.client_port = static_cast<uint16_t>(c.client_port());
    r.client_wscale = static_cast<uint8_t>(c.client_wscale());
    r.server_wscale = static_cast<uint8_t>(c.server_wscale());
    out.push_back(r);
  }
  return out;
}

namespace {

asio::awaitable<void> AskOne(wire::ClusterAuthPtr auth, RebuildLimits limits, RebuildAnswer* answer) {
  auto ex = co_await asio::this_coro::executor;
  const auto& src = answer->source;
  boost::system::error_code ec;
  auto address = asio::ip::make_address(src.admin_host, ec);
  if (ec) {
    answer->status = Status::InvalidArgument(fmt::format("admin address '{}' is not an IP address", src.admin_host));
    co_return;
  }
  std::string nonce = RandomBytes(16);
  beast::tcp_stream stream(ex);
  stream.expires_after(limits.timeout);  // one deadline for the whole exchange
  tcp::endpoint endpoint(address, src.admin_port);  // named: no temporaries in a co_await (docs/design.md, GCC 12)
  auto [cec] = co_await stream.async_connect(endpoint, kUseTuple);
  if (cec) {
    answer->status = Status::Unavailable(fmt::format("cannot reach its admin listener {}:{}: {}", src.admin_host, src.admin_port, cec.message()));
    co_return;
  }
  bhttp::request<bhttp::string_body> req(bhttp::verb::post, "/_tacc/connections", 11);
  req.set(bhttp::field::host, fmt::format("{}:{}", src.admin_host, src.admin_port));
  req.set(bhttp::field::user_agent, "tacc-dispatch-rebuild");
  req.set(bhttp::field::content_type, "application/octet-stream");
  req.set(bhttp::field::connection, "close");
  req.body() = MakeConnectionQuery(*auth, src, nonce, limits.max_connections, wire::NowUnixMs());
  req.prepare_payload();
  auto [wec, wn] = co_await bhttp::async_write(stream, req, kUseTuple);
  if (wec) {
    answer->status = Status::Unavailable(fmt::format("sending the query: {}", wec.message()));
    co_return;
  }
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(limits.max_report_bytes);
  auto [rec, rn] = co_await bhttp::async_read(stream, buffer, parser, kUseTuple);
  if (rec) {
    answer->status = rec == beast::error::timeout ? Status::Timeout(fmt::format("no report within {} ms", limits.timeout.count()))
                                                  : Status::Unavailable(fmt::format("reading the report: {}", rec.message()));
    co_return;
  }
  auto& res = parser.get();
  if (res.result() != bhttp::status::ok) {
    std::string why = res.body().substr(0, 200);
    while (!why.empty() && (why.back() == '\n' || why.back() == '\r')) why.pop_back();
    answer->status = Status::Protocol(fmt::format("the front end answered {}: {}", res.result_int(), why));
    co_return;
  }
  auto conns = ParseConnectionReport(*auth, res.body(), nonce, wire::NowUnixMs(), &answer->truncated);
  if (!conns.ok()) {
    answer->status = conns.status();
    co_return;
  }
  answer->connections = std::move(conns).value();
  answer->status = Status::Ok();
}

}  // namespace

asio::awaitable<std::vector<RebuildAnswer>> GatherConnections(wire::ClusterAuthPtr auth, std::vector<RebuildSource> sources, RebuildLimits limits) {
  auto ex = co_await asio::this_coro::executor;
  auto answers = std::make_shared<std::vector<RebuildAnswer>>(sources.size());
  auto pending = std::make_shared<size_t>(sources.size());
  auto done = std::make_shared<asio::steady_timer>(ex, asio::steady_timer::time_point::max());
  for (size_t i = 0; i < sources.size(); ++i) {
    (*answers)[i].source = sources[i];
    (*answers)[i].status = Status::Timeout("not answered");
    asio::co_spawn(ex, AskOne(auth, limits, &(*answers)[i]), [answers, pending, done](std::exception_ptr) {
      if (--*pending == 0) done->cancel();
    });
  }
  // Every ask ends by its own deadline; this wait is the backstop (a stuck handler).
  if (*pending > 0) {
    done->expires_after(limits.timeout + std::chrono::milliseconds(500));
    co_await done->async_wait(kUseTuple);
  }
  co_return *answers;
}

}  // namespace tacc::frontdoor
