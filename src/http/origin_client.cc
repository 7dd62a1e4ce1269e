#include "http/origin_client.h"

#include <fmt/format.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <array>
#include <cstring>

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

asio::awaitable<Result<size_t>> OriginResponse::ReadBody(char* dst, size_t max) {
  if (done_) co_return size_t{0};
  OriginConnection& conn = *lease_.connection();
  if (!remaining_ && !parser_->is_done() && !parser_->chunked()) {
    if (auto len = parser_->content_length()) {
      // Content-Length framing: the parser has seen only the head (async_read_header
      // stops there), so the body is what follows it in the buffer, then the socket.
      // Reading it straight into `dst` spares a copy through the connection's buffer,
      // and the buffer stays small.
      remaining_ = *len;
    }
  }
  if (remaining_) {
    if (*remaining_ == 0) {
      Finish();
      co_return size_t{0};
    }
    const size_t want = static_cast<size_t>(std::min<uint64_t>(max, *remaining_));
    auto& buffered = conn.buffer();
    if (buffered.size() > 0) {
      size_t n = std::min(want, buffered.size());
      std::memcpy(dst, buffered.data().data(), n);
      buffered.consume(n);
      *remaining_ -= n;
      co_return n;
    }
    conn.tcp().expires_after(std::chrono::milliseconds(limits_.read_timeout_ms));
    auto into = asio::buffer(dst, want);
    auto [ec, n] = co_await conn.WithStream([&](auto& s) { return s.async_read_some(into, kUseTuple); });
    if (ec || n == 0) {
      if (!ec) ec = asio::error::eof;
      Fail();
      co_return ReadError(ec, true);
    }
    *remaining_ -= n;
    co_return n;
  }
  // Chunked, or until the close: the parser frames it. Beast reads into the connection's
  // buffer at most its free capacity (512 bytes at least): a small buffer means a system
  // call per few hundred bytes of body. While such a body is read the buffer holds a
  // piece's worth; Finish() gives it back.
  if (conn.buffer().capacity() < limits_.stream_piece_bytes) conn.buffer().reserve(limits_.stream_piece_bytes);
  for (;;) {
    if (parser_->is_done()) {
      Finish();
      co_return size_t{0};
    }
    auto& body = parser_->get().body();
    body.data = dst;
    body.size = max;
    conn.tcp().expires_after(std::chrono::milliseconds(limits_.read_timeout_ms));
    auto [ec, n] = co_await conn.WithStream([&](auto& s) { return bhttp::async_read_some(s, conn.buffer(), *parser_, kUseTuple); });
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) {
      Fail();
      co_return ReadError(ec, true);
    }
    size_t got = max - parser_->get().body().size;
    if (got > 0) co_return got;
  }
}

asio::awaitable<Result<std::string_view>> OriginResponse::Next() { return NextPiece(limits_.stream_piece_bytes); }

asio::awaitable<Result<std::string_view>> OriginResponse::NextPiece(size_t max) {
  if (done_) co_return std::string_view{};
  // Not zeroed: only what a read wrote is ever handed out.
  if (!piece_) piece_ = std::make_unique_for_overwrite<char[]>(limits_.stream_piece_bytes);
  max = std::min(max, limits_.stream_piece_bytes);
  auto got = co_await ReadBody(piece_.get(), max);
  if (!got.ok()) co_return got.status();
  co_return std::string_view(piece_.get(), *got);
}

asio::awaitable<Result<std::string>> OriginResponse::ReadUpTo(size_t limit, bool* complete) {
  std::string got;
  *complete = false;
  const auto deadline = Clock::now() + std::chrono::milliseconds(limits_.read_timeout_ms);
  // The body goes straight into `got`, no piece in between; with a known length it is
  // sized once.
  const std::optional<uint64_t> len = head_request_ ? std::nullopt : content_length();
  while (got.size() < limit) {
    // Never take more than `limit`: the rest stays for Next().
    const size_t at = got.size();
    size_t room = 0;
    if (len) {
      if (at >= *len) break;  // all of it: finished below
      room = static_cast<size_t>(std::min<uint64_t>(limit, *len)) - at;
    } else {
      room = std::min(limit - at, std::max(limits_.stream_piece_bytes, at));
    }
    got.resize(at + room);
    auto n = co_await ReadBody(got.data() + at, room);
    if (!n.ok()) co_return n.status();
    got.resize(at + *n);
    if (*n == 0) {
      *complete = true;
      co_return got;
    }
    if (Clock::now() > deadline) {
      Fail();
      co_return Status::Timeout(fmt::format("{} did not send {} bytes of its body within {} ms", where_, limit, limits_.read_timeout_ms));
    }
  }
  if (!done_ && (remaining_ ? *remaining_ == 0 : parser_->is_done())) Finish();
  *complete = done_;
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
      Fail();
      co_return Status::InvalidArgument(fmt::format("{} sent a body over {} bytes", where_, limits_.max_body_bytes));
    }
    all.append(*piece);
    if (Clock::now() > deadline) {  // a body read whole has one deadline, like the head
      Fail();
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
  // Head and body in one gather write (Beast's serializer walks a buffer per field part).
  const std::string head = SerializeHead(request);
  const std::array<asio::const_buffer, 2> wire{asio::buffer(head), asio::buffer(request.body())};
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
    auto [wec, wn] = co_await conn.WithStream([&](auto& s) { return asio::async_write(s, wire, kUseTuple); });
    boost::system::error_code ec = wec;
    if (!ec) {
      // Room for a head and a small body in one read (Beast reads at most the buffer's
      // free capacity); Finish() gives it back when the connection goes idle.
      const size_t first_read = std::min<size_t>(16 * 1024, limits_.stream_piece_bytes);
      if (conn.buffer().capacity() < first_read) conn.buffer().reserve(first_read);
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
