#include "wire/connection.h"

#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cstring>
#include <optional>
#include <vector>

#include "common/metrics.h"
#include "wire/frame.h"

namespace tacc::wire {

namespace {
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

Counter& BadFrames() {
  static Counter& c = Metrics().counter("tacc_wire_bad_frames_total", "Connections closed for a malformed, oversized or unknown frame");
  return c;
}
Counter& OutboxOverflows() {
  static Counter& c = Metrics().counter("tacc_wire_outbox_overflows_total", "Connections closed because the peer did not read what was queued for it");
  return c;
}
Counter& LateReplies() {
  static Counter& c = Metrics().counter("tacc_wire_late_replies_total", "Replies that arrived after their call timed out");
  return c;
}
}  // namespace

struct Connection::PendingCall {
  explicit PendingCall(const asio::any_io_executor& ex) : timer(ex) {}
  asio::steady_timer timer;
  std::optional<Envelope> reply;
  Status failure;
};

Connection::Connection(tcp::socket socket, ConnectionOptions options)
    : socket_(std::move(socket)), options_(std::move(options)), write_signal_(socket_.get_executor()) {
  write_signal_.expires_at(std::chrono::steady_clock::time_point::max());
  boost::system::error_code ec;
  socket_.set_option(tcp::no_delay(true), ec);
}

Connection::~Connection() = default;

Connection::Ptr Connection::Create(tcp::socket socket, ConnectionOptions options) {
  return Ptr(new Connection(std::move(socket), std::move(options)));
}

tcp::endpoint Connection::remote_endpoint() const {
  boost::system::error_code ec;
  return socket_.remote_endpoint(ec);
}

void Connection::Start(MessageHandler on_message, CloseHandler on_close) {
  on_message_ = std::move(on_message);
  on_close_ = std::move(on_close);
  last_read_ = std::chrono::steady_clock::now();
  auto self = shared_from_this();
  asio::co_spawn(socket_.get_executor(), ReadLoop(self), asio::detached);
  asio::co_spawn(socket_.get_executor(), WriteLoop(self), asio::detached);
  last_write_ = last_read_;
  if (options_.idle_timeout.count() > 0 || options_.heartbeat_interval.count() > 0)
    asio::co_spawn(socket_.get_executor(), TimerLoop(self), asio::detached);
}

void Connection::Send(Envelope env) {
  if (!open_) return;
  if (static_cast<int64_t>(outbox_.size() + env.ByteSizeLong()) > options_.max_outbox_bytes) {
    OutboxOverflows().Inc();
    spdlog::warn("closing connection {}: peer is not reading ({} bytes queued, wire.max_outbox_bytes={})", options_.name, outbox_.size(),
                 options_.max_outbox_bytes);
    Close(Status::Overloaded("peer is not reading: outbound queue over wire.max_outbox_bytes"));
    return;
  }
  AppendFrame(env, outbox_);
  write_signal_.cancel();
}

void Connection::Reply(const Envelope& request, Envelope reply) {
  reply.set_id(request.id());
  reply.set_is_reply(true);
  Send(std::move(reply));
}

void Connection::ReplyError(const Envelope& request, const Status& status) { Reply(request, MakeError(status)); }

asio::awaitable<Result<Envelope>> Connection::Call(Envelope request, Millis timeout) {
  auto self = shared_from_this();  // keep alive across the wait
  if (!open_) co_return Status::Unavailable("connection to " + options_.name + " is closed");
  uint64_t id = next_id_++;
  request.set_id(id);
  request.set_is_reply(false);
  request.set_deadline_ms(static_cast<uint32_t>(std::max<int64_t>(1, timeout.count())));
  auto call = std::make_shared<PendingCall>(socket_.get_executor());
  call->timer.expires_after(timeout);
  pending_.emplace(id, call);
  Send(std::move(request));
  co_await call->timer.async_wait(kUseTuple);
  pending_.erase(id);
  if (call->reply) {
    if (call->reply->body_case() == Envelope::kError) co_return ErrorToStatus(call->reply->error());
    co_return std::move(*call->reply);
  }
  if (!call->failure.ok()) co_return call->failure;
  co_return Status::Timeout(options_.name + " did not answer within " + std::to_string(timeout.count()) + " ms");
}

void Connection::Close(const Status& why) {
  if (!open_) return;
  open_ = false;
  boost::system::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  write_signal_.cancel();
  for (auto& [id, call] : pending_) {
    call->failure = Status::Unavailable("connection to " + options_.name + " closed: " + why.ToString());
    call->timer.cancel();
  }
  auto on_close = std::move(on_close_);
  on_message_ = nullptr;
  on_close_ = nullptr;
  if (on_close) on_close(shared_from_this(), why);
}

void Connection::CloseAfterWrite(const Status& why) {
  if (!open_) return;
  on_message_ = nullptr;
  close_after_write_ = why;
  write_signal_.cancel();
}

void Connection::HandleFrame(std::string_view body) {
  auto env = ParseEnvelope(body);
  if (!env.ok()) {
    BadFrames().Inc();
    spdlog::warn("closing connection {}: {}", options_.name, env.status().ToString());
    Close(env.status());
    return;
  }
  if (env->has_heartbeat()) return;  // liveness only: the read already reset the idle timer
  if (env->is_reply()) {
    auto it = pending_.find(env->id());
    if (it == pending_.end()) {
      LateReplies().Inc();
      return;
    }
    it->second->reply = std::move(*env);
    it->second->timer.cancel();
    return;
  }
  if (on_message_) on_message_(shared_from_this(), std::move(*env));
}

asio::awaitable<void> Connection::ReadLoop(Ptr self) {
  // One buffered read takes in as many frames as the kernel has, so a stream of small
  // messages (load reports, task replies) costs one recv for many frames, not two each.
  // The buffer starts at 8 KB and grows only for a frame whose bytes are arriving: a
  // manager holds 10,000 of these (at 64 KB each that was 640 MB of resident memory).
  constexpr size_t kChunk = 8 * 1024;
  constexpr size_t kReadSlice = 4 * 1024;
  std::vector<char>& buf = read_buffer_;
  buf.resize(kChunk);
  size_t begin = 0, end = 0;  // unparsed bytes are buf[begin, end)
  while (open_) {
    size_t need = kFrameHeaderBytes;  // bytes the next frame needs in all
    while (end - begin >= kFrameHeaderBytes) {
      auto len = DecodeFrameHeader(reinterpret_cast<const uint8_t*>(buf.data() + begin), options_.max_frame_bytes);
      if (!len.ok()) {
        BadFrames().Inc();
        spdlog::warn("closing connection {}: {}", options_.name, len.status().ToString());
        Close(len.status());
        co_return;
      }
      need = kFrameHeaderBytes + *len;
      if (end - begin < need) break;
      HandleFrame(std::string_view(buf.data() + begin + kFrameHeaderBytes, *len));
      begin += need;
      need = kFrameHeaderBytes;
      if (!open_) co_return;
    }
    if (begin == end) {
      begin = end = 0;
      if (buf.size() > 32 * kChunk) {  // a big frame has gone: give the memory back (up to 256 KB stays)
        buf.resize(kChunk);
        buf.shrink_to_fit();
      }
    }
    if (buf.size() - end < kChunk / 4 || buf.size() - begin < need) {  // make room at the back
      std::memmove(buf.data(), buf.data() + begin, end - begin);
      end -= begin;
      begin = 0;
      // Grow with the bytes that have really arrived, never to what a header announces:
      // a peer that announces a large frame and sends nothing costs nothing.
      if (buf.size() < need && buf.size() - end < kChunk / 4) buf.resize(std::min(need, buf.size() * 2));
    }
    // Read at most a slice at a time unless a big frame is known to be coming: the
    // handlers of one read run back to back, and on a busy manager its beacon timer
    // must not wait behind a whole buffer of reports on every connection.
    size_t want = std::max(kReadSlice, need > end - begin ? need - (end - begin) : 0);
    auto [ec, n] = co_await socket_.async_read_some(asio::buffer(buf.data() + end, std::min(buf.size() - end, want)), kUseTuple);
    if (ec) {
      if (end > begin) Close(Status::Unavailable("connection broke mid-frame: " + ec.message()));
      else Close(ec == asio::error::eof ? Status::Unavailable("peer closed the connection") : Status::Unavailable(ec.message()));
      break;
    }
    end += n;
    last_read_ = std::chrono::steady_clock::now();
  }
}

asio::awaitable<void> Connection::WriteLoop(Ptr self) {
  std::string writing;
  while (open_) {
    if (outbox_.empty()) {
      if (close_after_write_) {
        Close(*close_after_write_);
        break;
      }
      write_signal_.expires_at(std::chrono::steady_clock::time_point::max());
      co_await write_signal_.async_wait(kUseTuple);
      continue;
    }
    writing.clear();
    writing.swap(outbox_);  // everything queued goes out in one write
    auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(writing), kUseTuple);
    last_write_ = std::chrono::steady_clock::now();
    if (ec) {
      Close(Status::Unavailable("write failed: " + ec.message()));
      break;
    }
  }
}

// One timer per connection does both jobs: close when the peer has been silent for
// idle_timeout, and send a heartbeat when we have been silent for heartbeat_interval
// (a manager holds ten thousand of these; two timers each would double the wake-ups).
asio::awaitable<void> Connection::TimerLoop(Ptr self) {
  using Clock = std::chrono::steady_clock;
  asio::steady_timer timer(socket_.get_executor());
  bool idle = options_.idle_timeout.count() > 0, beat = options_.heartbeat_interval.count() > 0;
  while (open_) {
    auto now = Clock::now();
    if (idle && now >= last_read_ + options_.idle_timeout) {
      spdlog::warn("closing connection {}: silent for {} ms", options_.name, options_.idle_timeout.count());
      Close(Status::Timeout("peer silent for " + std::to_string(options_.idle_timeout.count()) + " ms"));
      break;
    }
    if (beat && now >= last_write_ + options_.heartbeat_interval) {
      if (outbox_.empty()) {
        Envelope hb;
        hb.mutable_heartbeat();
        Send(std::move(hb));
      }
      last_write_ = now;  // queued (or a write is under way): next beat a period on
    }
    auto due = Clock::time_point::max();
    if (idle) due = std::min(due, last_read_ + options_.idle_timeout);
    if (beat) due = std::min(due, last_write_ + options_.heartbeat_interval);
    timer.expires_at(due);
    co_await timer.async_wait(kUseTuple);
  }
}

asio::awaitable<Result<Connection::Ptr>> Accept(tcp::socket socket, ConnectionOptions options) {
  if (options.auth) {
    Status s = co_await ServerHandshake(socket, *options.auth, options.handshake_timeout);
    if (!s.ok()) {
      NoteRefusedHandshake(options.name, s);
      boost::system::error_code ec;
      socket.close(ec);
      co_return s;
    }
  }
  co_return Connection::Create(std::move(socket), std::move(options));
}

asio::awaitable<Result<Connection::Ptr>> Connect(const Endpoint& to, ConnectionOptions options, Millis timeout) {
  using namespace asio::experimental::awaitable_operators;
  auto ex = co_await asio::this_coro::executor;
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(to.host(), ec);
  if (ec) co_return Status::InvalidArgument("bad address '" + to.host() + "'");
  tcp::socket socket(ex);
  asio::steady_timer timer(ex);
  timer.expires_after(timeout);
  auto result = co_await (socket.async_connect(tcp::endpoint(addr, static_cast<uint16_t>(to.port())), kUseTuple) ||
                          timer.async_wait(kUseTuple));
  std::string where = to.host() + ":" + std::to_string(to.port());
  if (result.index() == 1) co_return Status::Timeout("connect to " + where + " timed out");
  auto [cec] = std::get<0>(result);
  if (cec) co_return Status::Unavailable("connect to " + where + ": " + cec.message());
  if (options.name.empty()) options.name = where;
  if (options.auth) {
    Status s = co_await ClientHandshake(socket, *options.auth, options.handshake_timeout);
    if (!s.ok()) {
      NoteRefusedHandshake(where, s);
      co_return Status(s.kind() == ErrorKind::kProtocol ? ErrorKind::kProtocol : ErrorKind::kUnavailable,
                       "connect to " + where + ": " + s.message());
    }
  }
  co_return Connection::Create(std::move(socket), std::move(options));
}

Envelope MakeError(const Status& status) {
  Envelope env;
  env.mutable_error()->set_kind(static_cast<int32_t>(status.kind()));
  env.mutable_error()->set_message(status.message());
  return env;
}

Status ErrorToStatus(const Error& e) {
  int k = e.kind();
  if (k <= 0 || k > static_cast<int>(ErrorKind::kForbidden)) return Status::Protocol("peer sent an unknown error kind: " + e.message());
  return Status(static_cast<ErrorKind>(k), e.message());
}

}  // namespace tacc::wire
