// The count hook behind the CPU budget, interrupt() and the sticky out-of-memory failure, and the
// same check for long C calls the hook cannot reach (budgetSpent/raiseBudgetKill).
// Uses VmContext (deadline, flags, interned messages); armed by coroutine_runner.cpp.
#include "lua/budget_hook.hpp"

#include <lua.hpp>

#include "lua/vm_context.hpp"

namespace botfn::lua {

namespace {

// True once the run must stop; records why in the context's flags.
bool killDue(VmContext& ctx) {
  if (ctx.killed || ctx.memRefused) return true;
  if (ctx.interrupt.load(std::memory_order_relaxed)) {
    ctx.interrupted = true;
  } else if (VmContext::Clock::now() < ctx.deadline) {
    return false;
  }
  ctx.killed = true;
  return true;
}

void budgetHook(lua_State* L, lua_Debug*);

int raiseKill(lua_State* L, const VmContext& ctx) {
  // Sticky: re-armed at count 1, every further instruction raises again, so pcall, xpcall or
  // coroutine.resume in the script cannot swallow the kill and the error reaches the host.
  lua_sethook(L, budgetHook, LUA_MASKCOUNT, 1);
  const int message = !ctx.killed       ? ctx.memoryMessageRef
                      : ctx.interrupted ? ctx.interruptMessageRef
                                        : ctx.killMessageRef;
  lua_rawgeti(L, LUA_REGISTRYINDEX, message);  // interned: no allocation at the memory cap
  return lua_error(L);
}

void budgetHook(lua_State* L, lua_Debug*) {
  VmContext& ctx = contextOf(L);
  if (killDue(ctx)) raiseKill(L, ctx);
}

}  // namespace

void armBudgetHook(lua_State* L) {
  lua_sethook(L, budgetHook, LUA_MASKCOUNT, kHookInstructionInterval);
}

void disarmBudgetHook(lua_State* L) { lua_sethook(L, nullptr, 0, 0); }

bool budgetSpent(lua_State* L) {
  // The hook is armed exactly while a run is in progress; outside one there is no budget.
  if (lua_gethook(L) != budgetHook) return false;
  return killDue(contextOf(L));
}

int raiseBudgetKill(lua_State* L) { return raiseKill(L, contextOf(L)); }

}  // namespace botfn::lua
