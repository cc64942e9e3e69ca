// Tests runtime/lua/budget_hook.cpp through Coroutine: CPU kills that scripts cannot swallow,
// interrupt() from another thread, and budget accounting that skips time spent yielded.
#include <atomic>
#include <thread>

#include "lua_test_support.hpp"

namespace botfn::lua::test {
namespace {

constexpr auto kSmallBudget = 50ms;
// Generous: only proves the loop was stopped, not how promptly (the test machine is shared).
constexpr auto kKillDeadline = 3s;

int hostWait(lua_State* L) { return yieldToHost(L, "host.wait", 0); }

int hostNowMs(lua_State* L) {
  const auto now = std::chrono::steady_clock::now().time_since_epoch();
  lua_pushnumber(L, static_cast<lua_Number>(
                        std::chrono::duration_cast<std::chrono::milliseconds>(now).count()));
  return 1;
}

int hostBlock(lua_State* L) {
  const ArgReader args(L, "host.block");
  const auto ms = args.integer(1, "ms");
  BudgetPause pause(L);
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return 0;
}

constexpr luaL_Reg kHost[] = {
    {"wait", hostWait}, {"now_ms", hostNowMs}, {"block", hostBlock}, {nullptr, nullptr}};

void expectKilled(TestVm& t, const char* code) {
  const auto start = std::chrono::steady_clock::now();
  RunOutcome outcome = t.run(code, kSmallBudget);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(outcome.status, RunStatus::Killed) << code << "\n" << outcome.message;
  EXPECT_EQ(outcome.message, "sandbox: CPU budget exceeded") << code;
  EXPECT_LT(elapsed, kKillDeadline) << code;
  EXPECT_GE(t.coroutine().cpuUsed(), kSmallBudget) << code;
}

LUA_TEST(BudgetHook, InfiniteLoopIsKilled) {
  TestVm t;
  expectKilled(t, "while true do end");
  expectKilled(t, "for i = 1, 1e12 do end");
  expectKilled(t, "local x = 0 for i = 1, 1e12 do x = x + i % 7 end");
}

LUA_TEST(BudgetHook, KillCannotBeSwallowed) {
  TestVm t;
  expectKilled(t, "while true do pcall(function() while true do end end) end");
  expectKilled(t,
               "while true do xpcall(function() while true do end end, "
               "function() return 'swallowed' end) end");
  expectKilled(t,
               "while true do coroutine.resume(coroutine.create(function() "
               "while true do end end)) end");
  expectKilled(t, "coroutine.wrap(function() while true do end end)()");
  expectKilled(t, "local function f() return f() end return f()");
  expectKilled(t, "table.sort({3, 2, 1}, function(a, b) while true do end end)");
  expectKilled(t, "while true do local s = string.rep('x', 1e5) end");
  expectKilled(
      t, "while true do pcall(string.gsub, 'aaa', 'a', function() while true do end end) end");
}

LUA_TEST(BudgetHook, VmRunsAgainAfterAKill) {
  TestVm t;
  expectKilled(t, "while true do end");
  EXPECT_EQ(t.eval("return 1 + 1"), "2");
  EXPECT_FALSE(t.vm().needsRecycle());
}

LUA_TEST(BudgetHook, InterruptFromAnotherThreadStopsTheRun) {
  TestVm t;
  std::atomic<bool> stop{false};
  std::thread watchdog([&] {
    std::this_thread::sleep_for(100ms);
    while (!stop.load()) {  // repeat: an interrupt before the run starts is not kept
      t.vm().interrupt();
      std::this_thread::sleep_for(10ms);
    }
  });
  RunOutcome outcome = t.run("while true do pcall(function() while true do end end) end", 60s);
  stop = true;
  watchdog.join();
  EXPECT_EQ(outcome.status, RunStatus::Killed);
  EXPECT_EQ(outcome.message, "sandbox: run interrupted");
}

LUA_TEST(BudgetHook, TimeSpentYieldedIsNotCharged) {
  TestVm t;
  ASSERT_TRUE(t.vm().registerModule("host", kHost));
  RunOutcome outcome = t.run(R"(
    local x = 0
    for i = 1, 1000 do x = x + i end
    host.wait()
    return x
  )",
                             100ms);
  ASSERT_EQ(outcome.status, RunStatus::Yielded) << outcome.message;
  std::this_thread::sleep_for(300ms);
  outcome = t.coroutine().resume();
  ASSERT_EQ(outcome.status, RunStatus::Finished) << outcome.message;
  EXPECT_EQ(t.result(1), "500500");
  EXPECT_LT(t.coroutine().cpuUsed(), 100ms);
}

LUA_TEST(BudgetHook, BudgetAccumulatesAcrossResumes) {
  TestVm t;
  ASSERT_TRUE(t.vm().registerModule("host", kHost));
  RunOutcome outcome = t.run(R"(
    local function busy(ms) local t0 = host.now_ms() while host.now_ms() - t0 < ms do end end
    busy(120)
    host.wait()
    busy(120)
    return "not reached"
  )",
                             200ms);
  ASSERT_EQ(outcome.status, RunStatus::Yielded) << outcome.message;
  EXPECT_GE(t.coroutine().cpuUsed(), 100ms);
  outcome = t.coroutine().resume();
  EXPECT_EQ(outcome.status, RunStatus::Killed) << outcome.message;
}

LUA_TEST(BudgetHook, BudgetPauseExcludesBlockingHostWork) {
  TestVm t;
  ASSERT_TRUE(t.vm().registerModule("host", kHost));
  RunOutcome outcome = t.run("host.block(300) return 'ok'", 100ms);
  ASSERT_EQ(outcome.status, RunStatus::Finished) << outcome.message;
  EXPECT_LT(t.coroutine().cpuUsed(), 100ms);
}

LUA_TEST(BudgetHook, KilledOutcomeCarriesATraceback) {
  TestVm t;
  RunOutcome outcome =
      t.run("local function spin()\n while true do end\nend\nspin()", kSmallBudget);
  ASSERT_EQ(outcome.status, RunStatus::Killed);
  EXPECT_NE(outcome.traceback.find("test:2"), std::string::npos) << outcome.traceback;
}

}  // namespace
}  // namespace botfn::lua::test
