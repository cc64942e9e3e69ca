// The CPU budget: a count hook checking the run's deadline and the interrupt flag
// (LUA_SANDBOX.md §3.2, §3.6). Implemented in budget_hook.cpp; armed around every resume by
// coroutine_runner.cpp, polled by the pattern functions (pattern_lib.cpp).
#pragma once

struct lua_State;

namespace botfn::lua {

// Instructions between deadline checks: prompt kills at no measurable extra cost (§3.3).
inline constexpr int kHookInstructionInterval = 1000;

// Hooks are VM-global in LuaJIT, so arming on one thread also covers every coroutine.
void armBudgetHook(lua_State* L);
void disarmBudgetHook(lua_State* L);

// For long C work that no instruction count interrupts (pattern matching): polled between steps,
// true once the run in progress has spent its budget or was interrupted. raiseBudgetKill() then
// raises exactly what the hook raises, and as stickily.
bool budgetSpent(lua_State* L);
int raiseBudgetKill(lua_State* L);

}  // namespace botfn::lua
