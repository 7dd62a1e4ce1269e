// WorkerStub: hosts one worker function in a `tacc worker` process (paper §2.2.5).
//
// The stub's event loop accepts task connections from front ends, queues tasks (up to
// worker.max_queue; beyond that they are refused as overloaded), and hands them one at
// a time to the worker function on a thread of its own. It finds the manager through
// beacon headers, registers, follows a new manager by the rule of ManagerFollower
// (deregistering from the old one, so a switch is not a crash), and reports its queue
// length every worker.report_ms. On Drain it finishes its queue, deregisters and exits.
// Worker code may crash: that takes down only this process. Worker code may also hang:
// when the function makes no progress for worker.hang_timeout_ms while tasks wait, the
// stub ends the process, so its tasks fail over to other workers at once (their
// connections break) and the manager starts a replacement.
// A worker function may hand its task on to another class (WorkerFunction's Handoff):
// the stub checks the class against classes.<class>.handoff_to, sends the task there
// through a ManagerStub of its own (fed by whole beacons), and answers with its result.
//
// Thread safety: the public methods run on the stub's io_context; the worker thread
// only touches the task queue (under its mutex) and posts results back.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/cluster_key.h"
#include "common/config.h"
#include "sns/beacon_listener.h"
#include "sns/manager_follower.h"
#include "sns/worker_function.h"
#include "wire/connection.h"

namespace tacc::sns {

class ManagerStub;
class SharedDirectory;

class WorkerStub {
 public:
  WorkerStub(boost::asio::io_context& ctx, Config config, std::string worker_class, std::string spawn_token, WorkerFunctionPtr fn);
  ~WorkerStub();

  // Registers with this manager right away instead of waiting for its beacon.
  void SetInitialManager(wire::Endpoint manager) { initial_manager_ = std::move(manager); }
  // Loads the cluster key (config.KeyFile(); an error if missing or unsafe), listens,
  // starts the loops.
  Status Start();
  // Stops taking work, finishes the queue (up to the drain grace), deregisters; then
  // stops the io_context.
  void Drain(const std::string& why);
  // Immediate stop (lifeline lost).
  void Stop();

  uint16_t port() const;
  const std::string& id() const { return id_; }

 private:
  struct QueuedTask {
    std::weak_ptr<wire::Connection> conn;
    wire::Envelope request;
    std::chrono::steady_clock::time_point deadline;
    double cost = 1;
  };

  boost::asio::awaitable<void> AcceptLoop();
  boost::asio::awaitable<void> AcceptOne(boost::asio::ip::tcp::socket socket);
  boost::asio::awaitable<void> HangWatch();
  // Answers the hung task with an error its client does not retry, closes every task
  // connection once its queued replies are written (so the tasks queued here are retried
  // elsewhere), and ends the process.
  boost::asio::awaitable<void> ExitHung(std::chrono::milliseconds limit);
  boost::asio::awaitable<void> ReportLoop();
  boost::asio::awaitable<void> RegisterWithManager(wire::Endpoint manager, uint64_t epoch);
  boost::asio::awaitable<void> DrainLoop();
  boost::asio::awaitable<void> CloseSoon(wire::Connection::Ptr conn);
  void OnBeacon(const wire::Beacon& beacon);
  void OnTask(const wire::Connection::Ptr& conn, wire::Envelope&& env);
  void WorkerThreadMain();
  void Finish(QueuedTask task, Result<TaskOutput> result);
  Status CheckHandoff(const QueuedTask& task, const Handoff& handoff) const;
  boost::asio::awaitable<void> HandOff(QueuedTask task, Handoff handoff);
  void Answer(QueuedTask task, Result<TaskOutput> result, double load_now);
  // The load a report or an answer announces (queued + running, or their cost). Holds mu_.
  double LoadLocked() const;
  // Reports to the manager by datagram from now on, with `token`; false if it cannot.
  bool UseReportDatagrams(const wire::Endpoint& manager, uint64_t token);

  boost::asio::io_context& ctx_;
  Config config_;
  std::string class_;
  std::string spawn_token_;
  std::string id_;
  WorkerFunctionPtr fn_;
  double default_cost_ = 1;

  std::vector<std::string> handoff_to_;
  std::unique_ptr<SharedDirectory> handoff_directory_;  // only with handoff_to
  std::unique_ptr<ManagerStub> handoff_stub_;

  boost::asio::ip::tcp::acceptor acceptor_;
  std::unique_ptr<BeaconListener> beacons_;
  wire::Connection::Ptr manager_conn_;
  // Load reports as datagrams to the manager (LoadReportReceiver), when it gave a token.
  std::optional<boost::asio::ip::udp::socket> report_socket_;
  uint64_t report_token_ = 0;
  uint64_t report_seq_ = 0;
  ManagerFollower follower_;
  std::optional<wire::Endpoint> initial_manager_;
  bool draining_ = false;
  bool stopped_ = false;
  std::vector<wire::Connection::Ptr> task_conns_;
  wire::ClusterAuthPtr auth_;
  int handshakes_ = 0;

  // Shared with the worker thread.
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<QueuedTask> queue_;
  size_t running_ = 0;
  double queued_cost_ = 0;
  uint64_t progress_ = 0;  // tasks the worker thread has taken or finished: moves unless hung
  // The task the worker thread runs now (its connection and request id): if it hangs the
  // worker, it is answered as the culprit rather than retried on the replacement.
  std::weak_ptr<wire::Connection> running_conn_;
  uint64_t running_request_id_ = 0;
  bool quit_ = false;
  std::thread thread_;

  // Stub-thread counters.
  uint64_t completed_ = 0;
  uint64_t failed_ = 0;
  std::shared_ptr<bool> alive_;
};

}  // namespace tacc::sns
