// installSandbox(): the allow-listed libraries, the trusted prelude and the emptied globals
// (LUA_SANDBOX.md §4.2). Uses sandbox_prelude.cpp, c_nesting.cpp, pattern_lib.cpp and the print
// sink in VmOptions.
// Called once by Vm::create(), inside lua_cpcall so any failure is an error, not a panic.
#include "lua/sandbox.hpp"

#include <lua.hpp>
#include <sys/random.h>

#include <cstdint>
#include <cstring>
#include <exception>
#include <string_view>

#include "lua/binding.hpp"
#include "lua/c_nesting.hpp"
#include "lua/pattern_lib.hpp"
#include "lua/sandbox_prelude.hpp"
#include "lua/traceback.hpp"
#include "lua/vm.hpp"

namespace botfn::lua {

namespace {

struct InstallArgs {
  std::size_t printMaxBytes = 0;
  double seed = 0;
  SandboxRefs refs;
};

// Every VM of a stock LuaJIT starts with the same math.random sequence; seed from the kernel.
double randomSeed() {
  std::uint64_t bits = 0;
  std::size_t got = 0;
  auto* out = reinterpret_cast<unsigned char*>(&bits);
  while (got < sizeof bits) {
    const ssize_t n = getrandom(out + got, sizeof bits - got, 0);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  // 53 bits survive the conversion to a Lua number exactly.
  return static_cast<double>(bits >> 11);
}

// print() replacement target: one bounded line to the host sink, with the run's host context.
int hostPrint(lua_State* L) {
  const VmContext& ctx = contextOf(L);
  std::size_t len = 0;
  const char* s = lua_type(L, 1) == LUA_TSTRING ? lua_tolstring(L, 1, &len) : "";
  const VmOptions& options = ctx.vm->options();
  if (len > options.printMaxBytes) len = options.printMaxBytes;
  if (!options.printSink) return 0;
  // The sink is host code: nothing it throws may cross into Lua. No Lua API runs in here.
  try {
    options.printSink(ctx.hostContext, std::string_view(s, len));
  } catch (...) {
  }
  return 0;
}

int install(lua_State* L) {
  auto* args = static_cast<InstallArgs*>(lua_touserdata(L, 1));
  lua_settop(L, 0);

  // Never luaL_openlibs: io, package (require('ffi')), debug and jit stay unopened.
  static constexpr struct {
    lua_CFunction open;
    const char* name;
  } kLibs[] = {{luaopen_base, ""},
               {luaopen_string, LUA_STRLIBNAME},
               {luaopen_table, LUA_TABLIBNAME},
               {luaopen_math, LUA_MATHLIBNAME},
               {luaopen_bit, LUA_BITLIBNAME},
               {luaopen_os, LUA_OSLIBNAME}};
  for (const auto& lib : kLibs) {
    lua_pushcfunction(L, lib.open);
    lua_pushstring(L, lib.name);
    lua_call(L, 1, 0);
  }
  // Before the prelude copies the string table: its matcher stops at the CPU budget.
  installPatternFunctions(L);

  const std::string_view prelude = sandboxPreludeSource();
  if (luaL_loadbufferx(L, prelude.data(), prelude.size(), "=sandbox_prelude", "t") != 0) {
    return lua_error(L);
  }
  lua_pushvalue(L, LUA_GLOBALSINDEX);
  lua_pushcfunction(L, luaNestingEnter);
  lua_pushcfunction(L, luaNestingLeave);
  lua_pushcfunction(L, hostPrint);
  lua_pushnumber(L, args->seed);
  lua_pushnumber(L, static_cast<lua_Number>(args->printMaxBytes));
  lua_pushcfunction(L, luaCaptureTraceback);
  lua_call(L, 7, 6);  // [make_env, publish, host_threads, run, freeze, seal_env]
  args->refs.sealEnv = luaL_ref(L, LUA_REGISTRYINDEX);
  args->refs.freeze = luaL_ref(L, LUA_REGISTRYINDEX);
  args->refs.runner = luaL_ref(L, LUA_REGISTRYINDEX);
  args->refs.hostThreads = luaL_ref(L, LUA_REGISTRYINDEX);
  args->refs.publish = luaL_ref(L, LUA_REGISTRYINDEX);
  args->refs.makeEnv = luaL_ref(L, LUA_REGISTRYINDEX);

  // Whatever later reaches "the globals" (getfenv(0), lua_getglobal, new threads) sees nothing.
  lua_newtable(L);
  lua_replace(L, LUA_GLOBALSINDEX);
  return 0;
}

}  // namespace

tl::expected<SandboxRefs, std::string> installSandbox(lua_State* L, std::size_t printMaxBytes) {
  InstallArgs args;
  args.printMaxBytes = printMaxBytes;
  args.seed = randomSeed();
  if (lua_cpcall(L, install, &args) != 0) {
    std::string message = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "unknown error";
    lua_pop(L, 1);
    return tl::unexpected("sandbox setup failed: " + message);
  }
  return args.refs;
}

}  // namespace botfn::lua
