// Connection: one persistent TCP connection carrying framed cluster messages.
//
// Requests are multiplexed: Call() stamps each with an id and a deadline and waits for
// the reply with that id, so many tasks can be outstanding on one connection. One-way
// messages (load reports, beacons of state) go with Send(). A frame that is oversized,
// unparseable or of an unknown kind closes this connection only, and is logged.
//
// Thread safety: none. A Connection lives on one executor (one io_context thread);
// every method must be called there. Ownership: shared; the read and write loops keep
// it alive until it closes, after which the handlers are dropped.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "wire/cluster.pb.h"
#include "wire/handshake.h"

namespace tacc::wire {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Millis = std::chrono::milliseconds;

struct ConnectionOptions {
  int64_t max_frame_bytes = 64 * 1024 * 1024;
  int64_t max_outbox_bytes = 256 * 1024 * 1024;  // queued for a peer that does not read: closed beyond
  Millis idle_timeout{0};        // close when nothing arrives this long; 0: never
  Millis heartbeat_interval{0};  // send a Heartbeat when nothing was sent this long; 0: never
  std::string name;              // for logs: "worker test@127.0.0.1:4711"
  // Cluster key to prove before any message (Connect and Accept run the handshake);
  // null only in tests of the framing itself.
  ClusterAuthPtr auth;
  Millis handshake_timeout{2000};
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using Ptr = std::shared_ptr<Connection>;
  // Called for every incoming request or one-way message (not for replies to Call()).
  using MessageHandler = std::function<void(const Ptr&, Envelope&&)>;
  // Called once when the connection closes, with the reason.
  using CloseHandler = std::function<void(const Ptr&, const Status&)>;

  static Ptr Create(tcp::socket socket, ConnectionOptions options);
  ~Connection();

  void Start(MessageHandler on_message, CloseHandler on_close);

  // Queues a one-way message. Dropped silently if the connection is closed.
  void Send(Envelope env);
  // Queues the reply to `request` (same id, is_reply set).
  void Reply(const Envelope& request, Envelope reply);
  void ReplyError(const Envelope& request, const Status& status);

  // Sends a request and waits for its reply. An Error reply comes back as its Status;
  // no reply in time is Timeout; a closed connection is Unavailable.
  asio::awaitable<Result<Envelope>> Call(Envelope request, Millis timeout);

  void Close(const Status& why);
  // Stops taking messages, writes out what is queued (an error reply, say), then closes.
  void CloseAfterWrite(const Status& why);
  // Raises (or lowers) the largest frame accepted from now on: a peer gets a tight
  // limit until it has said who it is.
  void set_max_frame_bytes(int64_t n) { options_.max_frame_bytes = n; }
  bool is_open() const { return open_; }
  const std::string& name() const { return options_.name; }
  void set_name(std::string name) { options_.name = std::move(name); }
  // Takes effect from the next check of the idle timer (at the latest, the old deadline).
  void set_idle_timeout(std::chrono::milliseconds t) { options_.idle_timeout = t; }
  size_t outstanding_calls() const { return pending_.size(); }
  tcp::endpoint remote_endpoint() const;
  // Bytes the read buffer holds now: grows with what arrives, not with what a frame
  // header announces (tests).
  size_t read_buffer_bytes() const { return read_buffer_.size(); }

 private:
  struct PendingCall;
  Connection(tcp::socket socket, ConnectionOptions options);
  asio::awaitable<void> ReadLoop(Ptr self);
  asio::awaitable<void> WriteLoop(Ptr self);
  asio::awaitable<void> TimerLoop(Ptr self);  // idle timeout and heartbeats
  void HandleFrame(std::string_view body);

  tcp::socket socket_;
  ConnectionOptions options_;
  MessageHandler on_message_;
  CloseHandler on_close_;
  bool open_ = true;
  std::optional<Status> close_after_write_;
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, std::shared_ptr<PendingCall>> pending_;
  std::string outbox_;  // frames waiting to be written
  std::vector<char> read_buffer_;
  asio::steady_timer write_signal_;
  std::chrono::steady_clock::time_point last_read_;
  std::chrono::steady_clock::time_point last_write_;
};

// Connects to `to` within `timeout` and, with options.auth, proves the cluster key
// (Protocol error if the peer does not prove it back).
asio::awaitable<Result<Connection::Ptr>> Connect(const Endpoint& to, ConnectionOptions options, Millis timeout);
// The server side for an accepted socket: with options.auth, runs the handshake within
// options.handshake_timeout; a refused peer is counted and logged, and its socket closed.
asio::awaitable<Result<Connection::Ptr>> Accept(tcp::socket socket, ConnectionOptions options);

// Envelope holding an Error.
Envelope MakeError(const Status& status);
Status ErrorToStatus(const Error& e);

}  // namespace tacc::wire
