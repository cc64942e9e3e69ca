// Non-template parts of binding.hpp: error raising with the script's position, argument checks,
// host context access, yielding to the host and BudgetPause.
// Uses vm_context.hpp and the Lua C API; called by native modules in runtime/lua/api/.
#include "lua/binding.hpp"

#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>

namespace botfn::lua {

namespace {

constexpr double kMaxExactInteger = 9007199254740992.0;  // 2^53

// "file:line: " of the nearest Lua caller; C functions have no line, so level 2 is tried next.
void pushWhere(lua_State* L) {
  lua_Debug ar;
  for (int level = 1; level <= 2; ++level) {
    if (lua_getstack(L, level, &ar) == 0) break;
    lua_getinfo(L, "Sl", &ar);
    if (ar.currentline > 0) {
      lua_pushfstring(L, "%s:%d: ", ar.short_src, ar.currentline);
      return;
    }
  }
  lua_pushliteral(L, "");
}

const char* typeNameAt(lua_State* L, int idx) {
  const int t = lua_type(L, idx);
  return t == LUA_TNONE ? "no value" : lua_typename(L, t);
}

}  // namespace

int raiseError(lua_State* L, const char* fmt, ...) {
  char message[1024];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(message, sizeof message, fmt, args);
  va_end(args);
  pushWhere(L);
  lua_pushstring(L, message);
  lua_concat(L, 2);
  return lua_error(L);
}

namespace detail {

void copyMessage(char* dst, std::size_t capacity, const char* src) noexcept {
  if (capacity == 0) return;
  if (src == nullptr) src = "unknown C++ exception";
  std::strncpy(dst, src, capacity - 1);
  dst[capacity - 1] = '\0';
}

int raiseCaught(lua_State* L, const char* message) { return raiseError(L, "%s", message); }

}  // namespace detail

int ArgReader::fail(int n, const char* name, const char* expected) const {
  return raiseError(L_, "%s: bad argument #%d '%s' (%s expected, got %s)", apiName_, n, name,
                    expected, typeNameAt(L_, index(n)));
}

std::string_view ArgReader::string(int n, const char* name) const {
  if (lua_type(L_, index(n)) != LUA_TSTRING) fail(n, name, "string");
  return stringAt(L_, index(n));
}

std::optional<std::string_view> ArgReader::optString(int n, const char* name) const {
  if (isNone(n)) return std::nullopt;
  return string(n, name);
}

double ArgReader::number(int n, const char* name) const {
  if (lua_type(L_, index(n)) != LUA_TNUMBER) fail(n, name, "number");
  return lua_tonumber(L_, index(n));
}

std::optional<double> ArgReader::optNumber(int n, const char* name) const {
  if (isNone(n)) return std::nullopt;
  return number(n, name);
}

std::int64_t ArgReader::integer(int n, const char* name) const {
  if (lua_type(L_, index(n)) != LUA_TNUMBER) fail(n, name, "integer");
  const double d = lua_tonumber(L_, index(n));
  if (!(std::fabs(d) <= kMaxExactInteger) || std::floor(d) != d) {
    raiseError(L_, "%s: bad argument #%d '%s' (integer expected, got %.17g)", apiName_, n, name, d);
  }
  return static_cast<std::int64_t>(d);
}

std::optional<std::int64_t> ArgReader::optInteger(int n, const char* name) const {
  if (isNone(n)) return std::nullopt;
  return integer(n, name);
}

bool ArgReader::boolean(int n, const char* name) const {
  if (lua_type(L_, index(n)) != LUA_TBOOLEAN) fail(n, name, "boolean");
  return lua_toboolean(L_, index(n)) != 0;
}

std::optional<bool> ArgReader::optBoolean(int n, const char* name) const {
  if (isNone(n)) return std::nullopt;
  return boolean(n, name);
}

int ArgReader::table(int n, const char* name) const {
  if (lua_type(L_, index(n)) != LUA_TTABLE) fail(n, name, "table");
  return index(n);
}

int ArgReader::function(int n, const char* name) const {
  if (lua_type(L_, index(n)) != LUA_TFUNCTION) fail(n, name, "function");
  return index(n);
}

bool newHiddenMetatable(lua_State* L, const char* tname) {
  if (luaL_newmetatable(L, tname) == 0) return false;
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  return true;
}

void* hostContext(lua_State* L) noexcept { return contextOf(L).hostContext; }

void* vmUserData(lua_State* L) noexcept { return contextOf(L).userData; }

bool pushFrozenFields(lua_State* L, int idx) {
  if (lua_type(L, idx) != LUA_TTABLE || lua_getmetatable(L, idx) == 0) return false;
  lua_pushliteral(L, "__frozen");
  lua_rawget(L, -2);  // [meta, backing]
  if (lua_type(L, -1) == LUA_TTABLE) {
    lua_remove(L, -2);
    return true;
  }
  lua_pop(L, 2);
  return false;
}

bool canYieldToHost(lua_State* L) noexcept {
  const VmContext& ctx = contextOf(L);
  // Inside a guarded C call (cDepth > 0) a C frame sits between us and the resume.
  return L == ctx.currentThread && ctx.cDepth == 0;
}

int yieldToHost(lua_State* L, const char* apiName, int nvalues) {
  if (!canYieldToHost(L)) {
    return raiseError(L,
                      "%s: cannot wait here (inside a coroutine or callback created by the "
                      "script)",
                      apiName);
  }
  contextOf(L).hostYield = true;
  return lua_yield(L, nvalues);
}

BudgetPause::BudgetPause(lua_State* L) noexcept
    : ctx_(contextOf(L)), start_(VmContext::Clock::now()) {}

BudgetPause::~BudgetPause() {
  const auto elapsed = VmContext::Clock::now() - start_;
  ctx_.deadline += elapsed;
  ctx_.paused += elapsed;
}

}  // namespace botfn::lua
