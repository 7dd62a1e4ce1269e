// WorkerStub against a fake manager and a fake front end on loopback: registration,
// load reports, the queue bound, and an orderly drain. The stub runs on its own thread
// and io_context, as in a `tacc worker` process; the fakes run on the test's.
#include "sns/worker_stub.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>

#include "async_test_util.h"
#include "common/cluster_key.h"
#include "wire/cluster_options.h"

namespace tacc::sns {
namespace {

using namespace std::chrono_literals;
using tacc::testing::Event;
using tacc::testing::Pause;
using tacc::testing::RunCoroutine;
namespace asio = boost::asio;
using asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// A worker function that holds every task until released.
class GateWorker : public WorkerFunction {
 public:
  struct Gate {
    std::mutex mu;
    std::condition_variable cv;
    bool open = false;
    int started = 0;
  };
  explicit GateWorker(std::shared_ptr<Gate> g) : g_(std::move(g)) {}
  Result<TaskOutput> Process(const TaskInput& in) override {
    std::unique_lock lock(g_->mu);
    ++g_->started;
    g_->cv.notify_all();
    g_->cv.wait(lock, [&] { return g_->open; });
    TaskOutput out;
    out.data = "done:" + in.data;
    out.mime_type = "text/plain";
    return out;
  }

 private:
  std::shared_ptr<Gate> g_;
};

class WorkerStubTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("tacc-stub-test-" + std::to_string(getpid()));
    std::filesystem::remove_all(dir_);
    auto key = ClusterKey::CreateFile((dir_ / "cluster.key").string());
    ASSERT_TRUE(key.ok());
    auto c = Config::Load("", {"cluster.name=stubtest" + std::to_string(getpid()), "cluster.key_file=" + (dir_ / "cluster.key").string(),
                               "beacon.port=" + std::to_string(30000 + getpid() % 20000), "worker.report_ms=20", "worker.max_queue=2",
                               "worker.drain_grace_ms=0"});
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    config_ = *c;
    auto auth = wire::LoadClusterAuth(config_);
    ASSERT_TRUE(auth.ok());
    auth_ = *auth;
    gate_ = std::make_shared<GateWorker::Gate>();
  }
  void TearDown() override {
    Release();
    if (stub_) asio::post(stub_ctx_, [this] { stub_->Stop(); });
    if (stub_thread_.joinable()) stub_thread_.join();
    stub_.reset();
    std::filesystem::remove_all(dir_);
  }

  void StartStub(std::optional<wire::Endpoint> manager) {
    stub_ = std::make_unique<WorkerStub>(stub_ctx_, config_, "test", "tok-1", std::make_unique<GateWorker>(gate_));
    if (manager) stub_->SetInitialManager(*manager);
    ASSERT_TRUE(stub_->Start().ok());
    stub_thread_ = std::thread([this] { stub_ctx_.run(); });
  }
  void Release() {
    std::lock_guard lock(gate_->mu);
    gate_->open = true;
    gate_->cv.notify_all();
  }
  wire::Endpoint StubEndpoint() const {
    wire::Endpoint e;
    e.set_host("127.0.0.1");
    e.set_port(stub_->port());
    return e;
  }

  std::filesystem::path dir_;
  Config config_;
  wire::ClusterAuthPtr auth_;
  std::shared_ptr<GateWorker::Gate> gate_;
  asio::io_context stub_ctx_{1};
  std::unique_ptr<WorkerStub> stub_;
  std::thread stub_thread_;
  asio::io_context ctx_;
};

TEST_F(WorkerStubTest, RegistersReportsAndDeregistersWhenDrained) {
  tcp::acceptor acceptor(ctx_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  wire::Endpoint m;
  m.set_host("127.0.0.1");
  m.set_port(acceptor.local_endpoint().port());
  StartStub(m);
  RunCoroutine(ctx_, [&]() -> asio::awaitable<void> {
    auto [ec, s] = co_await acceptor.async_accept(kTuple);
    CO_ASSERT_TRUE(!ec);
    auto conn = co_await wire::Accept(std::move(s), wire::ClusterConnectionOptions(config_, auth_, "stub"));
    CO_ASSERT_TRUE(conn.ok());
    std::vector<wire::Envelope> got;
    Event registered(ctx_.get_executor()), reports(ctx_.get_executor()), deregistered(ctx_.get_executor());
    int nreports = 0;
    (*conn)->Start(
        [&](const wire::Connection::Ptr& c, wire::Envelope&& e) {
          if (e.has_register_worker()) {
            got.push_back(e);
            wire::Envelope ack;
            ack.mutable_register_ack()->set_epoch(42);
            c->Reply(e, std::move(ack));
            registered.Set();
          } else if (e.has_load_report()) {
            if (++nreports == 3) reports.Set();
          } else if (e.has_deregister()) {
            deregistered.Set();
          }
        },
        [](const wire::Connection::Ptr&, const Status&) {});
    CO_ASSERT_TRUE(co_await registered.Wait(2s));
    auto& r = got[0].register_worker();
    EXPECT_EQ(r.worker_class(), "test");
    EXPECT_EQ(r.spawn_token(), "tok-1");
    EXPECT_EQ(r.address().port(), stub_->port());
    EXPECT_EQ(r.id(), "test@127.0.0.1:" + std::to_string(stub_->port()));
    EXPECT_TRUE(co_await reports.Wait(2s)) << "load reports every worker.report_ms";
    // The manager reaps it: it finishes (nothing queued), deregisters, and stops.
    wire::Envelope drain;
    drain.mutable_drain();
    (*conn)->Send(drain);
    EXPECT_TRUE(co_await deregistered.Wait(3s));
    (*conn)->Close(Status::Cancelled("done"));
  });
  stub_thread_.join();  // the stub stopped its own io_context after draining
}

TEST_F(WorkerStubTest, QueueBeyondMaxIsRefusedAsOverloadedAndQueuedTasksFinish) {
  StartStub(std::nullopt);
  RunCoroutine(ctx_, [&]() -> asio::awaitable<void> {
    auto conn = co_await wire::Connect(StubEndpoint(), wire::ClusterConnectionOptions(config_, auth_, "fe"), 2s);
    CO_ASSERT_TRUE(conn.ok());
    auto c = *conn;
    c->Start([](const wire::Connection::Ptr&, wire::Envelope&&) {}, [](const wire::Connection::Ptr&, const Status&) {});
    auto task = [](const std::string& in) {
      wire::Envelope e;
      e.mutable_task()->set_worker_class("test");
      e.mutable_task()->set_input(in);
      return e;
    };
    std::vector<Result<wire::Envelope>> results(3, Status::Internal("pending"));
    int done = 0;
    Event all(ctx_.get_executor());
    for (int i = 0; i < 3; ++i) {
      asio::co_spawn(
          ctx_,
          [&, i]() -> asio::awaitable<void> {
            results[static_cast<size_t>(i)] = co_await c->Call(task("t" + std::to_string(i)), 3s);
            if (++done == 3) all.Set();
          },
          asio::detached);
      co_await Pause(30ms);  // in order: t0 runs, t1 waits, t2 finds the queue full
    }
    co_await Pause(50ms);
    EXPECT_FALSE(results[2].ok());
    EXPECT_EQ(results[2].status().kind(), ErrorKind::kOverloaded) << results[2].status().ToString();
    Release();
    CO_ASSERT_TRUE(co_await all.Wait(3s));
    EXPECT_TRUE(results[0].ok());
    EXPECT_TRUE(results[1].ok());
    if (results[1].ok()) {
      EXPECT_EQ(results[1]->task_result().output(), "done:t1");
    }
    // Each answer announces the load left behind it: t1 was still there when t0 was
    // answered, nothing when t1 was.
    if (results[0].ok() && results[1].ok()) {
      EXPECT_TRUE(results[0]->task_result().has_load());
      EXPECT_EQ(results[0]->task_result().load(), 1.0);
      EXPECT_EQ(results[1]->task_result().load(), 0.0);
    }
    c->Close(Status::Cancelled("done"));
  });
}

TEST_F(WorkerStubTest, TaskOfAnotherClassIsRefusedAsNotFound) {
  StartStub(std::nullopt);
  RunCoroutine(ctx_, [&]() -> asio::awaitable<void> {
    auto conn = co_await wire::Connect(StubEndpoint(), wire::ClusterConnectionOptions(config_, auth_, "fe"), 2s);
    CO_ASSERT_TRUE(conn.ok());
    auto c = *conn;
    c->Start([](const wire::Connection::Ptr&, wire::Envelope&&) {}, [](const wire::Connection::Ptr&, const Status&) {});
    wire::Envelope e;
    e.mutable_task()->set_worker_class("other");
    auto r = co_await c->Call(e, 2s);
    EXPECT_EQ(r.status().kind(), ErrorKind::kNotFound);
    c->Close(Status::Cancelled("done"));
  });
}

}  // namespace
}  // namespace tacc::sns
