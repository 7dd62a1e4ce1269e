// Service: the request-handling logic a front end runs (paper §2.2.1: "the front end is
// analogous to an interactive shell" over worker pipelines).
//
// A service turns an HTTP request into tasks for worker classes through the
// TaskDispatcher (the manager stub), and decides what to answer when they fail (its
// fallback). Each front-end thread gets its own instance, so a service need not be
// thread-safe. Services register by name (TACC_REGISTER_SERVICE) and are chosen with
// frontend.service.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/config.h"
#include "http/server.h"
#include "sns/worker_function.h"

namespace tacc::sns {

// What happened while dispatching one task (for headers, logs and metrics).
struct DispatchInfo {
  std::string worker;   // id of the worker that answered
  int attempts = 0;     // workers tried
};

class TaskDispatcher {
 public:
  virtual ~TaskDispatcher() = default;
  // Runs one task on a worker of `worker_class`, retrying on other workers after a
  // timeout, overload or dead worker (stub.max_retries). NotFound for an undeclared
  // class; otherwise the last failure, for the service to fall back on.
  virtual boost::asio::awaitable<Result<TaskOutput>> Dispatch(const std::string& worker_class, TaskInput input,
                                                              std::chrono::steady_clock::time_point deadline,
                                                              DispatchInfo* info) = 0;
  // Mean queue length of the class's workers as the newest beacon tells it (§3.1.8:
  // a service may answer approximately rather than queue behind an overloaded class);
  // none if the class has no workers or nothing is known.
  virtual std::optional<double> ClassLoad(const std::string& worker_class) const = 0;
  // Ids of the live workers of the class in the newest beacon (e.g. cache partitions,
  // which a caller picks by key, not by load).
  virtual std::vector<std::string> WorkersOf(const std::string& worker_class) const = 0;
  // Runs one task on that very worker: no retry elsewhere (the caller chose it for what
  // it holds). Unavailable if it is not in the directory or cannot be reached.
  virtual boost::asio::awaitable<Result<TaskOutput>> DispatchTo(const std::string& worker_class, const std::string& worker_id, TaskInput input,
                                                                std::chrono::steady_clock::time_point deadline) = 0;
};

struct ServiceContext {
  TaskDispatcher& tasks;
  const Config& config;
  const http::RequestInfo& request_info;
};

class Service {
 public:
  virtual ~Service() = default;
  virtual boost::asio::awaitable<http::Reply> Handle(http::Request& request, ServiceContext& ctx) = 0;
  // The configuration was re-read (SIGHUP): take what may change without a restart
  // (e.g. dispatch rules). On error the service keeps its old settings. Called on the
  // service's own thread, between requests' steps like any handler code.
  virtual Status Reload(const Config& config) {
    (void)config;
    return Status::Ok();
  }
};

using ServiceFactory = std::function<Result<std::unique_ptr<Service>>(const Config&)>;

bool RegisterServiceImpl(const std::string& name, const std::string& description, ServiceFactory factory);
const ServiceFactory* FindService(const std::string& name);
std::vector<std::pair<std::string, std::string>> ListServices();  // name, description

}  // namespace tacc::sns

#define TACC_REGISTER_SERVICE(ident, name, description, factory) \
  static const bool tacc_service_registered_##ident = ::tacc::sns::RegisterServiceImpl(name, description, factory)
