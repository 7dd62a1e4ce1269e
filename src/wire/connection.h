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
#include <string>
#include <unordered_map>

#include "common/status.h"
#include "wire/cluster.pb.h"

namespace tacc::wire {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Millis = std::chrono::milliseconds;

struct ConnectionOptions {
  int64_t max_frame_bytes = 64 * 1024 * 1024;
  Millis idle_timeout{0};  // close when nothing arrives this long; 0: never
  std::string name;        // for logs: "worker test@127.0.0.1:4711"
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
  bool is_open() const { return open_; }
  const std::string& name() const { return options_.name; }
  void set_name(std::string name) { options_.name = std::move(name); }
  size_t outstanding_calls() const { return pending_.size(); }
  tcp::endpoint remote_endpoint() const;

 private:
  struct PendingCall;
  Connection(tcp::socket socket, ConnectionOptions options);
  asio::awaitable<void> ReadLoop(Ptr self);
  asio::awaitable<void> WriteLoop(Ptr self);
  asio::awaitable<void> IdleWatch(Ptr self);
  void HandleFrame(std::string_view body);

  tcp::socket socket_;
  ConnectionOptions options_;
  MessageHandler on_message_;
  CloseHandler on_close_;
  bool open_ = true;
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, std::shared_ptr<PendingCall>> pending_;
  std::string outbox_;  // frames waiting to be written
  asio::steady_timer write_signal_;
  std::chrono::steady_clock::time_point last_read_;
};

// Connects to `to` within `timeout`.
asio::awaitable<Result<Connection::Ptr>> Connect(const Endpoint& to, ConnectionOptions options, Millis timeout);

// Envelope holding an Error.
Envelope MakeError(const Status& status);
Status ErrorToStatus(const Error& e);

}  // namespace tacc::wire
