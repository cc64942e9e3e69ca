// Issue 7 item 12: a VM that hit its memory cap was replaced only once no run was suspended on
// it, so while any handler waited on http.request every later update kept running on the full
// VM. Now it is replaced at once; runs suspended on it finish there (the VM closes after the
// last), and if a second recycle comes first, they fail cleanly with lua_out_of_memory.
#include <gtest/gtest.h>

#include "lua_app_fixture.hpp"

namespace botfn::lua::testing {
namespace {

constexpr const char* kMain = R"LUA(
local bot = require("bot")
local app = bot.app({ http_hosts = { "127.0.0.1" } })
app:command("wait", function(ctx)
  local res, err = http.request({ url = "http://127.0.0.1/slow" })
  ctx:reply("waited " .. (res and res.body or err))
end)
app:command("hog", function(ctx)
  local t = {}
  for i = 1, 1e9 do t[i] = string.rep("x", 4096) .. i end
end)
app:command("ping", function(ctx) ctx:reply("pong") end)
return app
)LUA";

class VmRecycledWhileRunsSuspendedTest : public LuaAppFixture {
 protected:
  void SetUp() override { start(kMain, {}, size_t{16} << 20); }

  uint64_t recycled() { return metrics_.counterValue("botfn_lua_vm_recycled_total"); }

  void hitTheCap() {
    auto hog = run(message(9, "/hog"));
    ASSERT_FALSE(hog.ok);
    EXPECT_EQ(hog.error.code, ErrorCode::LuaOutOfMemory) << hog.error.describe();
  }
};

TEST_F(VmRecycledWhileRunsSuspendedTest, SuspendedRunFinishesOnTheOldVm) {
  auto waiting = runAsync(message(1, "/wait"));
  ASSERT_TRUE(http_.waitHeld(1));
  hitTheCap();

  auto ping = run(message(2, "/ping"));
  ASSERT_TRUE(ping.ok) << ping.error.describe();
  EXPECT_EQ(recycled(), 1u) << "the full VM must be replaced although a run is suspended on it";

  ASSERT_TRUE(http_.complete("ok"));
  ASSERT_EQ(waiting.wait_for(std::chrono::seconds(60)), std::future_status::ready);
  const auto& out = waiting.get();
  ASSERT_TRUE(out.ok) << out.error.describe();
  EXPECT_EQ(replyText(out), "waited ok");
  EXPECT_TRUE(run(message(2, "/ping")).ok);
}

TEST_F(VmRecycledWhileRunsSuspendedTest, SecondRecycleFailsTheOldestVmsRunsCleanly) {
  auto first = runAsync(message(1, "/wait"));
  ASSERT_TRUE(http_.waitHeld(1));
  hitTheCap();  // the first VM drains
  auto second = runAsync(message(2, "/wait"));
  ASSERT_TRUE(http_.waitHeld(2));
  hitTheCap();  // the second VM drains: the first one's run is failed and the VM closed
  auto ping = run(message(3, "/ping"));
  ASSERT_TRUE(ping.ok) << ping.error.describe();
  EXPECT_EQ(recycled(), 2u);

  ASSERT_EQ(first.wait_for(std::chrono::seconds(60)), std::future_status::ready);
  EXPECT_FALSE(first.get().ok);
  EXPECT_EQ(first.get().error.code, ErrorCode::LuaOutOfMemory) << first.get().error.describe();

  ASSERT_TRUE(http_.complete("late"));  // the failed run's answer is dropped
  ASSERT_TRUE(http_.complete("ok"));
  ASSERT_EQ(second.wait_for(std::chrono::seconds(60)), std::future_status::ready);
  ASSERT_TRUE(second.get().ok) << second.get().error.describe();
  EXPECT_EQ(replyText(second.get()), "waited ok");
}

}  // namespace
}  // namespace botfn::lua::testing
