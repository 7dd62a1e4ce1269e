#include "http/server.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <array>
#include <charconv>
#include <optional>
#include <tuple>

#include "common/metrics.h"
#include "common/text.h"

namespace tacc::http {

namespace asio = boost::asio;
namespace bhttp = beast::http;
using asio::ip::tcp;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

namespace {
// A request head's read buffer while a request is being read (given back when idle).
constexpr size_t kRequestReadBytes = 4096;

struct HttpCounters {
  Counter& requests = Metrics().counter("tacc_http_requests_total", "HTTP requests answered");
  Counter& bad_requests = Metrics().counter("tacc_http_bad_requests_total", "Malformed requests answered with 400");
  Counter& too_large = Metrics().counter("tacc_http_too_large_total", "Requests refused for header or body size (431/413)");
  Counter& timeouts = Metrics().counter("tacc_http_timeouts_total", "Connections closed for slowness or idleness");
  Counter& refused = Metrics().counter("tacc_http_refused_connections_total", "Connections closed at once above http.max_connections");
  Counter& over_budget =
      Metrics().counter("tacc_http_over_memory_budget_total", "Requests answered 503 because http.max_buffered_bytes was reached");
  Counter& accept_errors = Metrics().counter("tacc_http_accept_errors_total", "accept() failures (e.g. out of file descriptors)");
};
HttpCounters& Counters() {
  static HttpCounters c;
  return c;
}
}  // namespace

// ---------------------------------------------------------------- ServerBudget

bool ServerBudget::TryOpen() {
  int n = open_.load(std::memory_order_relaxed);
  do {
    if (n >= max_connections_) return false;
  } while (!open_.compare_exchange_weak(n, n + 1, std::memory_order_relaxed));
  return true;
}

void ServerBudget::Closed() { open_.fetch_sub(1, std::memory_order_relaxed); }

bool ServerBudget::Charge(int64_t delta) {
  int64_t now = buffered_.fetch_add(delta, std::memory_order_relaxed) + delta;
  return delta <= 0 || now <= max_buffered_;
}

namespace {
// The request bytes one request holds, given back to the budget when it ends.
class Charge {
 public:
  explicit Charge(ServerBudget& b) : budget_(b) {}
  ~Charge() { budget_.Charge(-held_); }
  Charge(const Charge&) = delete;
  Charge& operator=(const Charge&) = delete;
  bool Set(int64_t bytes) {
    int64_t delta = bytes - held_;
    held_ = bytes;
    return budget_.Charge(delta);
  }

 private:
  ServerBudget& budget_;
  int64_t held_ = 0;
};
}  // namespace

// ---------------------------------------------------------------- Conn

// One client connection. Shared between its session and its deadline timer's handler,
// which only holds a weak reference: the session may end while the handler is queued.
struct Server::Conn {
  explicit Conn(tcp::socket s) : socket(std::move(s)), timer(socket.get_executor()) {}
  tcp::socket socket;
  asio::steady_timer timer;
  uint64_t timer_gen = 0;  // a queued expiry of an older deadline does nothing
  bool timed_out = false;
  bool idle = false;  // waiting for the first byte of a request
};

namespace {
// One deadline for what the session does next: when it passes, every operation pending
// on the socket is cancelled and the session sees timed_out. A deadline is set once per
// phase (idle wait, whole request, response), never renewed by a read.
template <typename ConnT>
void ArmDeadline(const std::shared_ptr<ConnT>& c, int ms) {
  uint64_t gen = ++c->timer_gen;
  c->timed_out = false;
  c->timer.expires_after(std::chrono::milliseconds(ms));
  c->timer.async_wait([w = std::weak_ptr<ConnT>(c), gen](const boost::system::error_code& ec) {
    if (ec) return;
    auto conn = w.lock();
    if (!conn || conn->timer_gen != gen) return;
    conn->timed_out = true;
    boost::system::error_code ignored;
    conn->socket.cancel(ignored);
  });
}

template <typename ConnT>
void DisarmDeadline(ConnT& c) {
  ++c.timer_gen;
  c.timer.cancel();
}
}  // namespace

// A request's Transfer-Encoding, if any, is one field saying exactly "chunked": the
// only coding a request may use here (RFC 9112 §6.1: a request whose final coding is not
// chunked can't be framed; other codings we would have to decode). Beast passes
// "chunked, identity" and unknown codings through, so they are refused here: a
// front end and an origin must never disagree about where a request ends.
namespace {
bool RequestFramingIsPlain(const bhttp::request<bhttp::string_body>& req) {
  int count = 0;
  for (auto it = req.find(bhttp::field::transfer_encoding); it != req.end() && it->name() == bhttp::field::transfer_encoding; ++it) {
    ++count;
    std::string_view v = TrimOws(it->value());
    if (v.size() != 7 || !beast::iequals(v, "chunked")) return false;
  }
  return count <= 1;
}
}  // namespace

// ---------------------------------------------------------------- Server

namespace {
// "HTTP/1.1"
void AppendVersion(std::string& out, unsigned version) {
  const char v[] = {'H', 'T', 'T', 'P', '/', static_cast<char>('0' + version / 10 % 10), '.', static_cast<char>('0' + version % 10)};
  out.append(v, sizeof v);
}

size_t FieldBytes(const bhttp::fields& fields) {
  size_t n = 2;
  for (const auto& f : fields) n += f.name_string().size() + f.value().size() + 4;
  return n;
}

void AppendFields(std::string& out, const bhttp::fields& fields) {
  for (const auto& f : fields) out.append(f.name_string()).append(": ").append(f.value()).append("\r\n");
  out.append("\r\n");
}
}  // namespace

std::string SerializeHead(const bhttp::request_header<>& head) {
  std::string out;
  out.reserve(head.method_string().size() + head.target().size() + 12 + FieldBytes(head));
  out.append(head.method_string()).append(" ").append(head.target()).append(" ");
  AppendVersion(out, head.version());
  out.append("\r\n");
  AppendFields(out, head);
  return out;
}

std::string SerializeHead(const bhttp::response_header<>& head) {
  std::string out;
  const auto reason = head.reason();
  out.reserve(15 + reason.size() + FieldBytes(head));
  AppendVersion(out, head.version());
  out.push_back(' ');
  const unsigned code = head.result_int();
  const char digits[] = {static_cast<char>('0' + code / 100 % 10), static_cast<char>('0' + code / 10 % 10), static_cast<char>('0' + code % 10), ' '};
  out.append(digits, sizeof digits).append(reason).append("\r\n");
  AppendFields(out, head);
  return out;
}

Response MakeResponse(const Request& req, bhttp::status status, std::string body, std::string_view content_type) {
  Response res{status, req.version()};
  res.set(bhttp::field::server, "tacc");
  res.set(bhttp::field::content_type, content_type);
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

Server::Server(asio::io_context& ctx, ServerLimits limits, RequestHandler& handler, std::shared_ptr<ServerBudget> budget)
    : ctx_(ctx),
      limits_(limits),
      handler_(handler),
      budget_(budget ? std::move(budget) : std::make_shared<ServerBudget>(limits)),
      state_(std::make_shared<State>()) {}

Server::~Server() { Stop(); }

Status Server::Listen(const std::string& host, int port, bool reuse_port) {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) return Status::InvalidArgument("'" + host + "' is not an IP address");
  auto acceptor = std::make_unique<tcp::acceptor>(ctx_);
  acceptor->open(addr.is_v4() ? tcp::v4() : tcp::v6(), ec);
  if (ec) return Status::Unavailable("socket: " + ec.message());
  acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
  int one = 1;
  if (reuse_port) ::setsockopt(acceptor->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  acceptor->bind(tcp::endpoint(addr, static_cast<uint16_t>(port)), ec);
  if (ec) return Status::Unavailable("cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message());
  acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::Unavailable("listen: " + ec.message());
  return StartListening(std::move(acceptor));
}

Status Server::Adopt(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  int listening = 0;
  socklen_t optlen = sizeof listening;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &optlen) != 0 || !listening ||
      (addr.ss_family != AF_INET && addr.ss_family != AF_INET6)) {
    ::close(fd);
    return Status::InvalidArgument("descriptor " + std::to_string(fd) + " is not a listening TCP socket");
  }
  auto acceptor = std::make_unique<tcp::acceptor>(ctx_);
  boost::system::error_code ec;
  acceptor->assign(addr.ss_family == AF_INET6 ? tcp::v6() : tcp::v4(), fd, ec);
  if (ec) {
    ::close(fd);
    return Status::Internal("adopting a listening socket: " + ec.message());
  }
  return StartListening(std::move(acceptor));
}

Status Server::StartListening(std::unique_ptr<tcp::acceptor> acceptor) {
  acceptors_.push_back(std::move(acceptor));
  if (state_->alive) asio::co_spawn(ctx_, AcceptLoop(*acceptors_.back(), state_->accept_gen), asio::detached);
  return Status::Ok();
}

std::vector<int> Server::listener_fds() const {
  std::vector<int> fds;
  for (auto& a : acceptors_)
    if (a->is_open()) fds.push_back(a->native_handle());
  return fds;
}

uint16_t Server::port() const {
  boost::system::error_code ec;
  for (auto& a : acceptors_)
    if (a->is_open()) return a->local_endpoint(ec).port();
  return 0;
}

void Server::StopAccepting() {
  ++state_->accept_gen;
  boost::system::error_code ec;
  for (auto& a : acceptors_)
    if (a->is_open()) a->cancel(ec);
}

void Server::ResumeAccepting() {
  if (!state_->alive) return;
  StopAccepting();  // at most one loop per socket
  for (auto& a : acceptors_)
    if (a->is_open()) asio::co_spawn(ctx_, AcceptLoop(*a, state_->accept_gen), asio::detached);
}

void Server::CloseListeners() {
  ++state_->accept_gen;
  boost::system::error_code ec;
  for (auto& a : acceptors_) a->close(ec);  // the objects stay: a loop may still hold a reference
}

void Server::Drain(bool close_idle) {
  state_->draining = true;
  state_->close_idle = close_idle;
  if (!close_idle) return;
  boost::system::error_code ec;
  for (auto* c : state_->conns)
    if (c->idle) c->socket.cancel(ec);  // its session wakes up, sees the drain and ends
}

void Server::Stop() {
  if (!state_->alive) return;
  state_->alive = false;
  ++state_->accept_gen;
  boost::system::error_code ec;
  for (auto& a : acceptors_) a->close(ec);
  for (auto* c : state_->conns) c->socket.close(ec);  // their sessions wake up and end
}

asio::awaitable<void> Server::AcceptLoop(tcp::acceptor& acceptor, uint64_t gen) {
  auto state = state_;
  auto budget = budget_;
  auto limits = limits_;
  RequestHandler* handler = &handler_;
  while (state->alive && state->accept_gen == gen) {
    auto [ec, socket] = co_await acceptor.async_accept(kUseTuple);
    if (!state->alive) co_return;
    if (!ec) {
      // Accepted, even if accepting stopped meanwhile: the client is served either way.
      if (!budget->TryOpen()) {
        Counters().refused.Inc();
        static constexpr std::string_view kBusy = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        boost::system::error_code wec;
        socket.non_blocking(true, wec);
        socket.write_some(asio::buffer(kBusy), wec);
        continue;  // closed by the socket's destructor
      }
      auto ex = socket.get_executor();
      asio::co_spawn(ex, Session(std::make_shared<Conn>(std::move(socket)), limits, state, budget, handler), asio::detached);
      continue;
    }
    if (state->accept_gen != gen || ec == asio::error::operation_aborted) co_return;  // stopped: `acceptor` may be closed
    // Out of descriptors or similar: pause instead of spinning on the same error.
    Counters().accept_errors.Inc();
    spdlog::warn("accept: {}", ec.message());
    asio::steady_timer pause(acceptor.get_executor(), std::chrono::milliseconds(50));
    co_await pause.async_wait(kUseTuple);
  }
}

asio::awaitable<void> Server::Session(std::shared_ptr<Conn> c, ServerLimits limits, std::shared_ptr<State> state,
                                      std::shared_ptr<ServerBudget> budget, RequestHandler* handler) {
  struct Registration {
    State& state;
    ServerBudget& budget;
    Conn* conn;
    ~Registration() {
      --state.open;
      state.conns.erase(conn);
      budget.Closed();
    }
  } registration{*state, *budget, c.get()};
  ++state->open;
  state->conns.insert(c.get());
  if (!state->alive) co_return;
  RequestInfo info;
  boost::system::error_code ec;
  info.remote = c->socket.remote_endpoint(ec);
  info.client = info.remote.address();
  c->socket.set_option(tcp::no_delay(true), ec);
  beast::flat_buffer buffer;
  for (;;) {
    if (buffer.size() == 0) {
      if (state->draining && state->close_idle) break;
      // Idle: no buffer, no parser; wait until the client says something.
      buffer.shrink_to_fit();
      c->idle = true;
      ArmDeadline(c, limits.idle_timeout_ms);
      auto [wec] = co_await c->socket.async_wait(tcp::socket::wait_read, kUseTuple);
      c->idle = false;
      if (!state->alive) co_return;
      if (c->timed_out) {
        Counters().timeouts.Inc();
        break;
      }
      if (wec || (state->draining && state->close_idle)) break;
      // Beast reads at most the buffer's free capacity (512 bytes when empty): a
      // browser's request head (often 600-1,500 bytes) would take two or three reads.
      buffer.reserve(kRequestReadBytes);
    }
    ArmDeadline(c, limits.read_timeout_ms);  // one deadline for the whole request
    if (!co_await ServeOne(c, buffer, limits, *state, *budget, handler, info)) break;
  }
  if (!state->alive) co_return;
  DisarmDeadline(*c);
  c->socket.shutdown(tcp::socket::shutdown_both, ec);
}

asio::awaitable<bool> Server::ServeOne(const std::shared_ptr<Conn>& c, beast::flat_buffer& buffer, const ServerLimits& limits, State& state,
                                       ServerBudget& budget, RequestHandler* handler, const RequestInfo& info) {
  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(static_cast<uint32_t>(limits.max_header_bytes));
  parser.body_limit(static_cast<uint64_t>(limits.max_body_bytes));
  Charge charge(budget);
  boost::system::error_code rec;
  bool over_budget = false;
  bool framing_checked = false;
  while (!parser.is_done()) {
    auto [ec, n] = co_await bhttp::async_read_some(c->socket, buffer, parser, kUseTuple);
    if (!state.alive) co_return false;
    if (c->timed_out) {
      Counters().timeouts.Inc();
      co_return false;  // nothing polite to say to a client that went quiet
    }
    if (ec) {
      rec = ec;
      break;
    }
    if (!framing_checked && parser.is_header_done()) {
      framing_checked = true;
      if (!RequestFramingIsPlain(parser.get())) {
        rec = bhttp::error::bad_transfer_encoding;
        break;
      }
    }
    // What this request holds: the read buffer and the body received so far.
    if (!charge.Set(static_cast<int64_t>(buffer.capacity() + parser.get().body().size()))) {
      over_budget = true;
      break;
    }
  }
  std::optional<Response> err;
  if (rec || over_budget) {
    if (rec == bhttp::error::end_of_stream || rec == asio::error::eof || rec == asio::error::connection_reset) co_return false;
    Request dummy;
    dummy.version(11);
    dummy.keep_alive(false);
    if (over_budget) {
      Counters().over_budget.Inc();
      err = MakeResponse(dummy, bhttp::status::service_unavailable,
                         "the front end holds too many request bytes (http.max_buffered_bytes); try again later\n");
    } else if (rec == bhttp::error::header_limit) {
      Counters().too_large.Inc();
      err = MakeResponse(dummy, bhttp::status::request_header_fields_too_large,
                         "request head exceeds http.max_header_bytes=" + std::to_string(limits.max_header_bytes) + "\n");
    } else if (rec == bhttp::error::body_limit) {
      Counters().too_large.Inc();
      err = MakeResponse(dummy, bhttp::status::payload_too_large,
                         "request body exceeds http.max_body_bytes=" + std::to_string(limits.max_body_bytes) + "\n");
    } else {
      Counters().bad_requests.Inc();
      err = MakeResponse(dummy, bhttp::status::bad_request, "malformed HTTP request: " + rec.message() + "\n");
    }
    ArmDeadline(c, limits.write_timeout_ms);
    co_await bhttp::async_write(c->socket, *err, kUseTuple);
    co_return false;
  }
  DisarmDeadline(*c);  // the handler has http.request_timeout_ms of its own
  Request req = parser.release();
  Reply reply = co_await handler->Handle(req, info);  // alive checked above: the handler exists
  if (!state.alive) co_return false;
  Counters().requests.Inc();
  Response& res = reply.response;
  if (reply.takeover) {
    // CONNECT: the head only, no framing; the connection belongs to the takeover now.
    bhttp::response<bhttp::empty_body> head{std::move(res.base())};
    ArmDeadline(c, limits.write_timeout_ms);
    bhttp::response_serializer<bhttp::empty_body> sr{head};
    sr.split(true);
    auto [hec, hn] = co_await bhttp::async_write_header(c->socket, sr, kUseTuple);
    DisarmDeadline(*c);
    if (hec || c->timed_out || !state.alive) co_return false;
    co_await reply.takeover->Run(c->socket, buffer);
    co_return false;
  }
  bool keep = req.keep_alive() && res.keep_alive() && !state.draining;
  if (reply.body) co_return co_await WriteStreamed(c, limits, state, req, reply, keep);
  res.keep_alive(keep);
  res.prepare_payload();
  // Head and body in one gather write: one system call, and none of Beast's per-field
  // buffer sequence walking.
  const std::string head = SerializeHead(res.base());
  const std::array<asio::const_buffer, 2> wire{asio::buffer(head), asio::buffer(res.body())};
  ArmDeadline(c, limits.write_timeout_ms);
  auto [wec, wn] = co_await asio::async_write(c->socket, wire, kUseTuple);
  co_return !wec && !c->timed_out && keep && state.alive;
}

asio::awaitable<bool> Server::WriteStreamed(const std::shared_ptr<Conn>& c, const ServerLimits& limits, State& state, const Request& req,
                                            Reply& reply, bool keep) {
  bhttp::response<bhttp::empty_body> head{std::move(reply.response.base())};
  const bool head_only = req.method() == bhttp::verb::head || head.result_int() == 204 || head.result_int() == 304 ||
                         head.result_int() / 100 == 1;
  std::optional<uint64_t> length;
  if (auto cl = head.find(bhttp::field::content_length); cl != head.end()) {
    uint64_t v = 0;
    auto sv = cl->value();
    auto [p, e] = std::from_chars(sv.data(), sv.data() + sv.size(), v);
    if (e != std::errc() || p != sv.data() + sv.size()) co_return false;  // the handler's bug: don't send a lie
    length = v;
  }
  const bool chunked = !length && !head_only && req.version() >= 11;
  if (!length && !head_only && !chunked) keep = false;  // HTTP/1.0 without a length: the end is the close
  head.erase(bhttp::field::transfer_encoding);
  if (chunked) head.chunked(true);
  head.keep_alive(keep);
  const std::string head_bytes = SerializeHead(head.base());
  ArmDeadline(c, limits.write_timeout_ms);
  auto [hec, hn] = co_await asio::async_write(c->socket, asio::buffer(head_bytes), kUseTuple);
  if (hec || c->timed_out || !state.alive) co_return false;
  if (head_only) co_return keep;
  uint64_t sent = 0;
  for (;;) {
    // The source has its own deadlines (an origin's read timeout); ours is for the client.
    DisarmDeadline(*c);
    auto piece = co_await reply.body->Next();
    if (!state.alive || !piece.ok()) co_return false;  // truncated: the client must not take it for whole
    std::string_view bytes = *piece;
    if (bytes.empty()) break;
    sent += bytes.size();
    if (length && sent > *length) co_return false;
    ArmDeadline(c, limits.write_timeout_ms);
    boost::system::error_code wec;
    if (chunked) std::tie(wec, std::ignore) = co_await asio::async_write(c->socket, bhttp::make_chunk(asio::buffer(bytes.data(), bytes.size())), kUseTuple);
    else std::tie(wec, std::ignore) = co_await asio::async_write(c->socket, asio::buffer(bytes.data(), bytes.size()), kUseTuple);
    if (wec || c->timed_out || !state.alive) co_return false;
  }
  if (length && sent != *length) co_return false;
  if (chunked) {
    ArmDeadline(c, limits.write_timeout_ms);
    auto [lec, ln] = co_await asio::async_write(c->socket, bhttp::make_chunk_last(), kUseTuple);
    if (lec || c->timed_out) co_return false;
  }
  co_return keep && state.alive;
}

}  // namespace tacc::http
