// Tests runtime/lua/pattern_lib.cpp and pattern_match.cpp against LuaJIT's own string functions:
// a table of cases plus bounded random and mutated patterns, each run through both, comparing
// results and error messages; then the budget: pathological patterns stop at the CPU budget.
#include <atomic>
#include <thread>

#include "builtin_string_lib.hpp"
#include "lua_test_support.hpp"

namespace botfn::lua::test {
namespace {

// The comparison harness: check(case) runs string.<f>(args) and builtin.<f>(args) from the same
// call site and records the first differences; gmatch cases collect up to 40 iterations.
constexpr std::string_view kHarness = R"lua(
local fmt, concat, select, unpack = string.format, table.concat, select, unpack
local function pack(...) return {n = select("#", ...), ...} end
local function show(r)
  local out = {}
  for i = 1, r.n do
    local v = r[i]
    out[i] = type(v) == "string" and fmt("%q", v) or tostring(v)
  end
  return concat(out, ",")
end
local function call(lib, c)
  local f = c[1]
  local ok, r = pcall(function()
    if f == "gmatch" then
      local out, it = {}, lib.gmatch(c[2], c[3])
      for _ = 1, 40 do
        local one = pack(it())
        if one[1] == nil then break end
        out[#out + 1] = show(one)
      end
      return pack(concat(out, "|"))
    end
    return pack(lib[f](unpack(c, 2, c.n)))
  end)
  if ok then return show(r) end
  return "error: " .. tostring(r)
end
local bad, checked = {}, 0
function C(...) return pack(...) end
function check(c)
  checked = checked + 1
  local ours, theirs = call(string, c), call(builtin, c)
  if ours ~= theirs and #bad < 15 then
    bad[#bad + 1] = show(c) .. "\n  ours:    " .. ours .. "\n  builtin: " .. theirs
  end
end
-- The harness itself: results and errors are really captured, with the caller's position.
assert(call(builtin, C("find", "abc", "(b)")) == '2,2,"b"', call(builtin, C("find", "abc", "(b)")))
assert(call(builtin, C("find", "abc", "%")):find("^error: test:%d+: malformed pattern"))
function report(min_checked)
  assert(checked >= min_checked, "only " .. checked .. " cases ran")
  return #bad == 0 and "same" or concat(bad, "\n")
end
local seed = 20260107
function rnd(n)  -- a fixed LCG: the same cases on every run
  seed = (seed * 1103515245 + 12345) % 2147483648
  return math.floor(seed / 65536) % n + 1
end
)lua";

std::string runCases(std::string_view cases, int minChecked) {
  TestVm t;
  publishBuiltinStringLib(t.vm());
  std::string code(kHarness);
  code += cases;
  code += "\nreturn report(" + std::to_string(minChecked) + ")";
  return t.eval(code, 120s);
}

LUA_TEST(PatternLib, ReplacesTheRealStringTable) {
  TestVm t;
  publishBuiltinStringLib(t.vm());
  EXPECT_EQ(t.eval(R"(
    for _, f in ipairs({"find", "match", "gmatch", "gsub"}) do
      assert(string[f] ~= builtin[f], f)
      assert(("")[f] == string[f], f)
    end
    return "ok")"),
            "ok");
}

LUA_TEST(PatternLib, TableOfCasesMatchesLuaJit) {
  EXPECT_EQ(runCases(R"lua(
local S = {"", "a", "abc", "hello world", "  trim me  ", "key = value", "THE (quick) fox",
           "a\0b", "a.b-c", "x=1, y=22, z=333", "((a)(b))", "aaab", "abab", "[x]", "%d",
           "\255\200", "line1\nline2", "^a^a", "a$a", "/start payload"}
local P = {"", "a", "b", ".", "%a+", "%d+", "%s*", "^%s*(.-)%s*$", "(%w+)%s*=%s*(%w+)",
           "%f[%a]%a+", "%f[%A]", "%f[%z]", "%f[^%z]", "%b()", "%bxx", "(a)%1", "()", "()a()",
           "(a*(.)%w(%s*))", "[%a-]", "[a-c]+", "[^%s]+", "[]]", "[^]]", "[%]]", "[a%-z]",
           "[--/]", "[z-a]", "a-b", "a*", "a?b", "a+b", ".-b", "^a", "a$", "$a", "^", "$", "%$",
           "^/(%a+)%s*(.*)$", "%z", "%Z+", "[%z]", "a\0x", "(a\0x)", "%g", "%G", "%p", "%c",
           "%x+", "%X", "%l%u", "%S+", "%W", "%D", "%U", "%L", "%P", "%C", "%q", "%.", "%%",
           "(", ")", "a)", "(a))", "(a)%2", "%1", "%0", "%", "[", "[a", "[]", "[^]", "[%", "%b",
           "%ba", "%f", "%fa", "x[", "x%", "(()", "((a)(b))", "(.)(.)%2%1", "[\200-\255]+",
           "*a", "+", "-", "?", "a**", "a*?", "a-?", "%a*-", "^^", "[%a%d_]+", "%s-$"}
for _, s in ipairs(S) do
  for _, p in ipairs(P) do
    check(C("find", s, p))
    check(C("match", s, p))
    check(C("gmatch", s, p))
    check(C("gsub", s, p, "<%0>"))
    check(C("find", s, p, 2))
    check(C("find", s, p, -2, true))
  end
end
local inits = {0, 1, 2, 3, 4, 5, 10, -1, -2, -3, -10, 1.9, -1.5, "2", "0x2", 2^31, -2^31 - 1,
               2^32 + 2, 0/0, 1e100}
for _, i in ipairs(inits) do
  for _, p in ipairs({"", "b", "c", "a", "()", "%a", ".-$"}) do
    check(C("find", "abc", p, i))
    check(C("match", "abc", p, i))
    check(C("find", "abc", p, i, true))
  end
end
-- Replacements: templates, functions, tables, the n limit, and bad values.
local function f(...)
  local t = {...}
  for i = 1, select("#", ...) do t[i] = tostring(t[i]) end
  return "[" .. table.concat(t, ",") .. "]"
end
local R = {"x", "%0%0", "%1", "%2", "%%", "%z", "%", "a%", 12.5, 7, f, function() return nil end,
           function() return false end, function() return {} end, function() return 3 end,
           {a = "A", b = false, c = {}, ["1"] = "one"}, {[2] = "two"}, true, nil}
for _, s in ipairs({"abc", "hello world", "", "a b c", "abab"}) do
  for _, p in ipairs({"%w", "(%w)", "()b", "(b)(c)", "", "%a*", "^a", "^", "$", "x", "(a)(b)"}) do
    for _, r in ipairs(R) do
      check(C("gsub", s, p, r))
      check(C("gsub", s, p, r, 1))
    end
    for _, n in ipairs({0, 1, 2, -1, 1.7, "1", 0/0, {}}) do check(C("gsub", s, p, "-", n)) end
  end
end
check(C("gsub", "abc", "b", true, {}))
check(C("gsub", "abc", "b"))
check(C("gsub", "abc"))
check(C("find"))
check(C("find", "a"))
check(C("find", "abc", "b", {}))
check(C("match", 12.5, "%."))
check(C("find", 125, 2))
check(C("gsub", 123, 2, 9))
check(C("gmatch", "a"))
check(C("gmatch", 123, "%d"))
check(C("find", "a\0.", "\0."))
check(C("find", "a\0b", "\0b"))
-- Limits: captures and recursion depth.
for _, n in ipairs({31, 32, 33, 40}) do
  check(C("find", ("a"):rep(n), ("(a)"):rep(n)))
  check(C("find", ("a"):rep(n), ("()"):rep(n)))
end
for _, n in ipairs({150, 198, 199, 200, 201, 260}) do
  check(C("find", ("a"):rep(n), ("a?"):rep(n)))
  check(C("find", ("a"):rep(n), ("a*"):rep(n)))
  check(C("find", ("a"):rep(n), ("a-"):rep(n) .. "$"))
  check(C("find", ("a"):rep(n) .. "b", ("a*"):rep(n) .. "b"))
  check(C("find", ("a"):rep(n), ("()a"):rep(30) .. ("a?"):rep(n)))
end
)lua",
                     14000),
            "same");
}

LUA_TEST(PatternLib, RandomPatternsMatchLuaJit) {
  EXPECT_EQ(runCases(R"lua(
local pieces = {"a", "b", "c", ".", "%a", "%d", "%s", "%w", "%p", "%A", "%z", "%%", "%.", "[ab]",
                "[^a]", "[a-c]", "[%d%s]", "[]a]", "[^]b]", "*", "+", "-", "?", "(", ")", "()",
                "^", "$", "%b()", "%bab", "%f[%a]", "%f[%A]", "%1", "%2", "%", "[", "]", "%f",
                "%b", "x", " ", "1", "\0", "a*", "b+", ".-", "%a?"}
local chars = {"a", "b", "c", " ", "(", ")", "1", "x", "-", "%", "\0", "A", ".", "]"}
local concat = table.concat
local function gen(from, count)
  local t = {}
  for i = 1, rnd(count + 1) - 1 do t[i] = from[rnd(#from)] end
  return concat(t)
end
local function templ() return ({"<%0>", "%1", "%2", "x", "%%"})[rnd(5)] end
for _ = 1, 6000 do
  local p, s = gen(pieces, 7), gen(chars, 12)
  local which = rnd(6)
  if which == 1 then check(C("find", s, p, rnd(17) - 9))
  elseif which == 2 then check(C("match", s, p, rnd(17) - 9))
  elseif which == 3 then check(C("gmatch", s, p))
  elseif which == 4 then check(C("gsub", s, p, templ(), rnd(4) - 1))
  elseif which == 5 then check(C("gsub", s, p, function(...) return select("#", ...) end))
  else check(C("find", s, p, rnd(5) - 2, rnd(2) == 1 or nil)) end
end
-- Mutations of real-world patterns: one character inserted, deleted or replaced.
local real = {"^%s*(.-)%s*$", "(%w+)%s*=%s*(%w+)", "^/(%a+)%s*(.*)$", "%f[%a]%a+%f[%A]",
              "^[%w_%-]+$", "^([^%.]+)%.(.+)$", "(%d+)-(%d+)-(%d+)", "%b()", "[^,]+", "(.)%1"}
local subjects = {"  key = value  ", "/start abc", "2024-01-31", "a.b.c", "f(x(y)) z", "aab,bb,c",
                  "THE (quick) fox", "x__y-z", ""}
local alphabet = "^$*+?.([%-])ab%1sdwf"
for _, r in ipairs(real) do
  for _ = 1, 60 do
    local at = rnd(#r + 1)
    local ch = alphabet:sub(rnd(#alphabet), rnd(#alphabet)):sub(1, 1)
    local kind = rnd(3)
    local m = kind == 1 and r:sub(1, at - 1) .. ch .. r:sub(at)
           or kind == 2 and r:sub(1, at - 1) .. r:sub(at + 1)
           or r:sub(1, at - 1) .. ch .. r:sub(at + 1)
    for _, s in ipairs(subjects) do
      check(C("match", s, m))
      check(C("gsub", s, m, "<%1>"))
    end
  end
end
)lua",
                     16000),
            "same");
}

// ------------------------------------------------------------------------------- budget

LUA_TEST(PatternLib, InterruptStopsAPatternBomb) {
  TestVm t;
  std::thread watchdog([&] {
    std::this_thread::sleep_for(100ms);
    t.vm().interrupt();
  });
  const auto start = std::chrono::steady_clock::now();
  RunOutcome outcome = t.run("return (('a'):rep(3000)):find('a-a-a-b')", 60s);
  watchdog.join();
  EXPECT_EQ(outcome.status, RunStatus::Killed) << outcome.message;
  EXPECT_EQ(outcome.message, "sandbox: run interrupted");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

LUA_TEST(PatternLib, LongSubjectsFinishWellWithinTheBudget) {
  TestVm t;
  EXPECT_EQ(t.eval("return (('ab'):rep(100000)):gsub('(a)(b)', '%2%1'):sub(1, 4)"), "baba");
}

}  // namespace
}  // namespace botfn::lua::test
