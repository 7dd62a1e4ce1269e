// WorkerFunction: the narrow interface between the SNS layer and worker code (§2.2.5).
//
// A worker is a plain function from (input, arguments, profile) to output. It runs on
// one thread of its own inside a `tacc worker` process, so it need not be thread-safe,
// and it may crash: only its own process dies and the stubs mask the failure. It knows
// nothing of the cluster: queueing, load reports, retries live in the worker stub.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace tacc::sns {

struct TaskInput {
  std::string data;
  std::string mime_type;
  std::map<std::string, std::string> args;     // per-task arguments (from the service)
  std::map<std::string, std::string> profile;  // the user's preferences
  bool handed_off = false;  // another worker's stub handed this task on (it cannot be again)
};

// A result a worker offers the virtual cache besides its answer (paper §3.1.5): what
// the same task would have produced with `args` changed as given (e.g. a distiller that
// makes several sizes in one pass). The service decides whether and where to keep it.
struct CacheInjection {
  std::map<std::string, std::string> args;
  std::string mime_type;
  std::string data;
};

// Instead of an answer, a worker may hand its task on to another class (paper §3.1.6:
// the HTML munger passing big pages to a faster parser). Its stub, not the worker, makes
// the call: the same input, with `args` laid over the task's, goes to a worker of
// `worker_class` (which must be in the class's handoff_to), and that worker's answer is
// this task's answer. A task that was handed on once cannot be handed on again.
struct Handoff {
  std::string worker_class;
  std::map<std::string, std::string> args;
};

struct TaskOutput {
  std::string data;
  std::string mime_type;
  std::map<std::string, std::string> meta;  // e.g. what was done, for headers and logs
  std::vector<CacheInjection> injections;
  std::optional<Handoff> handoff;  // set: data, mime_type and injections are ignored
};

class WorkerFunction {
 public:
  virtual ~WorkerFunction() = default;
  // Transforms one input. A non-ok result is reported to the caller (no retry for
  // kWorkerError / kInvalidArgument: the input itself is at fault).
  virtual Result<TaskOutput> Process(const TaskInput& input) = 0;
};

using WorkerFunctionPtr = std::unique_ptr<WorkerFunction>;

}  // namespace tacc::sns
