// Helpers for native Lua modules (runtime/lua/api/): an exception-catching wrapper, argument
// checks that name the full API function, string helpers, the per-run host context, yielding
// to the host, and the shared C-nesting counter for functions that call back into Lua.
// Implemented in binding.cpp and c_nesting.cpp; modules are published with Vm::registerModule().
#pragma once

#include <lua.hpp>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <string_view>
#include <type_traits>

#include "lua/vm_context.hpp"

namespace botfn::lua {

// Raises a Lua error "<file:line of the calling script>: <formatted message>".
int raiseError(lua_State* L, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

namespace detail {
inline constexpr std::size_t kMaxCaughtMessage = 512;
void copyMessage(char* dst, std::size_t capacity, const char* src) noexcept;
int raiseCaught(lua_State* L, const char* message);
}  // namespace detail

// `lua_CFunction` wrapper: a std::exception thrown by `Fn` becomes a Lua error carrying what().
// The error is raised after the catch block has been left, so no C++ exception object is live
// while Lua unwinds. Lua errors raised inside `Fn` pass through untouched.
//   constexpr luaL_Reg kFuncs[] = {{"reply", wrap<ctxReply>}, {nullptr, nullptr}};
template <auto Fn>
int wrap(lua_State* L) {
  static_assert(std::is_invocable_r_v<int, decltype(Fn), lua_State*>,
                "wrap<Fn>: Fn must be callable as int(lua_State*)");
  char message[detail::kMaxCaughtMessage];
  try {
    return Fn(L);
  } catch (const std::exception& e) {
    detail::copyMessage(message, sizeof message, e.what());
  }
  return detail::raiseCaught(L, message);
}

// Strict argument checks (no string<->number coercion) with messages like
//   ctx:reply: bad argument #1 'text' (string expected, got table)
// Argument numbers are as the script sees them: for a method (`selfCount` = 1) #1 is the first
// argument after self. Every check raises a Lua error on failure.
class ArgReader {
 public:
  ArgReader(lua_State* L, const char* apiName, int selfCount = 0) noexcept
      : L_(L), apiName_(apiName), selfCount_(selfCount) {}

  int count() const noexcept { return lua_gettop(L_) - selfCount_; }
  int index(int n) const noexcept { return n + selfCount_; }
  bool isNone(int n) const noexcept { return lua_type(L_, index(n)) <= LUA_TNIL; }

  std::string_view string(int n, const char* name) const;
  std::optional<std::string_view> optString(int n, const char* name) const;
  double number(int n, const char* name) const;
  std::optional<double> optNumber(int n, const char* name) const;
  // Integral numbers within +-2^53 only.
  std::int64_t integer(int n, const char* name) const;
  std::optional<std::int64_t> optInteger(int n, const char* name) const;
  bool boolean(int n, const char* name) const;
  std::optional<bool> optBoolean(int n, const char* name) const;
  // These return the absolute stack index of the argument.
  int table(int n, const char* name) const;
  int function(int n, const char* name) const;

  // Raises "<api>: bad argument #n 'name' (<expected> expected, got <type>)".
  int fail(int n, const char* name, const char* expected) const;
  const char* apiName() const noexcept { return apiName_; }

 private:
  lua_State* L_;
  const char* apiName_;
  int selfCount_;
};

inline void pushString(lua_State* L, std::string_view s) { lua_pushlstring(L, s.data(), s.size()); }

// The string at `idx` without coercion or metamethods; empty unless it is a Lua string.
inline std::string_view stringAt(lua_State* L, int idx) noexcept {
  if (lua_type(L, idx) != LUA_TSTRING) return {};
  std::size_t len = 0;
  const char* s = lua_tolstring(L, idx, &len);
  return {s, len};
}

// luaL_newmetatable plus `__metatable = false`, so scripts can neither read nor replace it.
// Returns false if `tname` already existed (then the existing one is pushed).
bool newHiddenMetatable(lua_State* L, const char* tname);

// A read-only table (a frozen module table, a sandbox library) keeps its fields in a backing
// table (sandbox_prelude.cpp). Pushes that backing table and returns true, or pushes nothing.
bool pushFrozenFields(lua_State* L, int idx);

// Calls fn() for each field of the table at absolute index `idx`, key at -2 and value at -1
// (fn leaves the stack as it found it); raw like lua_next, and a read-only table's backing
// fields included. No metamethod runs.
template <class Fn>
void forEachField(lua_State* L, int idx, Fn&& fn) {
  const int backing = pushFrozenFields(L, idx) ? lua_gettop(L) : 0;
  for (const int table : {idx, backing}) {
    if (table == 0) continue;
    lua_pushnil(L);
    while (lua_next(L, table) != 0) {
      fn();
      lua_pop(L, 1);
    }
  }
  if (backing != 0) lua_remove(L, backing);
}

// The host pointer of the run in progress (Coroutine::setHostContext), e.g. the update's state.
void* hostContext(lua_State* L) noexcept;
template <class T>
T* hostContextAs(lua_State* L) noexcept {
  return static_cast<T*>(hostContext(L));
}
// The per-VM pointer given in VmOptions::userData.
void* vmUserData(lua_State* L) noexcept;

// Suspends the handler's coroutine:  `return yieldToHost(L, "http.get", 0);`
// Register the pending operation in the host context first. The host sees RunStatus::Yielded
// with `nvalues` values; what it pushes on resume becomes this function's results.
// Raises if called from a coroutine the script created or from inside a C call back into Lua.
int yieldToHost(lua_State* L, const char* apiName, int nvalues);
bool canYieldToHost(lua_State* L) noexcept;

// The C-nesting counter shared with the sandbox's gsub/sort/format/tostring guards.
// enterCallback raises "<api>: sandbox: C stack nesting too deep" above the limit.
void enterCallback(lua_State* L, const char* apiName);
void leaveCallback(lua_State* L) noexcept;
// lua_pcall between enterCallback/leaveCallback; the callee's error is rethrown unchanged.
// Use it for every call from a host function back into Lua (like lua_call(L, nargs, nresults)).
void protectedCallback(lua_State* L, int nargs, int nresults, const char* apiName);

// enterCallback/leaveCallback around a scope in which a host function reads a script's table:
// lua_getfield runs __index, which may call the same host function again, one C frame deeper
// each time (LUA_SANDBOX.md section 3.5). The depth is given back when a Lua error unwinds the
// scope too; the runner resets it at every resume in any case.
class CallbackScope {
 public:
  CallbackScope(lua_State* L, const char* apiName) : L_(L) { enterCallback(L, apiName); }
  ~CallbackScope() { leaveCallback(L_); }
  CallbackScope(const CallbackScope&) = delete;
  CallbackScope& operator=(const CallbackScope&) = delete;

 private:
  lua_State* L_;
};

// Time spent in its scope (a blocking host operation) is not charged to the run's CPU budget.
class BudgetPause {
 public:
  explicit BudgetPause(lua_State* L) noexcept;
  ~BudgetPause();
  BudgetPause(const BudgetPause&) = delete;
  BudgetPause& operator=(const BudgetPause&) = delete;

 private:
  VmContext& ctx_;
  VmContext::Clock::time_point start_;
};

}  // namespace botfn::lua
