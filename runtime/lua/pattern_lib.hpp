// The sandbox's string.find/match/gmatch/gsub: LuaJIT-compatible functions over botfn's own
// step-counted matcher (pattern_match.cpp), so no pattern outlives the run's CPU budget
// (LUA_SANDBOX.md §3.4). Implemented in pattern_lib.cpp; installed by sandbox.cpp.
#pragma once

struct lua_State;

namespace botfn::lua {

// Replaces find/match/gmatch/gsub in the real string table (the global `string` at the time of
// the call), which is also what ("").find reaches. gsub runs its function or table replacement
// through the C-nesting guard (c_nesting.cpp).
void installPatternFunctions(lua_State* L);

}  // namespace botfn::lua
