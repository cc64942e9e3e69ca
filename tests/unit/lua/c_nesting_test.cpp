// Tests runtime/lua/c_nesting.cpp and the prelude's guards: recursion through C functions that
// call back into Lua ends in a Lua error instead of a SIGSEGV (LUA_SANDBOX.md §3.5).
#include "lua_test_support.hpp"

namespace botfn::lua::test {
namespace {

int hostCall(lua_State* L) {
  const ArgReader args(L, "host.call");
  args.function(1, "fn");
  lua_settop(L, 1);
  protectedCallback(L, 0, 1, "host.call");
  return 1;
}

constexpr luaL_Reg kHost[] = {{"call", hostCall}, {nullptr, nullptr}};

void expectNestingError(TestVm& t, const char* code) {
  RunOutcome outcome = t.run(code);
  EXPECT_EQ(outcome.status, RunStatus::Error) << code;
  EXPECT_NE(outcome.message.find("C stack nesting too deep"), std::string::npos) << code << "\n"
                                                                                 << outcome.message;
}

LUA_TEST(CNesting, GsubCallbackRecursionIsAnError) {
  TestVm t;
  expectNestingError(t, "local function f(s) return (s:gsub('.', f)) end return f('ab')");
  expectNestingError(t, "local function f(s) return (string.gsub(s, '.', f)) end return f('a')");
  // Table replacement: __index runs from inside gsub.
  expectNestingError(t, R"(
    local t
    t = setmetatable({}, {__index = function(_, k) return (("x"):gsub("x", t)) end})
    return (("x"):gsub("x", t)))");
}

LUA_TEST(CNesting, SortComparatorRecursionIsAnError) {
  TestVm t;
  expectNestingError(t, R"(
    local function cmp(a, b) table.sort({3, 2, 1}, cmp) return a < b end
    table.sort({3, 2, 1}, cmp))");
}

LUA_TEST(CNesting, TostringAndFormatRecursionIsAnError) {
  TestVm t;
  expectNestingError(t, R"(
    local t = setmetatable({}, {__tostring = function(self) return string.format("%s", self) end})
    return tostring(t))");
  expectNestingError(t, R"(
    local t = setmetatable({}, {__tostring = function(self) return tostring(self) end})
    return ("%s"):format(t))");
  expectNestingError(t, R"(
    local t = setmetatable({}, {__tostring = function(self) print(self) return "" end})
    print(t))");
}

LUA_TEST(CNesting, CoroutineNestingIsAnError) {
  TestVm t;
  expectNestingError(t, "local function f() return coroutine.wrap(f)() end return f()");
  expectNestingError(t, R"(
    local function f()
      local ok, err = coroutine.resume(coroutine.create(f))
      if not ok then error(err, 0) end
    end
    f())");
}

LUA_TEST(CNesting, OsTimeIndexRecursionIsAnError) {
  TestVm t;
  expectNestingError(t, R"(
    local t
    t = setmetatable({}, {__index = function() return os.time(t) end})
    return os.time(t))");
}

LUA_TEST(CNesting, LuaLevelRecursionEndsInStackOverflow) {
  TestVm t;
  for (const char* code : {
           "local function f() return 1 + f() end return f()",
           "local function f() return load(function() f() return nil end) end return f()",
           "local t = setmetatable({}, {__index = function(t, k) return t[k] end}) return t.x",
       }) {
    RunOutcome outcome = t.run(code);
    EXPECT_EQ(outcome.status, RunStatus::Error) << code;
    EXPECT_NE(outcome.message.find("stack overflow"), std::string::npos) << code << "\n"
                                                                         << outcome.message;
  }
}

LUA_TEST(CNesting, ProtectedRecursionAndHugeRequestsStayBounded) {
  TestVm t;
  // The recursion ends inside pcall/xpcall, so the run itself finishes.
  EXPECT_EQ(t.eval("local function f() return pcall(f) end return f()"), "true");
  EXPECT_EQ(t.eval("local function f() return select(2, xpcall(error, function() return f() "
                   "end)) end return type(f())"),
            "string");
  EXPECT_EQ(t.run("return unpack({}, 1, 1e7)").status, RunStatus::Error);
  EXPECT_EQ(t.eval("local s = 'return ' .. string.rep('(', 300) .. '1' .. string.rep(')', 300) "
                   "local f, err = load(s) return tostring(f) .. ' ' .. err"),
            "nil (load):1: chunk has too many syntax levels");
}

LUA_TEST(CNesting, LimitIsTheConfiguredDepth) {
  VmOptions options;
  options.maxCNesting = 50;
  TestVm t(std::move(options));
  EXPECT_EQ(t.eval(R"(
    local depth = 0
    local function f(s) depth = depth + 1 return (s:gsub(".", f)) end
    pcall(f, "a")
    return depth
  )"),
            "51");
}

LUA_TEST(CNesting, CaughtErrorsDoNotLeakDepth) {
  TestVm t;
  EXPECT_EQ(t.eval(R"(
    for i = 1, 1000 do
      pcall(string.format, "%d", "x")
      pcall(string.gsub, "a", "a", function() error("x") end)
      pcall(coroutine.wrap(function() error("y") end))
    end
    return (("abc"):gsub("b", function() return "B" end))
  )"),
            "aBc");
}

LUA_TEST(CNesting, HostCallbacksShareTheCounter) {
  TestVm t;
  ASSERT_TRUE(t.vm().registerModule("host", kHost));
  EXPECT_EQ(t.eval("return host.call(function() return 'inner' end)"), "inner");
  expectNestingError(t, "local function f() return host.call(f) end return f()");
  expectNestingError(t,
                     "local function f() return host.call(function() "
                     "return (('a'):gsub('a', f)) end) end return f()");
  RunOutcome outcome = t.run("return host.call(function() error('boom') end)");
  EXPECT_EQ(outcome.status, RunStatus::Error);
  EXPECT_NE(outcome.message.find("test:1: boom"), std::string::npos) << outcome.message;
}

}  // namespace
}  // namespace botfn::lua::test
