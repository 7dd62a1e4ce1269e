// Status and Result<T>: errors as values on the request path.
//
// Every fallible call in tacc returns a Status (or a Result<T> holding either a value or
// a non-ok Status). Exceptions never cross a coroutine boundary or a socket; the error
// kinds below are the vocabulary every layer shares (the wire protocol carries them too).
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace tacc {

enum class ErrorKind : int {
  kOk = 0,
  kInvalidArgument = 1,  // caller sent something malformed or out of range
  kNotFound = 2,         // no such thing (e.g. unknown worker class)
  kUnavailable = 3,      // peer down, connection refused or broken
  kTimeout = 4,          // deadline passed before an answer
  kOverloaded = 5,       // queue full; try elsewhere
  kCrashed = 6,          // the worker died while running the task
  kProtocol = 7,         // peer spoke garbage
  kInternal = 8,         // a bug or an unexpected system error
  kWorkerError = 9,      // worker function reported failure for this input
  kCancelled = 10,       // shutting down
  kForbidden = 11,       // refused by policy (a destination or client the settings do not allow)
};

std::string_view ErrorKindName(ErrorKind kind);

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Ok() { return {}; }
  static Status InvalidArgument(std::string m) { return {ErrorKind::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {ErrorKind::kNotFound, std::move(m)}; }
  static Status Unavailable(std::string m) { return {ErrorKind::kUnavailable, std::move(m)}; }
  static Status Timeout(std::string m) { return {ErrorKind::kTimeout, std::move(m)}; }
  static Status Overloaded(std::string m) { return {ErrorKind::kOverloaded, std::move(m)}; }
  static Status Crashed(std::string m) { return {ErrorKind::kCrashed, std::move(m)}; }
  static Status Protocol(std::string m) { return {ErrorKind::kProtocol, std::move(m)}; }
  static Status Internal(std::string m) { return {ErrorKind::kInternal, std::move(m)}; }
  static Status WorkerError(std::string m) { return {ErrorKind::kWorkerError, std::move(m)}; }
  static Status Cancelled(std::string m) { return {ErrorKind::kCancelled, std::move(m)}; }
  static Status Forbidden(std::string m) { return {ErrorKind::kForbidden, std::move(m)}; }

  Status(ErrorKind kind, std::string message) : kind_(kind), message_(std::move(message)) {}

  bool ok() const { return kind_ == ErrorKind::kOk; }
  ErrorKind kind() const { return kind_; }
  const std::string& message() const { return message_; }
  // "timeout: worker 3 did not answer within 2000 ms"
  std::string ToString() const;

 private:
  ErrorKind kind_ = ErrorKind::kOk;
  std::string message_;
};

// Either a T or a non-ok Status. Cheap to move; value() asserts ok().
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) { assert(!std::get<Status>(v_).ok()); }  // NOLINT

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  const T& value() const& { return std::get<T>(v_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace tacc
