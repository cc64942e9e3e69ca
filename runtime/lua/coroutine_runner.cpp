// Coroutine: resume with the budget armed, then classify the result. Error values are read
// with a type check and lua_tostring only: metamethods of error objects never run in the host.
// Uses budget_hook.cpp and VmContext; called by flow workers, api modules and tests.
#include "lua/coroutine_runner.hpp"

#include <lua.hpp>

#include <algorithm>
#include <utility>

#include "lua/budget_hook.hpp"

namespace botfn::lua {

namespace {

constexpr std::size_t kMaxMessageBytes = 8192;

std::string boundedString(const char* s, std::size_t len) {
  return std::string(s, std::min(len, kMaxMessageBytes));
}

std::string errorMessage(lua_State* co) {
  const int type = lua_type(co, -1);
  if (type == LUA_TSTRING || type == LUA_TNUMBER) {
    std::size_t len = 0;
    const char* s = lua_tolstring(co, -1, &len);
    return boundedString(s, len);
  }
  if (type == LUA_TTABLE) {  // error({message = ...}): a raw read, no __index
    lua_pushliteral(co, "message");
    lua_rawget(co, -2);
    if (lua_type(co, -1) == LUA_TSTRING) {
      std::size_t len = 0;
      const char* s = lua_tolstring(co, -1, &len);
      std::string message = boundedString(s, len);
      lua_pop(co, 1);
      return message;
    }
    lua_pop(co, 1);
  }
  return std::string("(error object is a ") + lua_typename(co, type) + " value)";
}

// "file:line: " of the Lua function at `level` in `co`, or "".
std::string whereIn(lua_State* co, int level) {
  lua_Debug ar;
  if (lua_getstack(co, level, &ar) == 0) return {};
  lua_getinfo(co, "Sl", &ar);
  if (ar.currentline <= 0) return {};
  return std::string(ar.short_src) + ":" + std::to_string(ar.currentline) + ": ";
}

}  // namespace

std::string_view toString(RunStatus status) noexcept {
  switch (status) {
    case RunStatus::Finished:
      return "finished";
    case RunStatus::Yielded:
      return "yielded";
    case RunStatus::Error:
      return "error";
    case RunStatus::Killed:
      return "killed";
    case RunStatus::OutOfMemory:
      return "out_of_memory";
  }
  return "unknown";
}

Coroutine::Coroutine(Vm& vm, Ref threadRef, lua_State* thread, int initialArgs, void* hostContext)
    : vm_(vm),
      threadRef_(std::move(threadRef)),
      thread_(thread),
      initialArgs_(initialArgs),
      hostContext_(hostContext),
      budget_(vm.options().cpuBudget) {}

Coroutine::~Coroutine() = default;

tl::expected<std::unique_ptr<Coroutine>, std::string> Coroutine::create(Vm& vm, const Ref& fn,
                                                                        const PushFn& pushArgs,
                                                                        void* hostContext) {
  lua_State* L = vm.state();
  const int top = lua_gettop(L);
  fn.push(L);
  if (lua_type(L, -1) != LUA_TFUNCTION) {
    lua_settop(L, top);
    return tl::unexpected(std::string("Coroutine::create: not a function"));
  }
  lua_State* co = lua_newthread(L);  // [fn, co]
  lua_rawgeti(L, LUA_REGISTRYINDEX, vm.hostThreadsRef_);
  lua_pushvalue(L, -2);
  lua_pushboolean(L, 1);
  lua_rawset(L, -3);  // host_threads[co] = true
  lua_pop(L, 1);
  lua_rawgeti(L, LUA_REGISTRYINDEX, vm.runnerRef_);
  lua_pushvalue(L, -3);
  lua_xmove(L, co, 2);  // co: [run, fn]
  const int nargs = pushArgs ? pushArgs(co) : 0;
  if (nargs < 0 || lua_gettop(co) != nargs + 2) {
    lua_settop(L, top);
    return tl::unexpected(std::string("Coroutine::create: pushArgs miscounted its values"));
  }
  Ref threadRef(vm, L);  // pops co
  lua_settop(L, top);
  // run(fn, args...): fn and its arguments are the runner's arguments.
  return std::unique_ptr<Coroutine>(
      new Coroutine(vm, std::move(threadRef), co, nargs + 1, hostContext));
}

void Coroutine::fail(RunOutcome& outcome, RunStatus status, std::string message) {
  outcome.status = status;
  outcome.message = std::move(message);
  VmContext& ctx = vm_.ctx_;
  if (!ctx.traceback.empty()) {
    outcome.traceback = boundedString(ctx.traceback.data(), ctx.traceback.size());
  } else {  // not raised through run()'s handler (a stray yield, out of memory)
    lua_State* L = vm_.state();
    luaL_traceback(L, thread_, nullptr, 0);
    std::size_t len = 0;
    const char* s = lua_tolstring(L, -1, &len);
    outcome.traceback = boundedString(s, len);
    lua_pop(L, 1);
  }
  state_ = State::Dead;
}

RunOutcome Coroutine::resume(const PushFn& pushValues) {
  RunOutcome outcome;
  VmContext& ctx = vm_.ctx_;
  if (!resumable()) {
    outcome.message = "Coroutine::resume: the coroutine has ended";
    return outcome;
  }
  if (ctx.currentThread != nullptr) {
    outcome.message = "Coroutine::resume: another run is in progress on this Vm";
    return outcome;
  }
  int nargs = 0;
  if (state_ == State::Created) {
    nargs = initialArgs_;
  } else {
    lua_settop(thread_, 0);  // drop the yielded values: only the results go back in
  }
  if (pushValues) nargs += pushValues(thread_);

  ctx.killed = false;
  ctx.interrupted = false;
  ctx.memRefused = false;
  ctx.hostYield = false;
  ctx.traceback.clear();
  ctx.interrupt.store(false, std::memory_order_relaxed);
  // Depth left over from a caught error is gone; a host yield always happens at depth 0.
  ctx.cDepth = 0;
  ctx.paused = {};
  ctx.currentThread = thread_;
  ctx.hostContext = hostContext_;
  const auto start = VmContext::Clock::now();
  // Only time spent running counts: the deadline is what is left of the coroutine's budget.
  ctx.deadline = start + std::max(budget_ - used_, std::chrono::nanoseconds{0});
  ctx.capEnforced = true;
  armBudgetHook(thread_);
  const int status = lua_resume(thread_, nargs);
  disarmBudgetHook(thread_);
  ctx.capEnforced = false;
  used_ += std::max<std::chrono::nanoseconds>(VmContext::Clock::now() - start - ctx.paused,
                                              std::chrono::nanoseconds{0});
  ctx.currentThread = nullptr;
  ctx.hostContext = nullptr;

  // A kill or a refused allocation wins over whatever the script made of it afterwards.
  if (ctx.killed) {
    fail(outcome, RunStatus::Killed,
         ctx.interrupted ? "sandbox: run interrupted" : "sandbox: CPU budget exceeded");
  } else if (ctx.memRefused || status == LUA_ERRMEM) {
    vm_.needsRecycle_ = true;
    fail(outcome, RunStatus::OutOfMemory, "not enough memory");
  } else if (status == 0 && lua_toboolean(thread_, 1)) {  // run() returned true, results...
    lua_remove(thread_, 1);
    state_ = State::Dead;
    outcome.status = RunStatus::Finished;
    outcome.valueCount = lua_gettop(thread_);
  } else if (status == 0) {  // run() returned false, error
    std::string message = errorMessage(thread_);
    fail(outcome, RunStatus::Error, std::move(message));
  } else if (status == LUA_YIELD && ctx.hostYield) {
    state_ = State::Suspended;
    outcome.status = RunStatus::Yielded;
    outcome.valueCount = lua_gettop(thread_);
  } else if (status == LUA_YIELD) {
    // coroutine.yield() at the handler's top level: no host operation is pending.
    fail(outcome, RunStatus::Error,
         whereIn(thread_, 1) + "attempt to yield from outside a coroutine");
  } else {
    std::string message = errorMessage(thread_);
    fail(outcome, RunStatus::Error, std::move(message));
  }
  return outcome;
}

Ref Coroutine::valueRef(int index) const {
  lua_pushvalue(thread_, index);
  return Ref(vm_, thread_);
}

}  // namespace botfn::lua
