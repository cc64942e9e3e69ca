// Tests runtime/lua/sandbox.cpp and sandbox_prelude.cpp: what scripts can use, and the escape
// attempts of LUA_SANDBOX.md §4.3, each of which must stay blocked.
#include "lua_test_support.hpp"

namespace botfn::lua::test {
namespace {

// ---------------------------------------------------------------- functional

LUA_TEST(SandboxFunctional, StringTableMathOs) {
  TestVm t;
  EXPECT_EQ(t.eval(R"(
    local s = ("Hello %s"):format("world"):upper()
    local parts = {}
    for w in s:gmatch("%a+") do parts[#parts + 1] = w:lower() end
    table.sort(parts, function(a, b) return a > b end)
    table.insert(parts, 1, "x")
    assert(table.remove(parts, 1) == "x")
    assert(math.floor(3.7) == 3 and math.max(1, 5) == 5 and bit.band(6, 3) == 2)
    local r = math.random(1, 10)
    assert(r >= 1 and r <= 10)
    assert(type(os.time()) == "number" and os.date("!%Y", 0) == "1970")
    assert(os.time({year = 2020, month = 1, day = 1, hour = 12}) > 0)
    assert(os.difftime(10, 4) == 6 and type(os.clock()) == "number")
    assert(#string.rep("ab", 3) == 6 and ("abc"):sub(2, 2) == "b" and rawlen({1, 2}) == 2)
    return table.concat(parts, ",")
  )"),
            "world,hello");
}

LUA_TEST(SandboxFunctional, CoroutinesAndPcallWithTableErrors) {
  TestVm t;
  EXPECT_EQ(t.eval(R"(
    local gen = coroutine.wrap(function() for i = 1, 3 do coroutine.yield(i) end end)
    local sum = gen() + gen() + gen()
    local co = coroutine.create(function(a) local b = coroutine.yield(a + 1) return b * 2 end)
    local _, first = coroutine.resume(co, 1)
    local _, second = coroutine.resume(co, 10)
    local ok, err = pcall(error, {code = "E42"})
    assert(not ok and err.code == "E42")
    local ok2, msg = xpcall(function() error("boom") end, function(m) return "handled: " .. m end)
    assert(not ok2 and msg:find("handled: test:%d+: boom"))
    return sum .. "/" .. first .. "/" .. second
  )"),
            "6/2/20");
}

LUA_TEST(SandboxFunctional, SetmetatableOop) {
  TestVm t;
  EXPECT_EQ(t.eval(R"lua(
    local Account = {}
    Account.__index = Account
    function Account.new(balance) return setmetatable({balance = balance}, Account) end
    function Account:deposit(v) self.balance = self.balance + v end
    Account.__tostring = function(a) return "Account(" .. a.balance .. ")" end
    local a = Account.new(10)
    a:deposit(5)
    assert(getmetatable(a) == Account)
    return tostring(a)
  )lua"),
            "Account(15)");
}

LUA_TEST(SandboxFunctional, SafeLoadOfTextAndNormalPatterns) {
  TestVm t;
  EXPECT_EQ(t.eval(R"(
    local f = assert(load("return 1 + ..."))
    local env = {y = 5}
    local g = assert(load("return y", "tpl", "t", env))
    local pieces = {"return ", "'r'"}
    local i = 0
    local h = assert(load(function() i = i + 1 return pieces[i] end))
    local trimmed = ("  hi there  "):match("^%s*(.-)%s*$")
    local replaced = ("a-b-c"):gsub("-", "+")
    local tpl = ("Hi {name}"):gsub("{(%w+)}", {name = "Ann"})
    return f(2) .. g() .. h() .. trimmed .. replaced .. tpl
  )"),
            "35rhi therea+b+cHi Ann");
}

LUA_TEST(SandboxFunctional, PrintGoesToTheSinkBounded) {
  std::vector<std::string> lines;
  std::vector<void*> contexts;
  VmOptions options;
  options.printMaxBytes = 16;
  options.printSink = [&](void* host, std::string_view line) {
    lines.emplace_back(line);
    contexts.push_back(host);
  };
  TestVm t(std::move(options));
  int marker = 0;
  RunOutcome outcome =
      t.run(R"(print("a", 1, nil, true) print(string.rep("x", 100)))", 2s, &marker);
  ASSERT_TRUE(outcome.finished()) << outcome.message;
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], "a\t1\tnil\ttrue");
  EXPECT_EQ(lines[1], std::string(16, 'x'));
  EXPECT_EQ(contexts[0], &marker);
}

// ---------------------------------------------------------------- escapes: libraries

LUA_TEST(SandboxEscape, DangerousGlobalsAreAbsent) {
  TestVm t;
  for (const char* name :
       {"ffi", "jit", "debug", "io", "package", "module", "dofile", "loadfile", "loadstring",
        "getfenv", "setfenv", "collectgarbage", "gcinfo", "newproxy", "rawset_original"}) {
    EXPECT_EQ(t.eval(std::string("return type(") + name + ")"), "nil") << name;
  }
  for (const char* name :
       {"execute", "exit", "getenv", "remove", "rename", "tmpname", "setlocale"}) {
    EXPECT_EQ(t.eval(std::string("return type(os.") + name + ")"), "nil") << name;
  }
}

LUA_TEST(SandboxEscape, RequireFfiFails) {
  TestVm t;
  RunOutcome outcome = t.run("return require('ffi')");
  EXPECT_EQ(outcome.status, RunStatus::Error);
  EXPECT_NE(outcome.message.find("module 'ffi' not found"), std::string::npos) << outcome.message;
}

LUA_TEST(SandboxEscape, CallingRemovedFunctionsErrors) {
  TestVm t;
  for (const char* code : {"getfenv(0).x = 1", "setfenv(1, {})", "collectgarbage('stop')",
                           "os.execute('true')", "os.exit(1)", "os.getenv('HOME')",
                           "loadstring('return 1')", "dofile('/etc/passwd')", "newproxy(true)"}) {
    EXPECT_EQ(t.run(code).status, RunStatus::Error) << code;
  }
}

// ---------------------------------------------------------------- escapes: bytecode

LUA_TEST(SandboxEscape, NoBytecodeProducers) {
  TestVm t;
  EXPECT_EQ(t.eval("return type(string.dump)"), "nil");
  EXPECT_EQ(t.eval("return tostring(pcall(function() return (''):dump() end))"), "false");
  EXPECT_EQ(t.eval("return type(('').dump)"), "nil");
}

LUA_TEST(SandboxEscape, LoadRefusesBytecodeStringAndReader) {
  TestVm t;
  EXPECT_EQ(t.eval(R"(local f, err = load("\27LJ\2\0\0") return tostring(f) .. " " .. err)"),
            "nil attempt to load a binary chunk");
  EXPECT_EQ(t.eval(R"(
    local sent = false
    local f, err = load(function() if sent then return nil end sent = true return "\27LJ\2" end)
    return tostring(f) .. " " .. err
  )"),
            "nil attempt to load a binary chunk");
  EXPECT_EQ(t.eval(R"(local f, err = load("\27LJ", "x", "b") return tostring(f))"), "nil");
}

LUA_TEST(SandboxEscape, LoadedTextSeesAFreshEnvNotTheCallersOrHostGlobals) {
  TestVm t;
  EXPECT_EQ(t.eval(R"(
    secret = 1
    local f = load("return secret, io, getfenv, require, _G == nil")
    local a, b, c, d, e = f()
    return tostring(a) .. tostring(b) .. tostring(c) .. tostring(d) .. tostring(e)
  )"),
            "nilnilnilnilfalse");
}

// ---------------------------------------------------------------- escapes: environment

LUA_TEST(SandboxEscape, StringMetatableIsHidden) {
  TestVm t;
  EXPECT_EQ(t.eval("return tostring(getmetatable(''))"), "false");
  EXPECT_EQ(t.run("setmetatable(string, nil)").status, RunStatus::Error);
  EXPECT_EQ(t.eval("return tostring(getmetatable(string))"), "false");
}

LUA_TEST(SandboxEscape, SharedTablesAreReadOnly) {
  TestVm t;
  RunOutcome outcome = t.run("string.upper = function() return 'evil' end");
  EXPECT_EQ(outcome.status, RunStatus::Error);
  EXPECT_NE(outcome.message.find("test:1: attempt to modify read-only table 'string'"),
            std::string::npos)
      << outcome.message;
  for (const char* code :
       {"rawset(string, 'upper', print)", "table.insert(string, 'x')", "table.insert(math, 1, 'x')",
        "table.remove(table)", "table.move({1}, 1, 1, 1, os)", "math.pi = 3", "os.time = nil",
        "coroutine.resume = print", "bit.band = print", "table.sort = print"}) {
    EXPECT_EQ(t.run(code).status, RunStatus::Error) << code;
  }
  // Nothing leaked into the next script.
  EXPECT_EQ(t.eval("return ('a'):upper() .. string.upper('b') .. math.floor(math.pi)"), "AB3");
}

LUA_TEST(SandboxEscape, GlobalTableMetatableIsProtected) {
  TestVm t;
  EXPECT_EQ(t.eval("return tostring(getmetatable(_G))"), "false");
  EXPECT_EQ(t.run("setmetatable(_G, nil)").status, RunStatus::Error);
  EXPECT_EQ(t.eval("return _G == _G._G and type(_G.print)"), "function");
}

LUA_TEST(SandboxEscape, GlobalsOfOneScriptAreInvisibleToAnother) {
  TestVm t;
  ASSERT_TRUE(t.run("leak = 'from A'; print = nil; string_copy = string").finished());
  EXPECT_EQ(t.eval("return tostring(leak) .. type(print)"), "nilfunction");
}

LUA_TEST(SandboxEscape, GetfenvInsideACoroutineIsUnavailable) {
  TestVm t;
  EXPECT_EQ(t.eval(R"(
    local co = coroutine.create(function() return getfenv end)
    local ok, value = coroutine.resume(co)
    return tostring(ok) .. tostring(value)
  )"),
            "truenil");
}

}  // namespace
}  // namespace botfn::lua::test
