// Issue 7 item 11: a value one chat's handler stored in a global or in a module's table was
// visible to the next chat's handler on the same VM. Now everything an app built while loading
// is read-only afterwards: such writes fail the update that tried them, with a clear error,
// and the next chat reads what the app was loaded with.
#include <gtest/gtest.h>

#include "lua_app_fixture.hpp"

namespace botfn::lua::testing {
namespace {

constexpr const char* kMain = R"LUA(
local bot = require("bot")
local store = require("store")
local app = bot.app()
config = { greeting = "hi", items = { "a", "b" } }  -- a load-time global

app:command("write_global", function(ctx, args) secret = args end)
app:command("write_loaded_global", function(ctx, args) config.greeting = args end)
app:command("write_module", function(ctx, args) store.secret = args end)
app:command("write_nested", function(ctx, args) store.by_chat[ctx.chat_id] = args end)
app:command("write_via_require", function(ctx, args) require("store").secret = args end)
app:command("write_app", function(ctx, args) app.secret = args end)
app:command("insert", function(ctx, args) table.insert(config.items, args) end)
app:command("rawset", function(ctx, args) rawset(store, "secret", args) end)
app:command("read", function(ctx)
  local n = 0
  for _ in pairs(store.by_chat) do n = n + 1 end
  ctx:reply(table.concat({ tostring(secret), tostring(store.secret), tostring(app.secret),
    config.greeting, #config.items, tostring(store.note()), n }, " "))
end)
-- What stays allowed: locals, ctx.data, tables made during the update, reading modules.
app:command("allowed", function(ctx, args)
  local mine = { args }
  mine.more = store.prefix .. args
  ctx.data.last = args
  local keys = {}
  for k in pairs(store) do keys[#keys + 1] = k end
  table.sort(keys)
  ctx:reply(mine.more .. " " .. #config.items .. " " .. table.concat(keys, ","))
end)
return app
)LUA";

constexpr const char* kStore = R"LUA(
local M = { prefix = "p:", by_chat = {} }
function M.note() return M.secret end
return M
)LUA";

class GlobalsLeakBetweenChatsTest : public LuaAppFixture {
 protected:
  void SetUp() override { start(kMain, {{"store.lua", kStore}}); }

  // Chat 1 tries the write; the update fails naming what was refused. Chat 2 sees nothing.
  void expectRefused(const std::string& command, const std::string& error) {
    auto write = run(message(1, "/" + command + " chat-1-secret"));
    EXPECT_FALSE(write.ok) << command;
    EXPECT_NE(write.error.detail.find(error), std::string::npos) << write.error.detail;
    EXPECT_NE(write.error.detail.find("apps/t/main.lua:"), std::string::npos)
        << "the error names the line of the write: " << write.error.detail;
    auto read = run(message(2, "/read"));
    ASSERT_TRUE(read.ok) << read.error.describe();
    EXPECT_EQ(replyText(read), "nil nil nil hi 2 nil 0") << "after /" << command;
  }
};

TEST_F(GlobalsLeakBetweenChatsTest, GlobalWriteIsRefused) {
  expectRefused("write_global", "attempt to set global 'secret'");
}

TEST_F(GlobalsLeakBetweenChatsTest, WriteIntoALoadTimeGlobalTableIsRefused) {
  expectRefused("write_loaded_global", "attempt to modify global 'config' (read-only)");
}

TEST_F(GlobalsLeakBetweenChatsTest, ModuleFieldWriteIsRefused) {
  expectRefused("write_module", "attempt to modify module 'store' (read-only): field 'secret'");
  expectRefused("write_via_require", "attempt to modify module 'store' (read-only)");
  expectRefused("rawset", "rawset: table is read-only");
}

TEST_F(GlobalsLeakBetweenChatsTest, NestedModuleTableWriteIsRefused) {
  expectRefused("write_nested", "attempt to modify module 'store' (read-only): field '1'");
}

TEST_F(GlobalsLeakBetweenChatsTest, AppTableAndArraysAreReadOnly) {
  expectRefused("write_app", "(read-only): field 'secret'");
  expectRefused("insert", "table.insert: table is read-only");
}

TEST_F(GlobalsLeakBetweenChatsTest, LocalsCtxDataAndReadingModulesStillWork) {
  for (int chat : {1, 2}) {
    auto out = run(message(chat, "/allowed x" + std::to_string(chat)));
    ASSERT_TRUE(out.ok) << out.error.describe();
    EXPECT_EQ(replyText(out), "p:x" + std::to_string(chat) + " 2 by_chat,note,prefix");
    EXPECT_EQ(out.effects.data_json, R"({"last":"x)" + std::to_string(chat) + R"("})");
  }
}

}  // namespace
}  // namespace botfn::lua::testing
