#include "frontdoor/http_router.h"

#include <boost/algorithm/string/predicate.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <poll.h>

#include <algorithm>
#include <memory>
#include <span>

#include "common/metrics.h"
#include "frontdoor/backend_connector.h"
#include "frontdoor/splice_relay.h"

namespace tacc::frontdoor {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kBodyChunk = 16 * 1024;
constexpr size_t kClientReadBytes = 4 * 1024;    // a request head, usually whole
constexpr size_t kBackendReadBytes = 16 * 1024;  // an answer's head and a small body
// An answer body of at least this many bytes (Content-Length) is spliced, not parsed:
// below it the body is mostly in the buffer the head was read with already.
constexpr uint64_t kSpliceBodyAbove = 32 * 1024;

// Closes both sockets when the exchange's current deadline passes; a phase moves
// `deadline` forward before it starts. It runs beside the exchange as its own coroutine
// (not joined with it by an awaitable operator, which would give every read and write a
// cancellation slot): the exchange clears `client` and cancels the timer when it ends.
struct Watchdog {
  explicit Watchdog(const asio::any_io_executor& ex) : timer(ex) {}
  asio::steady_timer timer;
  Clock::time_point deadline;
  tcp::socket* client = nullptr;   // null: the exchange is over
  tcp::socket* backend = nullptr;  // the back-end connection in use, if any
  // Waiting for an answer's head: nothing has gone to the client yet, so a deadline
  // passing closes only the back end, and the client is told (504).
  bool spare_client = false;
  bool backend_timed_out = false;
  bool fired = false;  // the client's connection was closed for its deadline
};

// After a back end timed out, this long for the client to take its 504.
constexpr auto kTimeoutAnswerGrace = std::chrono::seconds(5);

asio::awaitable<void> Watch(std::shared_ptr<Watchdog> dog) {
  boost::system::error_code ignored;
  for (;;) {
    dog->timer.expires_at(dog->deadline);
    auto [ec] = co_await dog->timer.async_wait(kUseTuple);
    if (!dog->client) co_return;
    if (ec || Clock::now() < dog->deadline) continue;
    if (dog->spare_client && dog->backend) {
      dog->backend_timed_out = true;
      dog->spare_client = false;
      dog->backend->close(ignored);
      dog->deadline = Clock::now() + kTimeoutAnswerGrace;
      continue;
    }
    break;
  }
  dog->fired = true;
  dog->client->close(ignored);
  if (dog->backend) dog->backend->close(ignored);
}

asio::awaitable<void> WriteError(tcp::socket& client, bhttp::status status, std::string_view why) {
  bhttp::response<bhttp::string_body> res{status, 11};
  res.set(bhttp::field::content_type, "text/plain; charset=utf-8");
  res.set(bhttp::field::connection, "close");
  res.body() = std::string(why) + "\n";
  res.prepare_payload();
  co_await bhttp::async_write(client, res, kUseTuple);
}

enum class RelayEnd { kOk, kInFailed, kOutFailed };

// Streams a message whose head `p` has parsed from `in` to `out`: head and body,
// serialized afresh (Beast's relay pattern with buffer_body).
template <bool isRequest>
asio::awaitable<RelayEnd> RelayMessage(tcp::socket& out, tcp::socket& in, beast::flat_buffer& inbuf, bhttp::parser<isRequest, bhttp::buffer_body>& p,
                                       uint64_t& bytes, std::span<char> buf) {
  bhttp::serializer<isRequest, bhttp::buffer_body> sr{p.get()};
  do {
    if (!p.is_done()) {
      p.get().body().data = buf.data();
      p.get().body().size = buf.size();
      auto [ec, n] = co_await bhttp::async_read(in, inbuf, p, kUseTuple);
      if (ec == bhttp::error::need_buffer) ec = {};
      if (ec) co_return RelayEnd::kInFailed;
      p.get().body().size = buf.size() - p.get().body().size;
      p.get().body().data = buf.data();
      p.get().body().more = !p.is_done();
      bytes += p.get().body().size;
    } else {  // a message without a body, or its end: the head (or last chunk) goes now
      p.get().body().data = nullptr;
      p.get().body().size = 0;
      p.get().body().more = false;
    }
    auto [wec, wn] = co_await bhttp::async_write(out, sr, kUseTuple);
    if (wec == bhttp::error::need_buffer) wec = {};
    if (wec) co_return RelayEnd::kOutFailed;
  } while (!p.is_done() && !sr.is_done());
  co_return RelayEnd::kOk;
}

// Request smuggling shapes and framing no front end should be asked to guess.
const char* FramingProblem(const bhttp::request_parser<bhttp::buffer_body>& p) {
  const auto& req = p.get();
  bool has_te = req.find(bhttp::field::transfer_encoding) != req.end();
  bool has_cl = req.find(bhttp::field::content_length) != req.end();
  if (has_te && has_cl) return "both Content-Length and Transfer-Encoding";
  if (has_te) {
    if (req.count(bhttp::field::transfer_encoding) != 1 || !boost::iequals(req[bhttp::field::transfer_encoding], "chunked"))
      return "a Transfer-Encoding other than chunked";
    if (req.version() < 11) return "Transfer-Encoding in an HTTP/1.0 request";
  }
  if (req.count(bhttp::field::host) > 1) return "more than one Host";
  if (req.version() >= 11 && req.count(bhttp::field::host) == 0) return "an HTTP/1.1 request without Host";
  return nullptr;
}

}  // namespace

HttpRouter::HttpRouter(asio::io_context& ctx, const Config& config, BackendTable& table, PickPolicy& policy)
    : ctx_(ctx),
      config_(config),
      table_(table),
      policy_(policy),
      listener_(ctx, config.frontdoor, open_, pending_, [this](tcp::socket s) { asio::co_spawn(ctx_, Serve(std::move(s)), asio::detached); }) {}

HttpRouter::~HttpRouter() { Stop(); }

Status HttpRouter::Start() { return listener_.Start("l7"); }

void HttpRouter::Stop() {
  *alive_ = false;
  listener_.Stop();
  idle_.clear();
}

std::optional<tcp::socket> HttpRouter::TakeIdle(const std::string& id) {
  // A kept connection the back end has not closed meanwhile (readable now = EOF or stray
  // bytes: either way not reusable).
  auto it = idle_.find(id);
  if (it == idle_.end()) return std::nullopt;
  auto& idle = it->second;
  while (!idle.empty()) {
    tcp::socket s = std::move(idle.back());
    idle.pop_back();
    // One poll: POLLIN is set by stray bytes and by the back end's FIN alike.
    pollfd pfd{s.native_handle(), POLLIN | POLLRDHUP, 0};
    if (s.is_open() && ::poll(&pfd, 1, 0) == 0) return s;
  }
  return std::nullopt;
}

void HttpRouter::Release(const std::string& id, tcp::socket socket) {
  if (!table_.Find(id)) return;  // left the table meanwhile
  auto& idle = idle_[id];
  if (idle.size() >= kMaxIdlePerBackend) return;
  idle.push_back(std::move(socket));
}

asio::awaitable<void> HttpRouter::Serve(tcp::socket client) {
  static Counter& routed = Metrics().counter("tacc_dispatch_requests_total", "HTTP requests routed to a back end (l7)");
  static Counter& refused_requests = Metrics().counter("tacc_dispatch_bad_requests_total", "HTTP requests refused by the dispatcher itself (l7: malformed, ambiguous framing, over a limit)");
  static Counter& timed_out = Metrics().counter("tacc_dispatch_backend_timeouts_total", "Requests answered 504 because the back end sent no answer within proxy.read_timeout_ms (l7)");
  static Counter& unserved = Metrics().counter("tacc_dispatch_no_backend_total", "Client connections closed because no back end could be reached");
  auto alive = alive_;
  ++open_;
  ++pending_;
  bool pending = true;
  boost::system::error_code ec;
  auto remote = client.remote_endpoint(ec);
  client.set_option(tcp::no_delay(true), ec);
  // Beast reads at most a buffer's free capacity, and never less than 512 bytes: with
  // the capacity reserved here an answer's head and a small body come in one read (an
  // unreserved flat_buffer stays at 512 bytes and costs a system call per 512 bytes).
  beast::flat_buffer cbuf;
  cbuf.reserve(kClientReadBytes);
  beast::flat_buffer bbuf;  // the back end's answers (kept across requests for its capacity)
  bbuf.reserve(kBackendReadBytes);
  // Body bytes pass through here, one chunk at a time: one buffer per client connection
  // (not zeroed), not one per message.
  std::unique_ptr<char[]> body_chunk(new char[kBodyChunk]);
  std::span<char> body_buf(body_chunk.get(), kBodyChunk);
  auto dog_ptr = std::make_shared<Watchdog>(client.get_executor());
  Watchdog& dog = *dog_ptr;
  dog.client = &client;
  dog.deadline = Clock::now() + std::chrono::milliseconds(config_.http.idle_timeout_ms);
  asio::co_spawn(client.get_executor(), Watch(dog_ptr), asio::detached);
  struct CallOff {  // however the exchange ends, the watchdog lets go of its sockets
    Watchdog& dog;
    ~CallOff() {
      dog.client = nullptr;
      dog.backend = nullptr;
      dog.timer.cancel();
    }
  } call_off{dog};
  const auto& http = config_.http;
  auto serve = [&]() -> asio::awaitable<void> {
    for (;;) {
      bhttp::request_parser<bhttp::buffer_body> p;
      p.header_limit(static_cast<uint32_t>(http.max_header_bytes));
      p.body_limit(static_cast<uint64_t>(http.max_body_bytes));
      dog.deadline = Clock::now() + std::chrono::milliseconds(http.idle_timeout_ms);
      auto [rec, rn] = co_await bhttp::async_read_header(client, cbuf, p, kUseTuple);
      if (pending) {
        pending = false;
        --pending_;
      }
      if (rec) {
        if (rec == bhttp::error::end_of_stream || rec == asio::error::eof || dog.fired) co_return;
        refused_requests.Inc();
        if (rec == bhttp::error::header_limit) co_await WriteError(client, bhttp::status::request_header_fields_too_large, "request head too large");
        else if (rec == bhttp::error::body_limit) co_await WriteError(client, bhttp::status::payload_too_large, "request body too large");
        else co_await WriteError(client, bhttp::status::bad_request, "malformed request: " + rec.message());
        co_return;
      }
      if (const char* problem = FramingProblem(p)) {
        refused_requests.Inc();
        co_await WriteError(client, bhttp::status::bad_request, std::string("refused: ") + problem);
        co_return;
      }
      auto& req = p.get();
      if (p.content_length() && *p.content_length() > static_cast<uint64_t>(http.max_body_bytes)) {
        refused_requests.Inc();
        co_await WriteError(client, bhttp::status::payload_too_large, "request body too large");
        co_return;
      }
      const bool client_keep = req.keep_alive();
      const bool head = req.method() == bhttp::verb::head;
      std::string target = std::string(req[bhttp::field::host]) + std::string(req.target());
      req.keep_alive(true);
      // The client's address for the front end (a relay hides it).
      std::string xff(req["X-Forwarded-For"]);
      req.set("X-Forwarded-For", xff.empty() ? remote.address().to_string() : xff + ", " + remote.address().to_string());

      PickContext pick;
      pick.client = remote.address();
      pick.client_port = remote.port();
      pick.target = target;
      pick.now = PolicyClock::now();
      dog.deadline = Clock::now() + std::chrono::milliseconds(config_.frontdoor.connect_timeout_ms * 3 + 100);
      frontdoor::TakeIdle take_idle = [this](const std::string& id) { return TakeIdle(id); };
      auto acquired = co_await ConnectToBackend(table_, policy_, pick, std::chrono::milliseconds(config_.frontdoor.connect_timeout_ms), 3, take_idle);
      if (!acquired.ok()) {
        unserved.Inc();
        co_await WriteError(client, bhttp::status::service_unavailable, "no front end available");
        co_return;
      }
      auto connection = std::move(acquired).value();
      tcp::socket& backend = connection.socket;
      const std::string& id = connection.id;
      dog.backend = &backend;
      routed.Inc();
      auto finish = [&](bool ok) {
        dog.backend = nullptr;
        table_.Closed(id);
        policy_.Done(id);
        if (!ok) table_.ReportFailure(id);
      };
      uint64_t bytes = 0;
      dog.deadline = Clock::now() + std::chrono::milliseconds(http.read_timeout_ms);
      auto sent_at = Clock::now();
      RelayEnd req_end = co_await RelayMessage<true>(backend, client, cbuf, p, bytes, body_buf);
      if (req_end != RelayEnd::kOk) {
        finish(req_end != RelayEnd::kOutFailed);
        if (dog.fired) co_return;
        // Nothing of an answer has gone to the client yet: it gets one. A body that
        // broke off half way is the client's fault (400, as the front end would say);
        // the front end's connection, holding half a request, is dropped.
        if (req_end == RelayEnd::kOutFailed) co_await WriteError(client, bhttp::status::bad_gateway, "the front end failed");
        else co_await WriteError(client, bhttp::status::bad_request, "malformed request body");
        co_return;
      }
      // The answer (1xx interim answers are passed on and the final one read after).
      bbuf.consume(bbuf.size());  // anything left was the previous back-end connection's (not kept)
      for (;;) {
        bhttp::response_parser<bhttp::buffer_body> rp;
        rp.body_limit(boost::none);
        rp.header_limit(static_cast<uint32_t>(http.max_header_bytes) * 4);
        if (head) rp.skip(true);
        dog.deadline = Clock::now() + std::chrono::milliseconds(config_.proxy.read_timeout_ms);
        dog.spare_client = true;
        auto [hec, hn] = co_await bhttp::async_read_header(backend, bbuf, rp, kUseTuple);
        dog.spare_client = false;
        if (hec) {
          finish(false);
          if (dog.backend_timed_out) {
            timed_out.Inc();
            co_await WriteError(client, bhttp::status::gateway_timeout, "the front end did not answer in time");
          } else if (!dog.fired) {
            co_await WriteError(client, bhttp::status::bad_gateway, "the front end failed: " + hec.message());
          }
          co_return;
        }
        table_.ObserveResponse(id, std::chrono::duration<double, std::milli>(Clock::now() - sent_at).count());
        auto status = rp.get().result_int();
        const bool backend_keep = rp.get().keep_alive();
        if (status == 101) {  // protocol switch: from here on, bytes both ways
          bhttp::response_serializer<bhttp::buffer_body> sr{rp.get()};
          rp.get().body().data = nullptr;
          rp.get().body().more = false;
          co_await bhttp::async_write_header(client, sr, kUseTuple);
          if (bbuf.size() > 0) co_await asio::async_write(client, bbuf.data(), kUseTuple);
          if (cbuf.size() > 0) co_await asio::async_write(backend, cbuf.data(), kUseTuple);
          dog.deadline = Clock::time_point::max();
          co_await SpliceRelay(client, backend, std::chrono::milliseconds(config_.frontdoor.idle_timeout_ms));
          finish(true);
          co_return;
        }
        if (status >= 100 && status < 200) {
          rp.get().body().data = nullptr;
          rp.get().body().more = false;
          bhttp::response_serializer<bhttp::buffer_body> sr{rp.get()};
          co_await bhttp::async_write_header(client, sr, kUseTuple);
          continue;
        }
        // An answer that ends at EOF cannot be followed by another on this connection.
        const bool keep = client_keep && !rp.need_eof();
        rp.get().keep_alive(keep);
        dog.deadline = Clock::now() + std::chrono::milliseconds(config_.proxy.read_timeout_ms);
        RelayEnd res_end = RelayEnd::kOk;
        const bool plain_body = !head && status != 204 && status != 304 && !rp.chunked() && rp.content_length();
        if (plain_body && *rp.content_length() <= bbuf.size()) {
          // The whole body came with the head (a small answer): head and body go out in
          // one write, the body straight from the read buffer.
          const size_t len = static_cast<size_t>(*rp.content_length());
          rp.get().body().data = const_cast<void*>(bbuf.data().data());
          rp.get().body().size = len;
          rp.get().body().more = false;
          bhttp::response_serializer<bhttp::buffer_body> sr{rp.get()};
          auto [wec, wn] = co_await bhttp::async_write(client, sr, kUseTuple);
          if (wec) res_end = RelayEnd::kOutFailed;
          bbuf.consume(len);
          bytes += len;
        } else if (!head && status != 204 && status != 304 && !rp.chunked() && rp.content_length() && *rp.content_length() >= kSpliceBodyAbove) {
          // A body of known length: the head serialized afresh, then exactly that many
          // bytes (the parser has nothing to find in them), through the kernel.
          uint64_t left = *rp.content_length();
          rp.get().body().data = nullptr;
          rp.get().body().more = false;
          bhttp::response_serializer<bhttp::buffer_body> sr{rp.get()};
          auto [wec, wn] = co_await bhttp::async_write_header(client, sr, kUseTuple);
          if (wec) res_end = RelayEnd::kOutFailed;
          size_t buffered = static_cast<size_t>(std::min<uint64_t>(bbuf.size(), left));
          if (res_end == RelayEnd::kOk && buffered > 0) {
            auto part = asio::buffer(bbuf.data(), buffered);
            auto [bec, bn] = co_await asio::async_write(client, part, kUseTuple);
            if (bec) res_end = RelayEnd::kOutFailed;
            bbuf.consume(buffered);
            left -= buffered;
          }
          if (res_end == RelayEnd::kOk) {
            SpliceEnd spliced = co_await SpliceExactly(backend, client, left);
            if (spliced != SpliceEnd::kOk) res_end = spliced == SpliceEnd::kToFailed ? RelayEnd::kOutFailed : RelayEnd::kInFailed;
          }
          bytes += *rp.content_length();
        } else {
          res_end = co_await RelayMessage<false>(client, backend, bbuf, rp, bytes, body_buf);
        }
        if (res_end != RelayEnd::kOk) {
          finish(res_end != RelayEnd::kInFailed);
          co_return;
        }
        finish(true);
        if (backend_keep && !rp.need_eof() && bbuf.size() == 0) Release(id, std::move(backend));
        if (!keep) {
          boost::system::error_code ignored;
          client.shutdown(tcp::socket::shutdown_send, ignored);
          co_return;
        }
        break;
      }
      if (!client_keep) {
        boost::system::error_code ignored;
        client.shutdown(tcp::socket::shutdown_send, ignored);
        co_return;
      }
    }
  };
  co_await serve();
  if (!*alive) co_return;
  if (pending) --pending_;
  --open_;
}

}  // namespace tacc::frontdoor
