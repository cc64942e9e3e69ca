// Issue 7 item 12: host functions that read a script's table (message options, http.request's
// request, t()'s vars) called its __index from C with no depth limit, so an __index that calls
// the same function again recursed on the C stack until the process crashed. Now each such
// read goes through the C-nesting guard: the update fails cleanly and the worker goes on.
#include <gtest/gtest.h>

#include "lua_app_fixture.hpp"

namespace botfn::lua::testing {
namespace {

constexpr const char* kMain = R"LUA(
local bot = require("bot")
local app = bot.app({ http_hosts = { "127.0.0.1" } })

local function recursive(call)
  local tbl
  tbl = setmetatable({}, { __index = function(_, key) return call(tbl) end })
  return tbl
end

app:command("reply", function(ctx)
  ctx:reply("hi", recursive(function(opts) return ctx:reply("again", opts) end))
end)
app:command("edit", function(ctx)
  ctx:edit(1, nil, recursive(function(opts) return ctx:edit(1, nil, opts) end))
end)
app:command("http", function(ctx)
  http.request(recursive(function(req) return http.request(req) end))
end)
app:command("t", function(ctx)
  ctx:reply(t("greet", recursive(function(vars) return t("greet", vars) end)))
end)
-- Caught errors must not use up the depth: the counter is given back as the error unwinds.
app:command("caught", function(ctx)
  local bad = setmetatable({}, { __index = function() error("no") end })
  for _ = 1, 500 do pcall(ctx.reply, ctx, "x", bad) end
  ctx:reply("still fine", { buttons = { { { text = "b", data = "d" } } } })
end)
app:command("ping", function(ctx) ctx:reply("pong") end)
return app
)LUA";

class RecursiveIndexInOptionsTest : public LuaAppFixture {
 protected:
  void SetUp() override { start(kMain, {{"i18n/en.lua", "return { greet = 'Hi {name}' }"}}); }

  void expectCleanFailure(const std::string& command, const std::string& api) {
    auto out = run(message(1, "/" + command));
    EXPECT_FALSE(out.ok) << command;
    EXPECT_NE(out.error.detail.find(api + ": sandbox: C stack nesting too deep"), std::string::npos)
        << out.error.detail;
    auto ping = run(message(2, "/ping"));
    ASSERT_TRUE(ping.ok) << ping.error.describe();
    EXPECT_EQ(replyText(ping), "pong");
  }
};

TEST_F(RecursiveIndexInOptionsTest, MessageOptions) { expectCleanFailure("reply", "ctx:reply"); }

TEST_F(RecursiveIndexInOptionsTest, MarkupOnlyOptions) { expectCleanFailure("edit", "ctx:edit"); }

TEST_F(RecursiveIndexInOptionsTest, HttpRequestArguments) {
  expectCleanFailure("http", "http.request");
}

TEST_F(RecursiveIndexInOptionsTest, TranslationVars) { expectCleanFailure("t", "t"); }

TEST_F(RecursiveIndexInOptionsTest, CaughtErrorsGiveTheDepthBack) {
  auto out = run(message(1, "/caught"));
  ASSERT_TRUE(out.ok) << out.error.describe();
  EXPECT_EQ(replyText(out), "still fine");
}

}  // namespace
}  // namespace botfn::lua::testing
