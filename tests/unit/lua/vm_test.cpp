// Tests runtime/lua/vm.cpp: creation, the capped allocator (out-of-memory outcomes and
// needsRecycle), the reseeded PRNG, module publishing into SAFE and layers, field lookups.
#include <cstring>

#include "lua_test_support.hpp"

namespace botfn::lua::test {
namespace {

constexpr std::size_t kSmallCap = std::size_t{32} << 20;

VmOptions smallCap() {
  VmOptions options;
  options.memoryLimit = kSmallCap;
  return options;
}

LUA_TEST(Vm, EmptySandboxIsSmall) {
  TestVm t;
  EXPECT_GT(t.vm().memoryUsed(), 10'000u);
  EXPECT_LT(t.vm().memoryUsed(), 400'000u);
  EXPECT_FALSE(t.vm().needsRecycle());
}

LUA_TEST(Vm, MathRandomIsSeededPerVm) {
  TestVm a;
  TestVm b;
  const std::string first = a.eval("return string.format('%.17g', math.random())");
  // The unseeded LuaJIT sequence starts with 0.79420629243124 in every VM.
  EXPECT_NE(first.rfind("0.794206292431", 0), 0u) << first;
  EXPECT_NE(first, b.eval("return string.format('%.17g', math.random())"));
  EXPECT_EQ(a.eval("return type(math.randomseed)"), "nil");
}

void expectOutOfMemory(const char* code) {
  TestVm t(smallCap());
  RunOutcome outcome = t.run(code);
  EXPECT_EQ(outcome.status, RunStatus::OutOfMemory) << code << "\n" << outcome.message;
  EXPECT_TRUE(t.vm().needsRecycle()) << code;
  // The cap binds scripts only; host-side work after the failure may go slightly past it.
  EXPECT_LE(t.vm().memoryPeak(), kSmallCap + (std::size_t{1} << 20)) << code;
}

LUA_TEST(Vm, MemoryBombsEndOutOfMemory) {
  expectOutOfMemory("return string.rep('x', 2^30)");
  expectOutOfMemory("local s = 'x' while true do s = s .. s end");
  expectOutOfMemory("local t = {} for i = 1, 1e9 do t[i] = i end");
  expectOutOfMemory("local t = {} for i = 1, 1e9 do t['k' .. i] = i end");
  expectOutOfMemory("local s = string.rep('c', 10000) return (s:gsub('', s))");
}

LUA_TEST(Vm, CaughtOutOfMemoryStillFailsTheRun) {
  expectOutOfMemory(R"(
    local ok = pcall(string.rep, 'x', 2^30)
    assert(not ok)
    for i = 1, 1e6 do local y = i * 2 end
    return 'swallowed'
  )");
}

LUA_TEST(Vm, CaughtOutOfMemoryStopsTheScriptPromptly) {
  TestVm t(smallCap());
  const auto start = std::chrono::steady_clock::now();
  RunOutcome outcome = t.run("pcall(string.rep, 'x', 2^30) while true do end", 10s);
  EXPECT_EQ(outcome.status, RunStatus::OutOfMemory) << outcome.message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

LUA_TEST(Vm, OutOfMemoryIsRecoverableForTheNextRun) {
  TestVm t(smallCap());
  EXPECT_EQ(t.run("return string.rep('x', 2^30)").status, RunStatus::OutOfMemory);
  EXPECT_EQ(t.eval("return #string.rep('x', 1000)"), "1000");
  EXPECT_TRUE(t.vm().needsRecycle());  // sticky: the owner replaces the Vm anyway
}

int hostAnswer(lua_State* L) {
  lua_pushinteger(L, 42);
  return 1;
}

constexpr luaL_Reg kAnswer[] = {{"answer", hostAnswer}, {nullptr, nullptr}};

LUA_TEST(Vm, RegisteredModuleIsVisibleAndReadOnly) {
  TestVm t;
  ASSERT_TRUE(t.vm().registerModule("db", kAnswer));
  EXPECT_EQ(t.eval("return db.answer()"), "42");
  EXPECT_EQ(t.run("db.answer = nil").status, RunStatus::Error);
  EXPECT_EQ(t.run("rawset(db, 'answer', print)").status, RunStatus::Error);
  EXPECT_EQ(t.run("table.insert(db, 1)").status, RunStatus::Error);
  EXPECT_EQ(t.eval("return tostring(getmetatable(db))"), "false");
  EXPECT_EQ(t.eval("return db.answer()"), "42");
}

LUA_TEST(Vm, RegisteredValueIsFrozenDeeply) {
  TestVm t;
  ASSERT_TRUE(t.vm().registerValue("config", [](lua_State* L) {
    lua_newtable(L);
    lua_newtable(L);
    lua_pushstring(L, "ru");
    lua_setfield(L, -2, "lang");
    lua_setfield(L, -2, "defaults");
    return 1;
  }));
  EXPECT_EQ(t.eval("return config.defaults.lang"), "ru");
  RunOutcome outcome = t.run("config.defaults.lang = 'en'");
  EXPECT_EQ(outcome.status, RunStatus::Error);
  EXPECT_NE(outcome.message.find("config.defaults"), std::string::npos) << outcome.message;
  EXPECT_FALSE(t.vm().registerValue("bad", [](lua_State*) { return 0; }));
}

LUA_TEST(Vm, LayerModulesAreVisibleOnlyInTheirLayer) {
  TestVm t;
  ASSERT_TRUE(t.vm().registerModule("jobs", kAnswer, "cron"));
  EXPECT_EQ(t.eval("return type(jobs)"), "nil");
  auto env = t.vm().makeEnv("cron");
  ASSERT_TRUE(env);
  auto fn = t.loader().loadString("return jobs.answer(), type(string.format)", "=cron");
  ASSERT_TRUE(fn);
  ASSERT_TRUE(t.vm().setEnv(*fn, *env));
  auto co = Coroutine::create(t.vm(), *fn);
  ASSERT_TRUE(co);
  RunOutcome outcome = (*co)->resume();
  ASSERT_TRUE(outcome.finished()) << outcome.message;
  EXPECT_EQ(lua_tointeger((*co)->thread(), 1), 42);
  EXPECT_STREQ(lua_tostring((*co)->thread(), 2), "function");
}

LUA_TEST(Vm, FieldLooksUpDottedPathsRaw) {
  TestVm t;
  ASSERT_TRUE(t.run("return {routes = {start = function() return 'hi' end}}").finished());
  Ref app = t.coroutine().valueRef(1);
  auto start = t.vm().field(app, "routes.start");
  ASSERT_TRUE(start);
  auto co = Coroutine::create(t.vm(), *start);
  ASSERT_TRUE(co);
  ASSERT_TRUE((*co)->resume().finished());
  EXPECT_STREQ(lua_tostring((*co)->thread(), 1), "hi");
  EXPECT_FALSE(t.vm().field(app, "routes.start.deeper"));
  auto missing = t.vm().field(app, "nope");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(Coroutine::create(t.vm(), *missing));  // nil is not a function
}

int hostGlobal(lua_State* L) {
  lua_getfield(L, LUA_GLOBALSINDEX, luaL_checkstring(L, 1));
  return 1;
}

constexpr luaL_Reg kGlobals[] = {{"global", hostGlobal}, {nullptr, nullptr}};

LUA_TEST(Vm, ThreadGlobalsAreEmptyForCFunctionsAndNewThreads) {
  TestVm t;
  ASSERT_TRUE(t.vm().registerModule("host", kGlobals));
  for (const char* name : {"os", "string", "io", "require", "print", "_G", "load"}) {
    lua_getfield(t.vm().state(), LUA_GLOBALSINDEX, name);
    EXPECT_TRUE(lua_isnil(t.vm().state(), -1)) << name;
    lua_pop(t.vm().state(), 1);
    EXPECT_EQ(t.eval(std::string("return type(host.global('") + name + "'))"), "nil") << name;
  }
}

LUA_TEST(Vm, UserDataIsReachableFromCFunctions) {
  int marker = 0;
  VmOptions options;
  options.userData = &marker;
  TestVm t(std::move(options));
  EXPECT_EQ(vmUserData(t.vm().state()), &marker);
  EXPECT_EQ(&Vm::of(t.vm().state()), &t.vm());
}

}  // namespace
}  // namespace botfn::lua::test
