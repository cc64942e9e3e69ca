// The retry policy over every row of errors.def: each retry class gives its number of runs, a
// storage fault waits with capped backoff and never dead-letters, and the codes the issue names
// (syntax error, sandbox violation, CPU budget kill, storage faults) land in the right class.
#include "flow/retry_policy.hpp"

#include <gtest/gtest.h>

namespace botfn::flow {
namespace {

using std::chrono::milliseconds;

RetryOptions options() {
  RetryOptions o;
  o.delays = {milliseconds(10), milliseconds(20), milliseconds(30)};
  o.storage_min = milliseconds(100);
  o.storage_max = milliseconds(1000);
  return o;
}

// Runs until the policy dead-letters (0 when it never does within 50 runs).
int runsUntilDeadLetter(ErrorCode code, const RetryOptions& o) {
  for (int runs = 1; runs <= 50; ++runs) {
    const auto d = decideRetry(Error{code, ""}, runs, 0, o);
    if (d.action == RetryAction::DeadLetter) return runs;
  }
  return 0;
}

TEST(RetryPolicyTest, EveryCodeFollowsItsRetryClass) {
  const auto o = options();
  size_t n = 0;
  const ErrorInfo* all = allErrors(&n);
  ASSERT_GT(n, 30u);
  for (size_t i = 0; i < n; ++i) {
    const auto& e = all[i];
    SCOPED_TRACE(std::string(e.name));
    EXPECT_NE(retryClassName(e.retry), "?");
    switch (e.retry) {
      case RetryClass::None:
      case RetryClass::Fatal:
        EXPECT_EQ(runsUntilDeadLetter(e.code, o), 1);
        break;
      case RetryClass::Once: {
        EXPECT_EQ(runsUntilDeadLetter(e.code, o), 2);
        const auto d = decideRetry(Error{e.code, ""}, 1, 0, o);
        EXPECT_EQ(d.action, RetryAction::RunAgain);
        EXPECT_EQ(d.delay, milliseconds(10));
        break;
      }
      case RetryClass::Transient:
        EXPECT_EQ(runsUntilDeadLetter(e.code, o), 4);
        for (int runs = 1; runs <= 3; ++runs) {
          const auto d = decideRetry(Error{e.code, ""}, runs, 0, o);
          EXPECT_EQ(d.action, RetryAction::RunAgain);
          EXPECT_EQ(d.delay, o.delays[static_cast<size_t>(runs) - 1]);
        }
        break;
      case RetryClass::Storage:
        EXPECT_EQ(runsUntilDeadLetter(e.code, o), 0);
        EXPECT_TRUE((Error{e.code, ""}.isStorageFault()));
        for (int waits = 0; waits < 40; ++waits) {
          const auto d = decideRetry(Error{e.code, ""}, 1, waits, o);
          EXPECT_EQ(d.action, RetryAction::WaitForStorage);
          EXPECT_GE(d.delay, o.storage_min);
          EXPECT_LE(d.delay, o.storage_max);
        }
        break;
    }
  }
}

TEST(RetryPolicyTest, TheIssuesCodesAreInTheirClasses) {
  EXPECT_EQ(errorInfo(ErrorCode::LuaSyntax).retry, RetryClass::None);
  EXPECT_EQ(errorInfo(ErrorCode::LuaSandbox).retry, RetryClass::None);
  EXPECT_EQ(errorInfo(ErrorCode::LuaKilled).retry, RetryClass::Once);
  EXPECT_EQ(errorInfo(ErrorCode::LuaOutOfMemory).retry, RetryClass::Once);
  EXPECT_EQ(errorInfo(ErrorCode::LuaRuntime).retry, RetryClass::Transient);
  EXPECT_EQ(errorInfo(ErrorCode::Internal).retry, RetryClass::Transient);
  EXPECT_EQ(errorInfo(ErrorCode::SqlError).retry, RetryClass::Transient);  // the app's statement
  for (auto code : {ErrorCode::StorageFull, ErrorCode::StorageBusy, ErrorCode::StorageIo,
                    ErrorCode::StorageUnavailable, ErrorCode::StorageRead}) {
    EXPECT_EQ(errorInfo(code).retry, RetryClass::Storage) << errorInfo(code).name;
  }
}

TEST(RetryPolicyTest, StorageWaitsDoubleUpToTheCap) {
  const auto o = options();
  const Error busy{ErrorCode::StorageBusy, ""};
  EXPECT_EQ(decideRetry(busy, 1, 0, o).delay, milliseconds(100));
  EXPECT_EQ(decideRetry(busy, 1, 1, o).delay, milliseconds(200));
  EXPECT_EQ(decideRetry(busy, 1, 3, o).delay, milliseconds(800));
  EXPECT_EQ(decideRetry(busy, 1, 4, o).delay, milliseconds(1000));
  EXPECT_EQ(decideRetry(busy, 1, 1000, o).delay, milliseconds(1000));
  // The handler's own runs do not matter: storage waits are never counted against them.
  EXPECT_EQ(decideRetry(busy, 99, 0, o).action, RetryAction::WaitForStorage);
}

TEST(RetryPolicyTest, NoRetryDelaysMeansNoRetries) {
  RetryOptions o = options();
  o.delays.clear();
  EXPECT_EQ(runsUntilDeadLetter(ErrorCode::LuaRuntime, o), 1);
  EXPECT_EQ(runsUntilDeadLetter(ErrorCode::LuaKilled, o), 1);
  EXPECT_EQ(maxRuns(RetryClass::Storage, o), 0);
}

}  // namespace
}  // namespace botfn::flow
