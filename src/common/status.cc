#include "common/status.h"

namespace tacc {

std::string_view ErrorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kOk: return "ok";
    case ErrorKind::kInvalidArgument: return "invalid_argument";
    case ErrorKind::kNotFound: return "not_found";
    case ErrorKind::kUnavailable: return "unavailable";
    case ErrorKind::kTimeout: return "timeout";
    case ErrorKind::kOverloaded: return "overloaded";
    case ErrorKind::kCrashed: return "crashed";
    case ErrorKind::kProtocol: return "protocol";
    case ErrorKind::kInternal: return "internal";
    case ErrorKind::kWorkerError: return "worker_error";
    case ErrorKind::kCancelled: return "cancelled";
    case ErrorKind::kForbidden: return "forbidden";
  }
  return "unknown";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  std::string s(ErrorKindName(kind_));
  if (!message_.empty()) s += ": " + message_;
  return s;
}

}  // namespace tacc
