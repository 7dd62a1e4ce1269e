#include "common/status.h"

#include <gtest/gtest.h>

#include <memory>

namespace tacc {
namespace {

TEST(StatusTest, OkByDefault) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.kind(), ErrorKind::kOk);
  EXPECT_EQ(s.ToString(), "ok");
  EXPECT_TRUE(Status::Ok().ok());
}

TEST(StatusTest, NamedConstructorsSetTheKind) {
  struct Case {
    Status s;
    ErrorKind kind;
    std::string_view name;
  };
  for (auto& c :
       {Case{Status::InvalidArgument("m"), ErrorKind::kInvalidArgument, "invalid_argument"},
        Case{Status::NotFound("m"), ErrorKind::kNotFound, "not_found"},
        Case{Status::Unavailable("m"), ErrorKind::kUnavailable, "unavailable"}, Case{Status::Timeout("m"), ErrorKind::kTimeout, "timeout"},
        Case{Status::Overloaded("m"), ErrorKind::kOverloaded, "overloaded"}, Case{Status::Crashed("m"), ErrorKind::kCrashed, "crashed"},
        Case{Status::Protocol("m"), ErrorKind::kProtocol, "protocol"}, Case{Status::Internal("m"), ErrorKind::kInternal, "internal"},
        Case{Status::WorkerError("m"), ErrorKind::kWorkerError, "worker_error"},
        Case{Status::Cancelled("m"), ErrorKind::kCancelled, "cancelled"}}) {
    EXPECT_FALSE(c.s.ok());
    EXPECT_EQ(c.s.kind(), c.kind);
    EXPECT_EQ(ErrorKindName(c.kind), c.name);
    EXPECT_EQ(c.s.ToString(), std::string(c.name) + ": m");
  }
  EXPECT_EQ(Status::Timeout("").ToString(), "timeout");
  EXPECT_EQ(ErrorKindName(static_cast<ErrorKind>(77)), "unknown");
}

TEST(ResultTest, HoldsAValueOrAnError) {
  Result<std::string> v = std::string("x");
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(static_cast<bool>(v));
  EXPECT_EQ(*v, "x");
  EXPECT_EQ(v->size(), 1u);
  EXPECT_TRUE(v.status().ok());

  Result<std::string> e = Status::NotFound("gone");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().kind(), ErrorKind::kNotFound);
  EXPECT_EQ(e.status().message(), "gone");
}

TEST(ResultTest, MovesOutMoveOnlyValues) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(7);
  ASSERT_TRUE(r.ok());
  std::unique_ptr<int> p = std::move(r).value();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 7);
}

}  // namespace
}  // namespace tacc
