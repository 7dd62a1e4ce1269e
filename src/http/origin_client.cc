#include "http/origin_client.h"

#include <fmt/format.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <vector>

namespace tacc::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

asio::awaitable<Result<OriginClient::Response>> OriginClient::Fetch(const std::string& host, uint16_t port, Request request) const {
  auto ex = co_await asio::this_coro::executor;
  const std::string where = fmt::format("{}:{}", host, port);
  // Asio resolves on a thread of its own: the event loop never waits for DNS.
  tcp::resolver resolver(ex);
  auto [rec, results] = co_await resolver.async_resolve(host, std::to_string(port), kUseTuple);
  if (rec) co_return Status::Unavailable(fmt::format("cannot resolve {}: {}", host, rec.message()));
  // Every address is checked, and only the allowed ones are tried: the address
  // connected to is always one the policy passed.
  std::vector<tcp::endpoint> allowed;
  Status refused = Status::Unavailable(fmt::format("{} has no address", host));
  for (const auto& r : results) {
    Status s = policy_.Check(r.endpoint().address());
    if (s.ok()) allowed.push_back(r.endpoint());
    else refused = s;
  }
  if (allowed.empty()) co_return refused;

  beast::tcp_stream stream(ex);
  stream.expires_after(std::chrono::milliseconds(limits_.connect_timeout_ms));
  auto [cec, ep] = co_await stream.async_connect(allowed, kUseTuple);
  if (cec == beast::error::timeout) co_return Status::Timeout(fmt::format("connecting to {} took over {} ms", where, limits_.connect_timeout_ms));
  if (cec) co_return Status::Unavailable(fmt::format("cannot connect to {}: {}", where, cec.message()));

  // One deadline for writing the request and reading the whole answer.
  stream.expires_after(std::chrono::milliseconds(limits_.read_timeout_ms));
  request.prepare_payload();
  auto [wec, wn] = co_await bhttp::async_write(stream, request, kUseTuple);
  if (wec == beast::error::timeout) co_return Status::Timeout(fmt::format("{} did not take the request within {} ms", where, limits_.read_timeout_ms));
  if (wec) co_return Status::Unavailable(fmt::format("sending the request to {}: {}", where, wec.message()));

  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(limits_.max_header_bytes));
  parser.body_limit(static_cast<std::uint64_t>(limits_.max_body_bytes));
  if (request.method() == bhttp::verb::head) parser.skip(true);  // a HEAD answer has no body, whatever its length says
  auto [ec, n] = co_await bhttp::async_read(stream, buffer, parser, kUseTuple);
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  if (ec == beast::error::timeout) co_return Status::Timeout(fmt::format("{} did not answer within {} ms", where, limits_.read_timeout_ms));
  if (ec == bhttp::error::body_limit)
    co_return Status::InvalidArgument(fmt::format("{} sent a body over {} bytes", where, limits_.max_body_bytes));
  if (ec == bhttp::error::header_limit)
    co_return Status::Protocol(fmt::format("{} sent a response head over {} bytes", where, limits_.max_header_bytes));
  if (ec == bhttp::error::partial_message)
    co_return Status::Protocol(fmt::format("{} closed the connection before the whole body it announced", where));
  if (ec == bhttp::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset)
    co_return Status::Unavailable(fmt::format("{} closed the connection without answering", where));
  if (ec.category() == bhttp::make_error_code(bhttp::error::end_of_stream).category())  // Beast's parser: the answer is not HTTP
    co_return Status::Protocol(fmt::format("{} answered with something that is not HTTP: {}", where, ec.message()));
  if (ec) co_return Status::Unavailable(fmt::format("reading the answer of {}: {}", where, ec.message()));
  co_return parser.release();
}

}  // namespace tacc::http
