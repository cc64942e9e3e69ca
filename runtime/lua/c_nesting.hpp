// The Lua-callable halves of the C-nesting guard (LUA_SANDBOX.md §3.5), handed to the prelude by
// sandbox.cpp. The counter lives in VmContext so host C functions share it through
// enterCallback()/leaveCallback()/protectedCallback() (binding.hpp). Implemented in c_nesting.cpp.
#pragma once

struct lua_State;

namespace botfn::lua {

// enter() -> true, or false when the nesting limit is reached (the caller raises).
int luaNestingEnter(lua_State* L);
// leave(ok, ...) -> ... when ok; rethrows the error value unchanged otherwise.
int luaNestingLeave(lua_State* L);

}  // namespace botfn::lua
