// Tests runtime/lua/binding.cpp and binding.hpp: wrap<> turns C++ exceptions into Lua errors,
// Lua errors unwind C++ frames cleanly, ArgReader messages, host context and hidden metatables.
#include <stdexcept>

#include "lua_test_support.hpp"

namespace botfn::lua::test {
namespace {

int destroyed = 0;

struct CountsDestruction {
  ~CountsDestruction() { ++destroyed; }
};

int throwsStd(lua_State*) {
  CountsDestruction guard;
  throw std::runtime_error("db.query: connection refused");
}

int raisesLuaError(lua_State* L) {
  CountsDestruction guard;
  std::string local = "keeps heap memory";
  return raiseError(L, "kv.get: %s", "backend unavailable");
}

int reply(lua_State* L) {
  const ArgReader args(L, "ctx:reply", 1);
  const std::string_view text = args.string(1, "text");
  const auto delay = args.optInteger(2, "delay");
  lua_pushfstring(L, "%s/%d", std::string(text).c_str(), static_cast<int>(delay.value_or(-1)));
  return 1;
}

int checks(lua_State* L) {
  const ArgReader args(L, "util.checks");
  args.number(1, "n");
  args.boolean(2, "flag");
  args.table(3, "opts");
  args.function(4, "cb");
  lua_pushinteger(L, args.count());
  return 1;
}

int context(lua_State* L) {
  lua_pushstring(L, hostContextAs<std::string>(L)->c_str());
  return 1;
}

int makeObject(lua_State* L) {
  lua_newuserdata(L, 1);
  if (newHiddenMetatable(L, "test.object")) {
    lua_pushstring(L, "object");
    lua_setfield(L, -2, "__name");
  }
  lua_setmetatable(L, -2);
  return 1;
}

constexpr luaL_Reg kFuncs[] = {{"throws_std", wrap<throwsStd>},
                               {"raises_lua", wrap<raisesLuaError>},
                               {"reply", wrap<reply>},
                               {"checks", wrap<checks>},
                               {"context", context},
                               {"object", makeObject},
                               {nullptr, nullptr}};

LUA_TEST(Binding, StdExceptionsBecomeLuaErrorsWithPosition) {
  TestVm t;
  ASSERT_TRUE(t.vm().registerModule("b", kFuncs));
  destroyed = 0;
  RunOutcome outcome = t.run("local x = 1\nb.throws_std()");
  EXPECT_EQ(outcome.status, RunStatus::Error);
  EXPECT_EQ(outcome.message, "test:2: db.query: connection refused");
  EXPECT_EQ(destroyed, 1);
  EXPECT_EQ(t.eval("local ok, e = pcall(b.throws_std) return e"),
            "test:1: db.query: connection refused");
}

LUA_TEST(Binding, LuaErrorsUnwindCppFrames) {
  TestVm t;
  ASSERT_TRUE(t.vm().registerModule("b", kFuncs));
  destroyed = 0;
  RunOutcome outcome = t.run("b.raises_lua()");
  EXPECT_EQ(outcome.message, "test:1: kv.get: backend unavailable");
  EXPECT_EQ(destroyed, 1);
}

LUA_TEST(Binding, ArgumentErrorsNameTheApiAndArgument) {
  TestVm t;
  ASSERT_TRUE(t.vm().registerModule("b", kFuncs));
  EXPECT_EQ(t.eval("local ctx = {reply = b.reply} return ctx:reply('hi', 3)"), "hi/3");
  EXPECT_EQ(t.eval("return b.reply(nil, 'hi')"), "hi/-1");
  EXPECT_EQ(t.run("local ctx = {reply = b.reply}\nctx:reply({})").message,
            "test:2: ctx:reply: bad argument #1 'text' (string expected, got table)");
  EXPECT_EQ(t.run("b.reply(nil)").message,
            "test:1: ctx:reply: bad argument #1 'text' (string expected, got no value)");
  EXPECT_EQ(t.run("b.reply(nil, 5)").message,
            "test:1: ctx:reply: bad argument #1 'text' (string expected, got number)");
  EXPECT_EQ(t.run("b.reply(nil, 'x', 1.5)").message,
            "test:1: ctx:reply: bad argument #2 'delay' (integer expected, got 1.5)");
  EXPECT_EQ(t.run("b.reply(nil, 'x', '2')").message,
            "test:1: ctx:reply: bad argument #2 'delay' (integer expected, got string)");
  EXPECT_EQ(t.eval("return b.checks(1, true, {}, print)"), "4");
  EXPECT_EQ(t.run("b.checks('1', true, {}, print)").message,
            "test:1: util.checks: bad argument #1 'n' (number expected, got string)");
  EXPECT_EQ(t.run("b.checks(1, nil, {}, print)").message,
            "test:1: util.checks: bad argument #2 'flag' (boolean expected, got nil)");
  EXPECT_EQ(t.run("b.checks(1, true, 'x', print)").message,
            "test:1: util.checks: bad argument #3 'opts' (table expected, got string)");
  EXPECT_EQ(t.run("b.checks(1, true, {}, {})").message,
            "test:1: util.checks: bad argument #4 'cb' (function expected, got table)");
}

LUA_TEST(Binding, HostContextIsThatOfTheRunningCoroutine) {
  TestVm t;
  ASSERT_TRUE(t.vm().registerModule("b", kFuncs));
  std::string first = "update 1";
  std::string second = "update 2";
  ASSERT_TRUE(t.run("return b.context()", 1s, &first).finished());
  EXPECT_EQ(t.result(1), "update 1");
  ASSERT_TRUE(t.run("return b.context()", 1s, &second).finished());
  EXPECT_EQ(t.result(1), "update 2");
}

LUA_TEST(Binding, HiddenMetatablesCannotBeReadOrReplaced) {
  TestVm t;
  ASSERT_TRUE(t.vm().registerModule("b", kFuncs));
  EXPECT_EQ(t.eval("return tostring(getmetatable(b.object()))"), "false");
  EXPECT_EQ(t.run("setmetatable(b.object(), nil)").status, RunStatus::Error);
}

}  // namespace
}  // namespace botfn::lua::test
