// The built-in "test" worker's fault injection is off unless its class allows it.
#include <gtest/gtest.h>

#include "sns/worker_registry.h"

namespace tacc::sns {
namespace {

WorkerFunctionPtr MakeTestWorker(std::map<std::string, std::string> args) {
  const WorkerEntry* e = FindWorkerImpl("test");
  EXPECT_NE(e, nullptr);
  auto fn = e->factory(args);
  EXPECT_TRUE(fn.ok()) << fn.status().ToString();
  return fn.ok() ? std::move(*fn) : nullptr;
}

TaskInput Task(std::map<std::string, std::string> args) {
  TaskInput in;
  in.args = std::move(args);
  in.args["cost_ms"] = "0";
  return in;
}

// Regression: any client could crash a worker with ?crash=1 in a URL.
TEST(TestWorkerTest, FaultInjectionIsRefusedByDefault) {
  auto w = MakeTestWorker({});
  ASSERT_TRUE(w);
  auto crash = w->Process(Task({{"crash", "1"}}));  // would abort the test process
  ASSERT_FALSE(crash.ok());
  EXPECT_EQ(crash.status().kind(), ErrorKind::kInvalidArgument);
  EXPECT_NE(crash.status().message().find("allow_faults"), std::string::npos) << crash.status().message();
  auto fail = w->Process(Task({{"fail", "1"}}));
  EXPECT_EQ(fail.status().kind(), ErrorKind::kInvalidArgument);
  // A task can't switch it on for itself.
  EXPECT_EQ(w->Process(Task({{"fail", "1"}, {"allow_faults", "true"}})).status().kind(), ErrorKind::kInvalidArgument);
  EXPECT_TRUE(w->Process(Task({})).ok());
}

TEST(TestWorkerTest, FaultInjectionWorksWhereTheClassAllowsIt) {
  auto w = MakeTestWorker({{"allow_faults", "true"}});
  ASSERT_TRUE(w);
  EXPECT_EQ(w->Process(Task({{"fail", "1"}})).status().kind(), ErrorKind::kWorkerError);
  EXPECT_DEATH((void)w->Process(Task({{"crash", "1"}})), "");
}

TEST(TestWorkerTest, AllowFaultsMustBeABoolean) {
  const WorkerEntry* e = FindWorkerImpl("test");
  ASSERT_NE(e, nullptr);
  auto fn = e->factory({{"allow_faults", "yes please"}});
  ASSERT_FALSE(fn.ok());
  EXPECT_EQ(fn.status().kind(), ErrorKind::kInvalidArgument);
}

}  // namespace
}  // namespace tacc::sns
