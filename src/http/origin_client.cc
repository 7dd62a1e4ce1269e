#include "http/origin_client.h"

#include <fmt/format.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace tacc::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
using Clock = std::chrono::steady_clock;

namespace {
bool Idempotent(bhttp::verb v) {
  switch (v) {
    case bhttp::verb::get:
    case bhttp::verb::head:
    case bhttp::verb::options:
    case bhttp::verb::put:
    case bhttp::verb::delete_:
    case bhttp::verb::trace: return true;
    default: return false;
  }
}

bool ClosedBeforeAnswer(const boost::system::error_code& ec) {
  return ec == bhttp::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == asio::ssl::error::stream_truncated;
}
}  // namespace

// ---------------------------------------------------------------- OriginResponse

OriginResponse::~OriginResponse() = default;  // an unfinished body: the lease closes the connection

Status OriginResponse::ReadError(const boost::system::error_code& ec, bool in_body) const {
  if (ec == beast::error::timeout) return Status::Timeout(fmt::format("{} did not answer within {} ms", where_, limits_.read_timeout_ms));
  if (ec == bhttp::error::header_limit) return Status::Protocol(fmt::format("{} sent a response head over {} bytes", where_, limits_.max_header_bytes));
  if (ec == bhttp::error::partial_message || (in_body && ClosedBeforeAnswer(ec)))
    return Status::Protocol(fmt::format("{} closed the connection before the whole body it announced", where_));
  if (ClosedBeforeAnswer(ec)) return Status::Unavailable(fmt::format("{} closed the connection without answering", where_));
  if (ec.category() == bhttp::make_error_code(bhttp::error::end_of_stream).category())  // Beast's parser: not HTTP
    return Status::Protocol(fmt::format("{} answered with something that is not HTTP: {}", where_, ec.message()));
  return Status::Unavailable(fmt::format("reading the answer of {}: {}", where_, ec.message()));
}

void OriginResponse::Finish() {
  done_ = true;
  if (parser_->get().keep_alive() && client_keep_alive_) lease_.MarkReusable();
  if (auto* c = lease_.connection()) {
    ++c->requests;
    if (c->buffer().size() == 0) c->buffer().shrink_to_fit();  // an idle kept connection holds no buffer
  }
  lease_.Release();
}

asio::awaitable<Result<std::string_view>> OriginResponse::Next() { return NextPiece(limits_.stream_piece_bytes); }

asio::awaitable<Result<std::string_view>> OriginResponse::NextPiece(size_t max) {
  if (done_) co_return std::string_view{};
  if (piece_.size() != limits_.stream_piece_bytes) piece_.resize(limits_.stream_piece_bytes);
  max = std::min(max, piece_.size());
  OriginConnection& conn = *lease_.connection();
  // Beast reads into the connection's buffer at most its free capacity (512 bytes at
  // least): a small buffer means a system call per few hundred bytes of body. While a
  // body is read the buffer holds a piece's worth; Finish() gives it back.
  if (conn.buffer().capacity() < piece_.size()) conn.buffer().reserve(piece_.size());
  for (;;) {
    if (parser_->is_done()) {
      Finish();
      co_return std::string_view{};
    }
    auto& body = parser_->get().body();
    body.data = piece_.data();
    body.size = max;
    conn.tcp().expires_after(std::chrono::milliseconds(limits_.read_timeout_ms));
    auto [ec, n] = co_await conn.WithStream([&](auto& s) { return bhttp::async_read_some(s, conn.buffer(), *parser_, kUseTuple); });
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) {
      lease_ = OriginPool::Lease();  // the connection is useless now
      done_ = true;
      co_return ReadError(ec, true);
    }
    size_t got = max - parser_->get().body().size;
    if (got > 0) co_return std::string_view(piece_.data(), got);
  }
}

asio::awaitable<Result<std::string>> OriginResponse::ReadUpTo(size_t limit, bool* complete) {
  std::string got;
  *complete = false;
  const auto deadline = Clock::now() + std::chrono::milliseconds(limits_.read_timeout_ms);
  while (got.size() < limit) {
    // Never take more than `limit`: the rest stays in the parser for Next().
    auto piece = co_await NextPiece(limit - got.size());
    if (!piece.ok()) co_return piece.status();
    if (piece->empty()) {
      *complete = true;
      co_return got;
    }
    got.append(*piece);
    if (Clock::now() > deadline) {
      lease_ = OriginPool::Lease();
      done_ = true;
      co_return Status::Timeout(fmt::format("{} did not send {} bytes of its body within {} ms", where_, limit, limits_.read_timeout_ms));
    }
  }
  if (parser_->is_done()) {
    Finish();
    *complete = true;
  }
  co_return got;
}

asio::awaitable<Result<std::string_view>> PrefixedBody::Next() {
  if (!prefix_sent_) {
    prefix_sent_ = true;
    if (!prefix_.empty()) co_return std::string_view(prefix_);
  }
  co_return co_await rest_->Next();
}

asio::awaitable<Result<std::string>> OriginResponse::ReadAll() {
  std::string all;
  if (auto len = parser_->content_length(); len && *len > static_cast<uint64_t>(limits_.max_body_bytes))
    co_return Status::InvalidArgument(fmt::format("{} sent a body over {} bytes", where_, limits_.max_body_bytes));
  else if (len && !head_request_)
    all.reserve(static_cast<size_t>(*len));
  const auto deadline = Clock::now() + std::chrono::milliseconds(limits_.read_timeout_ms);
  for (;;) {
    auto piece = co_await Next();
    if (!piece.ok()) co_return piece.status();
    if (piece->empty()) break;
    if (all.size() + piece->size() > static_cast<size_t>(limits_.max_body_bytes)) {
      lease_ = OriginPool::Lease();
      done_ = true;
      co_return Status::InvalidArgument(fmt::format("{} sent a body over {} bytes", where_, limits_.max_body_bytes));
    }
    all.append(*piece);
    if (Clock::now() > deadline) {  // a body read whole has one deadline, like the head
      lease_ = OriginPool::Lease();
      done_ = true;
      co_return Status::Timeout(fmt::format("{} did not send its whole body within {} ms", where_, limits_.read_timeout_ms));
    }
  }
  co_return all;
}

// ---------------------------------------------------------------- OriginClient

OriginClient::OriginClient(OriginLimits limits, DestinationPolicy policy, std::shared_ptr<asio::ssl::context> tls)
    : limits_(limits), policy_(std::move(policy)), tls_(std::move(tls)), pool_(limits.pool) {}

asio::awaitable<Result<std::unique_ptr<OriginResponse>>> OriginClient::Open(OriginEndpoint where, Request request) {
  const std::string name = where.Key();
  if (where.tls && !tls_) co_return Status::InvalidArgument(fmt::format("{}: HTTPS origins are not enabled", name));
  const auto connect_deadline = Clock::now() + std::chrono::milliseconds(limits_.connect_timeout_ms);
  const bool client_keep_alive = request.keep_alive();
  request.prepare_payload();
  const bool may_retry = Idempotent(request.method());
  for (int attempt = 0;; ++attempt) {
    auto lease = co_await pool_.Acquire(name, connect_deadline);
    if (!lease.ok()) co_return lease.status();
    if (!lease->connection()) {
      auto conn = co_await OriginConnection::Open(where, policy_, tls_.get(), limits_.connect_timeout_ms);
      if (!conn.ok()) co_return conn.status();
      pool_.CountOpened();
      lease->Set(std::move(*conn));
    }
    const bool reused = lease->reused();
    OriginConnection& conn = *lease->connection();

    std::unique_ptr<OriginResponse> res(new OriginResponse(limits_, name, request.method() == bhttp::verb::head));
    res->client_keep_alive_ = client_keep_alive;
    // One deadline for writing the request and reading the answer's head.
    conn.tcp().expires_after(std::chrono::milliseconds(limits_.read_timeout_ms));
    auto [wec, wn] = co_await conn.WithStream([&](auto& s) { return bhttp::async_write(s, request, kUseTuple); });
    boost::system::error_code ec = wec;
    if (!ec) {
      // Interim answers (100 Continue, 103 Early Hints) are skipped; 101 is not asked for.
      for (;;) {
        res->parser_.emplace();
        res->parser_->header_limit(static_cast<std::uint32_t>(limits_.max_header_bytes));
        res->parser_->body_limit(boost::none);  // streamed bodies have no size limit; ReadAll has its own
        if (request.method() == bhttp::verb::head) res->parser_->skip(true);
        auto [hec, hn] = co_await conn.WithStream([&](auto& s) { return bhttp::async_read_header(s, conn.buffer(), *res->parser_, kUseTuple); });
        ec = hec;
        if (ec || res->parser_->get().result_int() / 100 != 1 || res->parser_->get().result_int() == 101) break;
      }
    }
    if (ec) {
      bool nothing_came = !res->parser_ || !res->parser_->got_some();
      if (reused && may_retry && attempt == 0 && nothing_came && ClosedBeforeAnswer(ec)) continue;  // a kept connection died while idle
      if (wec == beast::error::timeout) co_return Status::Timeout(fmt::format("{} did not take the request within {} ms", name, limits_.read_timeout_ms));
      if (wec) co_return Status::Unavailable(fmt::format("sending the request to {}: {}", name, wec.message()));
      co_return res->ReadError(ec, false);
    }
    res->lease_ = std::move(*lease);
    co_return res;
  }
}

asio::awaitable<Result<OriginClient::Response>> OriginClient::Fetch(OriginEndpoint where, Request request) {
  auto res = co_await Open(std::move(where), std::move(request));
  if (!res.ok()) co_return res.status();
  auto body = co_await (*res)->ReadAll();
  if (!body.ok()) co_return body.status();
  Response out{(*res)->head()};
  out.body() = std::move(*body);
  co_return out;
}

}  // namespace tacc::http
