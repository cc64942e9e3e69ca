// Pattern matching cost: ns per call of botfn's string.find/match/gmatch/gsub (pattern_lib.cpp)
// against LuaJIT's own functions, for the patterns bots typically use, on one VM with budgets on.
// Usage: pattern_bench [iterations [case]]   (docs/benchmarks.md records its output)
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "lua/big_stack_thread.hpp"
#include "lua/builtin_string_lib.hpp"
#include "lua/coroutine_runner.hpp"
#include "lua/loader.hpp"
#include "lua/vm.hpp"

using namespace botfn::lua;

namespace {

// Each case is timed for both libraries in the same loop shape; the order alternates per round
// and the best of 5 rounds counts, so a noisy neighbour on the machine inflates neither side.
constexpr const char* kBench = R"lua(
local N, only = ...
local ours, theirs = string, builtin
local clock, fmt = os.clock, string.format
local tbl = {name = "Ann", n = "3"}
local words = "the quick brown fox jumps over the lazy dog"
local long = ("lorem ipsum dolor sit amet "):rep(40) .. "order 4711 shipped"
local cases = {
  {"find plain",         "find",  "hello world", "wor"},
  {"find %d+",           "find",  "order 12345 shipped", "%d+"},
  {"find in 1 KB",       "find",  long, "(%d+) shipped"},
  {"match trim",         "match", "   hello there  ", "^%s*(.-)%s*$"},
  {"match key=value",    "match", "key = value", "(%w+)%s*=%s*(%w+)"},
  {"match command",      "match", "/start payload", "^/(%a+)%s*(.*)$"},
  {"match state",        "match", "registration.ask_name", "^([^%.]+)%.(.+)$"},
  {"match profile",      "match", "some_user-42", "^[%w_%-]+$"},
  {"gsub string",        "gsub",  "a-b-c-d-e", "%-", "+"},
  {"gsub %1 trim",       "gsub",  "   hello there  ", "^%s*(.-)%s*$", "%1"},
  {"gsub table",         "gsub",  "Hi {name}, you have {n} messages", "{(%w+)}", tbl},
  {"gsub function",      "gsub",  "a1b22c333", "%d+", function(d) return #d end},
  {"gmatch words",       "gmatch", words, "%a+"},
  -- What scripts ran before: LuaJIT's gsub behind the prelude's Lua guard (enter/leave are C
  -- functions there; Lua stand-ins of the same shape here).
  {"gsub string, before", "gsub", "a-b-c-d-e", "%-", "+", guarded = true},
  {"gsub func, before",   "gsub", "a1b22c333", "%d+", function(d) return #d end, guarded = true},
}
local function enter() return true end
local function leave(ok, ...)
  if ok then return ... end
  error((...), 0)
end
local function guard(f)
  return function(...)
    if not enter() then error("sandbox: C stack nesting too deep", 2) end
    return leave(pcall(f, ...))
  end
end
local function time(lib, c)
  local f, s, p, r = lib[c[2]], c[3], c[4], c[5]
  if c.guarded and lib == theirs then f = guard(f) end
  local t0 = clock()
  if c[2] == "gmatch" then
    for _ = 1, N do for _ in f(s, p) do end end
  elseif r ~= nil then
    for _ = 1, N do f(s, p, r) end
  else
    for _ = 1, N do f(s, p) end
  end
  return (clock() - t0) / N * 1e9
end
local out = {fmt("%-20s %10s %10s %7s", "case", "botfn ns", "luajit ns", "ratio")}
local sumOurs, sumTheirs = 0, 0  -- over the unguarded cases
for _, c in ipairs(cases) do
  if only and c[1] ~= only then goto continue end
  local bestOurs, bestTheirs = math.huge, math.huge
  for round = 1, 5 do
    if round % 2 == 1 then
      bestOurs = math.min(bestOurs, time(ours, c))
      bestTheirs = math.min(bestTheirs, time(theirs, c))
    else
      bestTheirs = math.min(bestTheirs, time(theirs, c))
      bestOurs = math.min(bestOurs, time(ours, c))
    end
  end
  if not c.guarded then sumOurs, sumTheirs = sumOurs + bestOurs, sumTheirs + bestTheirs end
  out[#out + 1] = fmt("%-20s %10.0f %10.0f %7.2f", c[1], bestOurs, bestTheirs, bestOurs / bestTheirs)
  ::continue::
end
out[#out + 1] = fmt("%-20s %10.0f %10.0f %7.2f", "sum", sumOurs, sumTheirs, sumOurs / sumTheirs)
return table.concat(out, "\n")
)lua";

int runBench(int iterations, const char* only) {
  auto vm = Vm::create();
  if (!vm) return std::fprintf(stderr, "%s\n", vm.error().c_str()), 1;
  botfn::lua::test::publishBuiltinStringLib(**vm);
  LoaderConfig config;
  config.scriptsRoot = std::filesystem::temp_directory_path();
  auto loader = Loader::create(**vm, std::move(config));
  if (!loader) return std::fprintf(stderr, "%s\n", loader.error().c_str()), 1;
  auto fn = (*loader)->loadString(kBench, "=pattern_bench");
  if (!fn) return std::fprintf(stderr, "%s\n", fn.error().c_str()), 1;
  auto co = Coroutine::create(**vm, *fn, [iterations, only](lua_State* L) {
    lua_pushinteger(L, iterations);
    if (only == nullptr) return 1;
    lua_pushstring(L, only);
    return 2;
  });
  if (!co) return std::fprintf(stderr, "%s\n", co.error().c_str()), 1;
  (*co)->setCpuBudget(std::chrono::minutes(10));
  RunOutcome outcome = (*co)->resume();
  if (!outcome.finished()) return std::fprintf(stderr, "%s\n", outcome.message.c_str()), 1;
  std::printf("%s\n", lua_tostring((*co)->thread(), 1));
  co->reset();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const int iterations = argc > 1 ? std::atoi(argv[1]) : 200000;
  const char* only = argc > 2 ? argv[2] : nullptr;
  int rc = 0;
  runOnBigStack([&] { rc = runBench(iterations, only); });
  return rc;
}
