#include "frontdoor/http_router.h"

#include <boost/algorithm/string/predicate.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <poll.h>

#include <algorithm>
#include <array>
#include <memory>
#include <span>

#include "common/metrics.h"
#include "frontdoor/backend_connector.h"
#include "frontdoor/relay_parser.h"
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

// Writes all of `buffers` to `s` (non-blocking): what the kernel takes at once is written
// here and now, the rest (if any) asynchronously. A small answer or request goes in the
// first sendmsg with no completion queued, so the exchange goes on in the same turn of
// the event loop (Asio completes even an immediate asynchronous write through its queue:
// one more turn, and one more epoll_wait, per write).
template <class Buffers>
asio::awaitable<boost::system::error_code> WriteAll(tcp::socket& s, const Buffers& buffers) {
  boost::system::error_code ec;
  const size_t total = asio::buffer_size(buffers);
  const size_t n = s.write_some(buffers, ec);
  if (!ec && n == total) co_return ec;
  if (ec && ec != asio::error::would_block && ec != asio::error::try_again) co_return ec;
  beast::buffers_suffix<Buffers> rest(buffers);
  rest.consume(n);
  auto [wec, wn] = co_await asio::async_write(s, rest, kUseTuple);
  co_return wec;
}

// Streams the body of a message whose head `p` has parsed from `in` to `out`, a buffer's
// worth at a time (re-chunked by the parser if chunked). `bytes` counts what went out.
template <bool isRequest>
asio::awaitable<RelayEnd> RelayBody(tcp::socket& out, tcp::socket& in, beast::flat_buffer& inbuf, RelayParser<isRequest>& p, uint64_t& bytes,
                                    std::span<char> buf) {
  while (!p.is_done()) {
    p.LendBody(buf);
    auto [ec, n] = co_await bhttp::async_read(in, inbuf, p, kUseTuple);
    if (ec == bhttp::error::need_buffer) {
      if (p.body_size() == 0) co_return RelayEnd::kInFailed;  // cannot happen with a lent buffer; never spin
      ec = {};
    }
    if (ec) co_return RelayEnd::kInFailed;
    if (p.body_size() == 0) continue;
    auto chunk = asio::buffer(buf.data(), p.body_size());
    if (auto wec = co_await WriteAll(out, chunk)) co_return RelayEnd::kOutFailed;
    bytes += p.body_size();
  }
  co_return RelayEnd::kOk;
}

// Ends a head RelayParser wrote: the Connection field (the message's other tokens, and
// keep-alive or close as this hop decides: HTTP/1.1 keeps a connection unless told to
// close, HTTP/1.0 closes unless told to keep it) and the blank line.
void EndHead(std::string& head, int version, const std::string& tokens, bool keep) {
  std::string_view word = keep ? (version < 11 ? "keep-alive" : "") : "close";
  if (!tokens.empty() || !word.empty()) {
    head += "Connection: ";
    head += tokens;
    if (!tokens.empty() && !word.empty()) head += ", ";
    head += word;
    head += "\r\n";
  }
  head += "\r\n";
}

// Request smuggling shapes and framing no front end should be asked to guess.
const char* FramingProblem(const RelayParser<true>& p) {
  if (p.transfer_encoding_fields() > 0 && p.has_content_length_field()) return "both Content-Length and Transfer-Encoding";
  if (p.transfer_encoding_fields() > 0) {
    if (p.transfer_encoding_fields() != 1 || !boost::iequals(p.transfer_encoding(), "chunked")) return "a Transfer-Encoding other than chunked";
    if (p.version() < 11) return "Transfer-Encoding in an HTTP/1.0 request";
  }
  if (p.host_fields() > 1) return "more than one Host";
  if (p.version() >= 11 && p.host_fields() == 0) return "an HTTP/1.1 request without Host";
  return nullptr;
}

// Sent again on a fresh connection when a kept one turns out dead before any answer:
// methods that are safe to repeat, with no body (already consumed from the client).
bool Replayable(const RelayParser<true>& p) {
  auto m = p.method();
  return (m == bhttp::verb::get || m == bhttp::verb::head || m == bhttp::verb::options) && p.is_done();
}

}  // namespace

HttpRouter::HttpRouter(asio::io_context& ctx, const Config& config, BackendTable& table, PickPolicy& policy)
    : ctx_(ctx),
      config_(config),
      table_(table),
      policy_(policy),
      sweep_timer_(ctx),
      listener_(ctx, config.frontdoor, open_, pending_, [this](tcp::socket s) { asio::co_spawn(ctx_, Serve(std::move(s)), asio::detached); }) {}

HttpRouter::~HttpRouter() { Stop(); }

Status HttpRouter::Start() {
  auto started = listener_.Start("l7");
  if (started.ok()) asio::co_spawn(ctx_, SweepLoop(), asio::detached);
  return started;
}

void HttpRouter::Stop() {
  *alive_ = false;
  listener_.Stop();
  sweep_timer_.cancel();
  idle_.clear();
}

size_t HttpRouter::idle_connections() const {
  size_t n = 0;
  for (auto& [id, pool] : idle_) n += pool.size();
  return n;
}

std::optional<tcp::socket> HttpRouter::TakeIdle(const std::string& id, bool check) {
  auto it = idle_.find(id);
  if (it == idle_.end()) return std::nullopt;
  auto& idle = it->second;
  while (!idle.empty()) {
    tcp::socket s = std::move(idle.back());
    idle.pop_back();
    if (!s.is_open()) continue;
    if (!check) return s;
    // Readable now means closed by the back end (or stray bytes): not reusable.
    pollfd pfd{s.native_handle(), POLLIN | POLLRDHUP, 0};
    if (::poll(&pfd, 1, 0) == 0) return s;
  }
  return std::nullopt;
}

void HttpRouter::Release(const std::string& id, tcp::socket socket) {
  if (!table_.Find(id)) return;  // left the table meanwhile
  auto& idle = idle_[id];
  if (idle.size() >= kMaxIdlePerBackend) return;
  idle.push_back(std::move(socket));
}

void HttpRouter::SweepIdle() {
  std::vector<pollfd> fds;
  for (auto& [id, pool] : idle_)
    for (auto& s : pool) fds.push_back(pollfd{s.native_handle(), POLLIN | POLLRDHUP, 0});
  if (fds.empty() || ::poll(fds.data(), fds.size(), 0) <= 0) return;
  size_t at = 0;
  for (auto it = idle_.begin(); it != idle_.end();) {
    auto& pool = it->second;
    std::erase_if(pool, [&](const tcp::socket&) { return fds[at++].revents != 0; });
    // A back end gone from the table keeps no pool.
    if (pool.empty() && !table_.Find(it->first)) it = idle_.erase(it);
    else ++it;
  }
}

asio::awaitable<void> HttpRouter::SweepLoop() {
  auto alive = alive_;
  for (;;) {
    sweep_timer_.expires_after(kIdleSweep);
    auto [ec] = co_await sweep_timer_.async_wait(kUseTuple);
    if (ec || !*alive) co_return;
    SweepIdle();
  }
}

asio::awaitable<void> HttpRouter::Serve(tcp::socket client) {
  static Counter& routed = Metrics().counter("tacc_dispatch_requests_total", "HTTP requests routed to a back end (l7)");
  static Counter& refused_requests = Metrics().counter("tacc_dispatch_bad_requests_total", "HTTP requests refused by the dispatcher itself (l7: malformed, ambiguous framing, over a limit)");
  static Counter& timed_out = Metrics().counter("tacc_dispatch_backend_timeouts_total", "Requests answered 504 because the back end sent no answer within proxy.read_timeout_ms (l7)");
  static Counter& unserved = Metrics().counter("tacc_dispatch_no_backend_total", "Client connections closed because no back end could be reached");
  static Counter& replayed = Metrics().counter("tacc_dispatch_replayed_total", "Requests sent again on a fresh connection because the kept one they were sent on was found closed (l7)");
  auto alive = alive_;
  ++open_;
  ++pending_;
  bool pending = true;
  boost::system::error_code ec;
  auto remote = client.remote_endpoint(ec);
  const std::string client_ip = remote.address().to_string();
  client.set_option(tcp::no_delay(true), ec);
  client.non_blocking(true, ec);  // WriteAll writes directly
  // Beast reads at most a buffer's free capacity, and never less than 512 bytes: with
  // the capacity reserved here an answer's head and a small body come in one read (an
  // unreserved flat_buffer stays at 512 bytes and costs a system call per 512 bytes).
  beast::flat_buffer cbuf;
  cbuf.reserve(kClientReadBytes);
  beast::flat_buffer bbuf;  // the back end's answers (kept across requests for its capacity)
  bbuf.reserve(kBackendReadBytes);
  // The heads that go on, written by the parsers; kept across requests for their capacity.
  std::string req_head, res_head, route_key;
  req_head.reserve(kClientReadBytes);
  res_head.reserve(kClientReadBytes);
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
  // A request that may be sent twice takes a kept connection unchecked (it is sent
  // again if the connection turns out dead); any other checks it first.
  const frontdoor::TakeIdle take_idle = [this](const std::string& id) { return TakeIdle(id, false); };
  const frontdoor::TakeIdle take_checked_idle = [this](const std::string& id) { return TakeIdle(id, true); };
  const frontdoor::TakeIdle connect_afresh;
  auto serve = [&]() -> asio::awaitable<void> {
    for (;;) {
      RelayParser<true> p(req_head);
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
      if (p.content_length() && *p.content_length() > static_cast<uint64_t>(http.max_body_bytes)) {
        refused_requests.Inc();
        co_await WriteError(client, bhttp::status::payload_too_large, "request body too large");
        co_return;
      }
      const bool client_keep = p.keep_alive();
      const bool head = p.method() == bhttp::verb::head;
      const bool replayable = Replayable(p);
      route_key.assign(p.host());
      route_key.append(p.target());
      // The client's address for the front end (a relay hides it), after any it sent.
      req_head += "X-Forwarded-For: ";
      if (!p.forwarded_for().empty()) {
        req_head += p.forwarded_for();
        req_head += ", ";
      }
      req_head += client_ip;
      req_head += "\r\n";
      EndHead(req_head, p.version(), p.connection_tokens(), /*keep=*/true);
      // A small body that came with the head goes with it, in one write.
      size_t inline_body = 0;
      if (!p.is_done() && !p.chunked() && p.content_length() && *p.content_length() <= cbuf.size())
        inline_body = static_cast<size_t>(*p.content_length());

      PickContext pick;
      pick.client = remote.address();
      pick.client_port = remote.port();
      pick.target = route_key;
      pick.now = PolicyClock::now();
      for (int attempt = 0;; ++attempt) {  // a second attempt only for a replay
        dog.deadline = Clock::now() + std::chrono::milliseconds(config_.frontdoor.connect_timeout_ms * 3 + 100);
        const frontdoor::TakeIdle& reuse = attempt > 0 ? connect_afresh : replayable ? take_idle : take_checked_idle;
        auto acquired = co_await ConnectToBackend(table_, policy_, pick, std::chrono::milliseconds(config_.frontdoor.connect_timeout_ms), 3, reuse);
        if (!acquired.ok()) {
          unserved.Inc();
          co_await WriteError(client, bhttp::status::service_unavailable, "no front end available");
          co_return;
        }
        auto connection = std::move(acquired).value();
        tcp::socket& backend = connection.socket;
        const std::string& id = connection.id;
        if (!backend.non_blocking()) backend.non_blocking(true, ec);  // WriteAll writes directly
        dog.backend = &backend;
        if (attempt == 0) routed.Inc();
        auto finish = [&](bool ok) {
          dog.backend = nullptr;
          table_.Closed(id);
          policy_.Done(id);
          if (!ok) table_.ReportFailure(id);
        };
        uint64_t bytes = 0;
        dog.deadline = Clock::now() + std::chrono::milliseconds(http.read_timeout_ms);
        auto sent_at = Clock::now();
        RelayEnd req_end = RelayEnd::kOk;
        {
          std::array<asio::const_buffer, 2> out{asio::buffer(req_head), asio::buffer(cbuf.data().data(), inline_body)};
          if (auto wec = co_await WriteAll(backend, out)) req_end = RelayEnd::kOutFailed;
        }
        if (req_end == RelayEnd::kOk && inline_body > 0) {
          cbuf.consume(inline_body);
          bytes += inline_body;
          inline_body = 0;
        } else if (req_end == RelayEnd::kOk && !p.is_done()) {
          // A client waiting to be told to send its body is told so now: the body is
          // read before the back end's answer is (the back end never saw the Expect).
          if (p.expects_continue() && p.version() >= 11 && cbuf.size() == 0) {
            static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
            auto [cec, cn] = co_await asio::async_write(client, asio::buffer(kContinue.data(), kContinue.size()), kUseTuple);
            if (cec) req_end = RelayEnd::kInFailed;
          }
          if (req_end == RelayEnd::kOk) req_end = co_await RelayBody<true>(backend, client, cbuf, p, bytes, body_buf);
        }
        if (req_end == RelayEnd::kOutFailed && connection.reused && replayable && !dog.fired) {
          finish(true);  // a kept connection the back end had closed: not a health failure
          replayed.Inc();
          continue;
        }
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
        bool replay = false;
        bool interim_sent = false;
        for (;;) {
          RelayParser<false> rp(res_head);
          rp.body_limit(boost::none);
          rp.header_limit(static_cast<uint32_t>(http.max_header_bytes) * 4);
          if (head) rp.skip(true);
          dog.deadline = Clock::now() + std::chrono::milliseconds(config_.proxy.read_timeout_ms);
          dog.spare_client = true;
          auto [hec, hn] = co_await bhttp::async_read_header(backend, bbuf, rp, kUseTuple);
          dog.spare_client = false;
          if (hec) {
            // A kept connection closed under the request (nothing came back): sent again.
            const bool closed_unanswered = (hec == bhttp::error::end_of_stream || hec == asio::error::eof || hec == asio::error::connection_reset) &&
                                           bbuf.size() == 0 && !interim_sent;
            if (closed_unanswered && connection.reused && replayable && !dog.fired && !dog.backend_timed_out) {
              finish(true);
              replayed.Inc();
              replay = true;
              break;
            }
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
          const int status = rp.status();
          const bool backend_keep = rp.keep_alive();
          if (status == 101) {  // protocol switch: from here on, bytes both ways
            EndHead(res_head, rp.version(), rp.connection_tokens(), /*keep=*/true);
            co_await asio::async_write(client, asio::buffer(res_head), kUseTuple);
            if (bbuf.size() > 0) co_await asio::async_write(client, bbuf.data(), kUseTuple);
            if (cbuf.size() > 0) co_await asio::async_write(backend, cbuf.data(), kUseTuple);
            dog.deadline = Clock::time_point::max();
            co_await SpliceRelay(client, backend, std::chrono::milliseconds(config_.frontdoor.idle_timeout_ms));
            finish(true);
            co_return;
          }
          if (status >= 100 && status < 200) {
            EndHead(res_head, rp.version(), rp.connection_tokens(), /*keep=*/true);
            co_await asio::async_write(client, asio::buffer(res_head), kUseTuple);
            interim_sent = true;
            continue;
          }
          // An answer that ends at EOF cannot be followed by another on this connection.
          const bool keep = client_keep && !rp.need_eof();
          // The client's HTTP version too: a 1.0 client keeps the connection only if told.
          EndHead(res_head, std::min(p.version(), rp.version()), rp.connection_tokens(), keep);
          dog.deadline = Clock::now() + std::chrono::milliseconds(config_.proxy.read_timeout_ms);
          RelayEnd res_end = RelayEnd::kOk;
          const bool sized_body = !head && status != 204 && status != 304 && !rp.chunked() && rp.content_length();
          if (!sized_body || *rp.content_length() <= bbuf.size()) {
            // No body, or all of it came with the head (a small answer): head and body
            // go out in one write, the body straight from the read buffer.
            const size_t len = sized_body ? static_cast<size_t>(*rp.content_length()) : 0;
            if (sized_body || rp.is_done()) {
              std::array<asio::const_buffer, 2> out{asio::buffer(res_head), asio::buffer(bbuf.data().data(), len)};
              if (auto wec = co_await WriteAll(client, out)) res_end = RelayEnd::kOutFailed;
              bbuf.consume(len);
              bytes += len;
            } else {  // chunked, or until EOF: the head, then the body as it comes
              auto head_only = asio::buffer(res_head);
              if (auto wec = co_await WriteAll(client, head_only)) res_end = RelayEnd::kOutFailed;
              else res_end = co_await RelayBody<false>(client, backend, bbuf, rp, bytes, body_buf);
            }
          } else if (*rp.content_length() >= kSpliceBodyAbove) {
            // A long body of known length: the head, then exactly that many bytes (the
            // parser has nothing to find in them), through the kernel.
            uint64_t left = *rp.content_length();
            size_t buffered = static_cast<size_t>(std::min<uint64_t>(bbuf.size(), left));
            std::array<asio::const_buffer, 2> out{asio::buffer(res_head), asio::buffer(bbuf.data().data(), buffered)};
            if (auto wec = co_await WriteAll(client, out)) res_end = RelayEnd::kOutFailed;
            bbuf.consume(buffered);
            left -= buffered;
            if (res_end == RelayEnd::kOk) {
              SpliceEnd spliced = co_await SpliceExactly(backend, client, left);
              if (spliced != SpliceEnd::kOk) res_end = spliced == SpliceEnd::kToFailed ? RelayEnd::kOutFailed : RelayEnd::kInFailed;
            }
            bytes += *rp.content_length();
          } else {
            auto head_only = asio::buffer(res_head);
            if (auto wec = co_await WriteAll(client, head_only)) res_end = RelayEnd::kOutFailed;
            else res_end = co_await RelayBody<false>(client, backend, bbuf, rp, bytes, body_buf);
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
        if (!replay) break;
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
