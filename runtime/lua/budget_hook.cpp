// The count hook behind the CPU budget, interrupt() and the sticky out-of-memory failure.
// Uses VmContext (deadline, flags, interned messages); armed by coroutine_runner.cpp.
#include "lua/budget_hook.hpp"

#include <lua.hpp>

#include "lua/vm_context.hpp"

namespace botfn::lua {

namespace {

void budgetHook(lua_State* L, lua_Debug*) {
  VmContext& ctx = contextOf(L);
  if (!ctx.killed && !ctx.memRefused) {
    if (ctx.interrupt.load(std::memory_order_relaxed)) {
      ctx.interrupted = true;
    } else if (VmContext::Clock::now() < ctx.deadline) {
      return;
    }
    ctx.killed = true;
  }
  // Sticky: re-armed at count 1, every further instruction raises again, so pcall, xpcall or
  // coroutine.resume in the script cannot swallow the kill and the error reaches the host.
  lua_sethook(L, budgetHook, LUA_MASKCOUNT, 1);
  const int message = !ctx.killed       ? ctx.memoryMessageRef
                      : ctx.interrupted ? ctx.interruptMessageRef
                                        : ctx.killMessageRef;
  lua_rawgeti(L, LUA_REGISTRYINDEX, message);  // interned: no allocation at the memory cap
  lua_error(L);
}

}  // namespace

void armBudgetHook(lua_State* L) {
  lua_sethook(L, budgetHook, LUA_MASKCOUNT, kHookInstructionInterval);
}

void disarmBudgetHook(lua_State* L) { lua_sethook(L, nullptr, 0, 0); }

}  // namespace botfn::lua
