// LuaJIT's own string library, published as `builtin` in a test or bench VM only, so botfn's
// pattern functions (runtime/lua/pattern_lib.cpp) can be compared with the originals they replace.
// Used by pattern_lib_test.cpp and bench/pattern_bench.cpp; never by the runtime.
#pragma once

#include <lua.hpp>

#include <stdexcept>

#include "lua/vm.hpp"

namespace botfn::lua::test {

// luaopen_string fills _LOADED.string and resets the string metatable, so both are moved aside
// for the call and put back after: scripts keep botfn's functions, `builtin` gets LuaJIT's.
inline void publishBuiltinStringLib(Vm& vm) {
  lua_State* L = vm.state();
  const int top = lua_gettop(L);
  lua_getfield(L, LUA_REGISTRYINDEX, "_LOADED");
  lua_getfield(L, -1, "string");
  lua_pushliteral(L, "");
  lua_getmetatable(L, -1);  // stack: loaded, real, "", meta
  lua_pushnil(L);
  lua_setfield(L, top + 1, "string");
  lua_pushcfunction(L, luaopen_string);
  lua_call(L, 0, 1);  // stack: loaded, real, "", meta, builtin
  lua_pushvalue(L, top + 2);
  lua_setfield(L, top + 1, "string");
  lua_pushvalue(L, top + 4);
  lua_setmetatable(L, top + 3);
  const int builtin = lua_gettop(L);
  auto published = vm.registerValue("builtin", [builtin](lua_State* S) {
    lua_pushvalue(S, builtin);
    return 1;
  });
  lua_settop(L, top);
  if (!published) throw std::runtime_error(published.error());
}

}  // namespace botfn::lua::test
