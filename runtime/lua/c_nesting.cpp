// The C-nesting counter (LUA_SANDBOX.md §3.5): the prelude's guards and host functions that call
// back into Lua share VmContext::cDepth, which the runner resets at every resume.
// Uses vm_context.hpp; called from the prelude (via sandbox.cpp) and from runtime/lua/api/.
#include "lua/c_nesting.hpp"

#include "lua/binding.hpp"

namespace botfn::lua {

namespace {

bool tryEnter(VmContext& ctx) noexcept {
  if (ctx.cDepth >= ctx.maxCDepth) return false;
  ++ctx.cDepth;
  return true;
}

void leave(VmContext& ctx) noexcept {
  if (ctx.cDepth > 0) --ctx.cDepth;
}

}  // namespace

int luaNestingEnter(lua_State* L) {
  lua_pushboolean(L, tryEnter(contextOf(L)) ? 1 : 0);
  return 1;
}

int luaNestingLeave(lua_State* L) {
  leave(contextOf(L));
  if (lua_toboolean(L, 1)) {
    lua_remove(L, 1);
    return lua_gettop(L);
  }
  lua_settop(L, 2);
  return lua_error(L);
}

void enterCallback(lua_State* L, const char* apiName) {
  if (!tryEnter(contextOf(L))) raiseError(L, "%s: sandbox: C stack nesting too deep", apiName);
}

void leaveCallback(lua_State* L) noexcept { leave(contextOf(L)); }

void protectedCallback(lua_State* L, int nargs, int nresults, const char* apiName) {
  enterCallback(L, apiName);
  const int status = lua_pcall(L, nargs, nresults, 0);
  leaveCallback(L);
  if (status != 0) lua_error(L);
}

}  // namespace botfn::lua
