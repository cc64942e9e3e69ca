// Tests runtime/lua/coroutine_runner.cpp: outcomes, yielding from a host C function and
// resuming with results, error messages and tracebacks with file:line, host-coroutine rules.
#include "lua_test_support.hpp"

namespace botfn::lua::test {
namespace {

// The host state of one run: what the pending operation asked for.
struct FakeRequest {
  std::string url;
  int calls = 0;
};

// http.get(url): registers the pending operation, then waits for the host.
int httpGet(lua_State* L) {
  const ArgReader args(L, "http.get");
  const std::string_view url = args.string(1, "url");
  auto* request = hostContextAs<FakeRequest>(L);
  request->url.assign(url);
  ++request->calls;
  return yieldToHost(L, "http.get", 0);
}

constexpr luaL_Reg kHttp[] = {{"get", httpGet}, {nullptr, nullptr}};

LUA_TEST(Coroutine, FinishedReturnsAllResults) {
  TestVm t;
  RunOutcome outcome = t.run("return 1, 'two', nil, true");
  ASSERT_TRUE(outcome.finished()) << outcome.message;
  EXPECT_EQ(outcome.valueCount, 4);
  EXPECT_EQ(t.result(1), "1");
  EXPECT_EQ(t.result(2), "two");
  EXPECT_EQ(t.result(3), "nil");
  EXPECT_EQ(t.result(4), "true");
  EXPECT_FALSE(t.coroutine().resumable());
  EXPECT_EQ(t.coroutine().resume().status, RunStatus::Error);
}

LUA_TEST(Coroutine, ArgumentsArePassedToTheFunction) {
  TestVm t;
  ASSERT_TRUE(t.run("return function(a, b) return a .. b end").finished());
  Ref fn = t.coroutine().valueRef(1);
  auto co = Coroutine::create(t.vm(), fn, [](lua_State* L) {
    lua_pushstring(L, "x");
    lua_pushstring(L, "y");
    return 2;
  });
  ASSERT_TRUE(co);
  ASSERT_TRUE((*co)->resume().finished());
  EXPECT_STREQ(lua_tostring((*co)->thread(), 1), "xy");
}

LUA_TEST(Coroutine, HostCFunctionYieldsAndIsResumedWithResults) {
  TestVm t;
  ASSERT_TRUE(t.vm().registerModule("http", kHttp));
  FakeRequest request;
  RunOutcome outcome = t.run(R"(
    local body, status = http.get("https://api.example/x")
    local ok, second = pcall(http.get, "https://api.example/y")
    return body .. " " .. status .. " " .. tostring(ok) .. " " .. second
  )",
                             2s, &request);
  ASSERT_EQ(outcome.status, RunStatus::Yielded) << outcome.message;
  EXPECT_EQ(request.url, "https://api.example/x");
  outcome = t.coroutine().resume([](lua_State* L) {
    lua_pushstring(L, "hello");
    lua_pushinteger(L, 200);
    return 2;
  });
  ASSERT_EQ(outcome.status, RunStatus::Yielded) << outcome.message;  // yields across pcall
  EXPECT_EQ(request.url, "https://api.example/y");
  outcome = t.coroutine().resume([](lua_State* L) {
    lua_pushstring(L, "again");
    return 1;
  });
  ASSERT_TRUE(outcome.finished()) << outcome.message;
  EXPECT_EQ(t.result(1), "hello 200 true again");
  EXPECT_EQ(request.calls, 2);
}

LUA_TEST(Coroutine, YieldingFromAScriptCoroutineIsRefused) {
  TestVm t;
  ASSERT_TRUE(t.vm().registerModule("http", kHttp));
  FakeRequest request;
  RunOutcome outcome = t.run(R"(
    local co = coroutine.create(function() return http.get("u") end)
    local ok, err = coroutine.resume(co)
    assert(not ok)
    error(err, 0)
  )",
                             2s, &request);
  EXPECT_EQ(outcome.status, RunStatus::Error);
  EXPECT_NE(outcome.message.find("http.get: cannot wait here"), std::string::npos)
      << outcome.message;
  outcome =
      t.run("table.sort({2, 1}, function(a, b) http.get('u') return a < b end)", 2s, &request);
  EXPECT_EQ(outcome.status, RunStatus::Error);
  EXPECT_NE(outcome.message.find("cannot wait here"), std::string::npos) << outcome.message;
}

LUA_TEST(Coroutine, StrayTopLevelYieldIsAnError) {
  TestVm t;
  RunOutcome outcome = t.run("local x = 1\ncoroutine.yield(x)\nreturn 2");
  EXPECT_EQ(outcome.status, RunStatus::Error);
  EXPECT_EQ(outcome.message, "test:2: attempt to yield from outside a coroutine");
}

LUA_TEST(Coroutine, ErrorsCarryFileLineAndTraceback) {
  TestVm t;
  auto fn = t.loader().loadString(
      "local function inner()\n  local t = nil\n  return t.x\nend\n"
      "local function outer() return inner() + 1 end\nreturn outer()",
      "@apps/demo/main.lua");
  ASSERT_TRUE(fn);
  auto co = Coroutine::create(t.vm(), *fn);
  ASSERT_TRUE(co);
  RunOutcome outcome = (*co)->resume();
  ASSERT_EQ(outcome.status, RunStatus::Error);
  EXPECT_EQ(outcome.message.rfind("apps/demo/main.lua:3: attempt to index", 0), 0u)
      << outcome.message;
  EXPECT_NE(outcome.traceback.find("stack traceback:"), std::string::npos);
  EXPECT_NE(outcome.traceback.find("apps/demo/main.lua:3: in function"), std::string::npos)
      << outcome.traceback;
  EXPECT_NE(outcome.traceback.find("apps/demo/main.lua:5"), std::string::npos) << outcome.traceback;
  EXPECT_EQ(outcome.traceback.find("builtin#"), std::string::npos) << outcome.traceback;
}

LUA_TEST(Coroutine, ErrorsAfterAYieldStillCarryFileLine) {
  TestVm t;
  ASSERT_TRUE(t.vm().registerModule("http", kHttp));
  FakeRequest request;
  ASSERT_TRUE(t.run("local r = http.get('u')\nerror('bad reply: ' .. r)", 2s, &request).yielded());
  RunOutcome outcome = t.coroutine().resume([](lua_State* L) {
    lua_pushstring(L, "503");
    return 1;
  });
  ASSERT_EQ(outcome.status, RunStatus::Error);
  EXPECT_EQ(outcome.message, "test:2: bad reply: 503");
  EXPECT_NE(outcome.traceback.find("test:2"), std::string::npos) << outcome.traceback;
}

LUA_TEST(Coroutine, ErrorObjectsAreReadWithoutMetamethods) {
  TestVm t;
  RunOutcome outcome = t.run("error({message = 'structured', code = 7})");
  EXPECT_EQ(outcome.status, RunStatus::Error);
  EXPECT_EQ(outcome.message, "structured");
  outcome = t.run("error(setmetatable({}, {__tostring = function() while true do end end}))", 5s);
  EXPECT_EQ(outcome.status, RunStatus::Error);
  EXPECT_EQ(outcome.message, "(error object is a table value)");
  outcome = t.run("error(setmetatable({}, {__index = function() while true do end end}))", 5s);
  EXPECT_EQ(outcome.message, "(error object is a table value)");
  EXPECT_EQ(t.run("error(42, 0)").message, "42");
  EXPECT_EQ(t.run("error()").message, "(error object is a nil value)");
}

LUA_TEST(Coroutine, ScriptsCannotResumeHostCoroutines) {
  TestVm t;
  ASSERT_TRUE(t.vm().registerModule("http", kHttp));
  FakeRequest request;
  // Handler A stashes its own coroutine where handler B can find it, then waits.
  ASSERT_TRUE(t.run("return function(shared) shared.co = coroutine.running() "
                    "return http.get('u') end")
                  .finished());
  Ref handler = t.coroutine().valueRef(1);
  ASSERT_TRUE(t.run("return {}").finished());
  Ref shared = t.coroutine().valueRef(1);
  auto a = Coroutine::create(
      t.vm(), handler,
      [&](lua_State* L) {
        shared.push(L);
        return 1;
      },
      &request);
  ASSERT_TRUE(a);
  ASSERT_TRUE((*a)->resume().yielded());
  auto b = t.loader().loadString("local shared = ...\nreturn coroutine.resume(shared.co, 'forged')",
                                 "=b");
  ASSERT_TRUE(b);
  auto bco = Coroutine::create(t.vm(), *b, [&](lua_State* L) {
    shared.push(L);
    return 1;
  });
  ASSERT_TRUE(bco);
  RunOutcome outcome = (*bco)->resume();
  EXPECT_EQ(outcome.status, RunStatus::Error);
  EXPECT_NE(outcome.message.find("cannot resume a coroutine run by the host"), std::string::npos)
      << outcome.message;
  outcome = (*a)->resume([](lua_State* L) {
    lua_pushstring(L, "real");
    return 1;
  });
  ASSERT_TRUE(outcome.finished()) << outcome.message;
  EXPECT_STREQ(lua_tostring((*a)->thread(), 1), "real");
}

LUA_TEST(Coroutine, OnlyOneRunAtATimePerVm) {
  TestVm t;
  static Coroutine* other = nullptr;
  static RunOutcome nested;
  ASSERT_TRUE(t.run("return function() end").finished());
  Ref fn = t.coroutine().valueRef(1);
  auto co = Coroutine::create(t.vm(), fn);
  ASSERT_TRUE(co);
  other = co->get();
  constexpr luaL_Reg kReenter[] = {{"reenter",
                                    [](lua_State*) {
                                      nested = other->resume();
                                      return 0;
                                    }},
                                   {nullptr, nullptr}};
  ASSERT_TRUE(t.vm().registerModule("host", kReenter));
  ASSERT_TRUE(t.run("host.reenter()").finished());
  EXPECT_EQ(nested.status, RunStatus::Error);
  EXPECT_NE(nested.message.find("another run is in progress"), std::string::npos);
  EXPECT_TRUE((*co)->resume().finished());
}

}  // namespace
}  // namespace botfn::lua::test
