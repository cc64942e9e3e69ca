// string.find/match/gmatch/gsub over pattern::Matcher, with LuaJIT's argument handling, results
// and error messages. The matcher polls budgetSpent() (budget_hook.cpp); a spent budget raises
// the hook's sticky kill. Installed into the real string table by sandbox.cpp.
#include "lua/pattern_lib.hpp"

#include <lua.hpp>

#include <climits>
#include <cstdint>
#include <cstring>

#include "lua/binding.hpp"
#include "lua/budget_hook.hpp"
#include "lua/pattern_match.hpp"

namespace botfn::lua {

namespace {

using pattern::Failure;
using pattern::Matcher;

bool budgetLeft(void* L) { return !budgetSpent(static_cast<lua_State*>(L)); }

int raiseFailure(lua_State* L, Failure failure) {
  if (failure == Failure::BudgetSpent) return raiseBudgetKill(L);
  return luaL_error(L, "%s", pattern::failureMessage(failure));
}

// LuaJIT reads init and n as 32-bit integers: truncated, and INT_MIN when out of range.
std::int32_t optInt32(lua_State* L, int idx, std::int32_t fallback) {
  if (lua_isnoneornil(L, idx)) return fallback;
  const lua_Number n = luaL_checknumber(L, idx);
  if (n >= -2147483648.0 && n < 2147483648.0) return static_cast<std::int32_t>(n);
  return INT32_MIN;
}

// The 0-based offset where a search starts: init counts from 1, negative from the end, and is
// clamped into [0, len] (Lua 5.1: an init past the end still matches an empty pattern there).
std::size_t startOffset(std::int32_t init, std::size_t len) {
  std::int64_t start = init < 0 ? init + static_cast<std::int64_t>(len) : init - 1;
  if (start < 0) start = 0;
  if (static_cast<std::size_t>(start) > len) start = static_cast<std::int64_t>(len);
  return static_cast<std::size_t>(start);
}

// Capture i of the last match; with no captures, capture 0 is the whole match.
void pushCapture(lua_State* L, const Matcher& m, int i) {
  if (i >= m.captureCount()) {
    if (i != 0) luaL_error(L, "%s", pattern::failureMessage(Failure::InvalidCaptureIndex));
    lua_pushlstring(L, m.subject() + m.matchBegin(), m.matchEnd() - m.matchBegin());
    return;
  }
  const pattern::Capture& capture = m.capture(i);
  if (capture.len == pattern::kCaptureUnfinished) {
    luaL_error(L, "%s", pattern::failureMessage(Failure::UnfinishedCapture));
  }
  if (capture.len == pattern::kCapturePosition) {
    lua_pushinteger(L, capture.begin - m.subject() + 1);
  } else {
    lua_pushlstring(L, capture.begin, static_cast<std::size_t>(capture.len));
  }
}

int pushCaptures(lua_State* L, const Matcher& m, bool wholeIfNone) {
  const int n = m.captureCount() == 0 && wholeIfNone ? 1 : m.captureCount();
  luaL_checkstack(L, n, "too many captures");
  for (int i = 0; i < n; ++i) pushCapture(L, m, i);
  return n;
}

int findOrMatch(lua_State* L, bool find) {
  std::size_t ls = 0;
  std::size_t lp = 0;
  const char* s = luaL_checklstring(L, 1, &ls);
  const char* p = luaL_checklstring(L, 2, &lp);
  const std::size_t start = startOffset(optInt32(L, 3, 1), ls);
  if (find && (lua_toboolean(L, 4) || !pattern::hasSpecials(p, lp))) {
    const char* at = pattern::findPlain(s + start, ls - start, p, lp);
    if (at == nullptr) {
      lua_pushnil(L);
      return 1;
    }
    const std::ptrdiff_t pos = at - s;
    lua_pushinteger(L, pos + 1);
    lua_pushinteger(L, pos + static_cast<std::ptrdiff_t>(lp));
    return 2;
  }
  const bool anchored = lp > 0 && p[0] == '^';
  Matcher m(s, ls, p + anchored, lp - anchored, budgetLeft, L);
  if (!m.search(start, anchored)) {
    if (m.failure() != Failure::None) return raiseFailure(L, m.failure());
    lua_pushnil(L);
    return 1;
  }
  if (!find) return pushCaptures(L, m, true);
  lua_pushinteger(L, static_cast<lua_Integer>(m.matchBegin() + 1));
  lua_pushinteger(L, static_cast<lua_Integer>(m.matchEnd()));
  return 2 + pushCaptures(L, m, false);
}

int strFind(lua_State* L) { return findOrMatch(L, true); }
int strMatch(lua_State* L) { return findOrMatch(L, false); }

// The gmatch iterator; upvalues: subject, pattern, next start offset. '^' is a literal here.
int gmatchStep(lua_State* L) {
  std::size_t ls = 0;
  std::size_t lp = 0;
  const char* s = lua_tolstring(L, lua_upvalueindex(1), &ls);
  const char* p = lua_tolstring(L, lua_upvalueindex(2), &lp);
  const auto from = static_cast<std::size_t>(lua_tointeger(L, lua_upvalueindex(3)));
  if (from > ls) return 0;
  Matcher m(s, ls, p, lp, budgetLeft, L);
  if (!m.search(from, false)) {
    if (m.failure() != Failure::None) return raiseFailure(L, m.failure());
    return 0;
  }
  // After an empty match the next search starts one character later, or it would repeat.
  const std::size_t next = m.matchEnd() == m.matchBegin() ? m.matchEnd() + 1 : m.matchEnd();
  lua_pushinteger(L, static_cast<lua_Integer>(next));
  lua_replace(L, lua_upvalueindex(3));
  return pushCaptures(L, m, true);
}

int strGmatch(lua_State* L) {
  luaL_checkstring(L, 1);
  luaL_checkstring(L, 2);
  lua_settop(L, 2);
  lua_pushinteger(L, 0);
  lua_pushcclosure(L, gmatchStep, 3);
  return 1;
}

// t[k] for a replacement table with a metatable: __index may run Lua, so it is guarded.
int indexTable(lua_State* L) {
  lua_gettable(L, 1);
  return 1;
}

// A string replacement: %0 is the match, %1-%9 its captures, %x any other x (a trailing % adds
// the NUL byte that ends the C string in LuaJIT).
void addTemplate(lua_State* L, luaL_Buffer* b, const Matcher& m, const char* r, std::size_t lr) {
  const char* end = r + lr;
  while (r < end) {
    const auto* percent = static_cast<const char*>(std::memchr(r, '%', end - r));
    if (percent == nullptr) {
      luaL_addlstring(b, r, end - r);
      return;
    }
    luaL_addlstring(b, r, percent - r);
    r = percent + 1;
    const char c = r < end ? *r : '\0';
    if (r < end) ++r;
    if (c < '0' || c > '9') {
      luaL_addchar(b, c);
    } else if (c == '0') {
      luaL_addlstring(b, m.subject() + m.matchBegin(), m.matchEnd() - m.matchBegin());
    } else {
      pushCapture(L, m, c - '1');
      luaL_addvalue(b);
    }
  }
}

// Appends the replacement of the current match. Function and table replacements run Lua, so
// they pass through the C-nesting guard (protectedCallback) like every host callback.
void addReplacement(lua_State* L, luaL_Buffer* b, const Matcher& m, int replType) {
  if (replType == LUA_TSTRING || replType == LUA_TNUMBER) {
    std::size_t lr = 0;
    const char* r = lua_tolstring(L, 3, &lr);
    addTemplate(L, b, m, r, lr);
    return;
  }
  if (replType == LUA_TFUNCTION) {
    lua_pushvalue(L, 3);
    const int n = pushCaptures(L, m, true);
    protectedCallback(L, n, 1, "string.gsub");
  } else {
    pushCapture(L, m, 0);  // key
    lua_pushvalue(L, -1);
    lua_rawget(L, 3);  // stack: ..., key, rawvalue
    if (lua_isnil(L, -1) && lua_getmetatable(L, 3)) {
      lua_pop(L, 2);  // stack: ..., key
      lua_pushcfunction(L, indexTable);
      lua_pushvalue(L, 3);
      lua_pushvalue(L, -3);  // stack: ..., key, indexTable, t, key
      protectedCallback(L, 2, 1, "string.gsub");
    }
    lua_remove(L, -2);  // stack: ..., value
  }
  if (!lua_toboolean(L, -1)) {  // false or nil keeps the match unchanged
    lua_pop(L, 1);
    luaL_addlstring(b, m.subject() + m.matchBegin(), m.matchEnd() - m.matchBegin());
  } else if (!lua_isstring(L, -1)) {
    luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
  } else {
    luaL_addvalue(b);
  }
}

int strGsub(lua_State* L) {
  std::size_t ls = 0;
  std::size_t lp = 0;
  const char* s = luaL_checklstring(L, 1, &ls);
  const char* p = luaL_checklstring(L, 2, &lp);
  const int replType = lua_type(L, 3);
  const std::int32_t maxN = optInt32(L, 4, static_cast<std::int32_t>(ls + 1));
  luaL_argcheck(L,
                replType == LUA_TNUMBER || replType == LUA_TSTRING || replType == LUA_TFUNCTION ||
                    replType == LUA_TTABLE,
                3, "string/function/table expected");
  const bool anchored = lp > 0 && p[0] == '^';
  Matcher m(s, ls, p + anchored, lp - anchored, budgetLeft, L);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  std::size_t src = 0;
  std::int32_t n = 0;
  while (n < maxN) {
    if (!m.search(src, anchored)) {
      if (m.failure() != Failure::None) return raiseFailure(L, m.failure());
      break;
    }
    luaL_addlstring(&b, s + src, m.matchBegin() - src);
    src = m.matchBegin();
    ++n;
    addReplacement(L, &b, m, replType);
    if (m.matchEnd() > src) {
      src = m.matchEnd();
    } else if (src < ls) {  // an empty match: copy one character and go on after it
      luaL_addchar(&b, s[src]);
      ++src;
    } else {
      break;
    }
    if (anchored) break;
  }
  if (n == 0) {  // nothing replaced: the subject itself, without a copy
    lua_pushvalue(L, 1);
    lua_pushinteger(L, 0);
    return 2;
  }
  luaL_addlstring(&b, s + src, ls - src);
  luaL_pushresult(&b);
  lua_pushinteger(L, n);
  return 2;
}

}  // namespace

void installPatternFunctions(lua_State* L) {
  static constexpr luaL_Reg kFunctions[] = {{"find", strFind},
                                            {"match", strMatch},
                                            {"gmatch", strGmatch},
                                            {"gsub", strGsub},
                                            {nullptr, nullptr}};
  lua_getfield(L, LUA_GLOBALSINDEX, "string");  // stack: string
  for (const luaL_Reg* reg = kFunctions; reg->name != nullptr; ++reg) {
    lua_pushcfunction(L, reg->func);
    lua_setfield(L, -2, reg->name);
  }
  lua_pop(L, 1);
}

}  // namespace botfn::lua
