// string.find/match/gmatch/gsub over pattern::Matcher, with LuaJIT's argument handling, results
// and error messages. The matcher polls budgetSpent() (budget_hook.cpp); a spent budget raises
// the hook's sticky kill. Installed into the real string table by sandbox.cpp.
#include "lua/pattern_lib.hpp"

#include <lua.hpp>

#include <climits>
#include <cstdint>
#include <cstring>
#include <new>
#include <type_traits>

#include "lua/binding.hpp"
#include "lua/budget_hook.hpp"
#include "lua/pattern_match.hpp"

namespace botfn::lua {

namespace {

using pattern::Failure;
using pattern::Matcher;

bool budgetLeft(void* L) { return !budgetSpent(static_cast<lua_State*>(L)); }

// Errors carry the position of the calling script, as LuaJIT's do. `level` is 1, or 2 inside
// gsub's guarded half, which runs below the C function the script called.
int raiseAt(lua_State* L, int level, const char* message) {
  luaL_where(L, level);
  lua_pushstring(L, message);
  lua_concat(L, 2);
  return lua_error(L);
}

int raiseFailure(lua_State* L, Failure failure, int level = 1) {
  if (failure == Failure::BudgetSpent) return raiseBudgetKill(L);
  return raiseAt(L, level, pattern::failureMessage(failure));
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
void pushCapture(lua_State* L, const Matcher& m, int i, int level = 1) {
  if (i >= m.captureCount()) {
    if (i != 0) raiseFailure(L, Failure::InvalidCaptureIndex, level);
    lua_pushlstring(L, m.subject() + m.matchBegin(), m.matchEnd() - m.matchBegin());
    return;
  }
  const pattern::Capture& capture = m.capture(i);
  if (capture.len == pattern::kCaptureUnfinished) {
    raiseFailure(L, Failure::UnfinishedCapture, level);
  }
  if (capture.len == pattern::kCapturePosition) {
    lua_pushinteger(L, capture.begin - m.subject() + 1);
  } else {
    lua_pushlstring(L, capture.begin, static_cast<std::size_t>(capture.len));
  }
}

int pushCaptures(lua_State* L, const Matcher& m, bool wholeIfNone, int level = 1) {
  const int n = m.captureCount() == 0 && wholeIfNone ? 1 : m.captureCount();
  luaL_checkstack(L, n, "too many captures");
  for (int i = 0; i < n; ++i) pushCapture(L, m, i, level);
  return n;
}

int findOrMatch(lua_State* L, bool find) {
  std::size_t ls = 0;
  std::size_t lp = 0;
  const char* s = luaL_checklstring(L, 1, &ls);
  const char* p = luaL_checklstring(L, 2, &lp);
  const int top = lua_gettop(L);  // absent arguments cost no stack lookups
  const std::size_t start = startOffset(top >= 3 ? optInt32(L, 3, 1) : 1, ls);
  if (find && ((top >= 4 && lua_toboolean(L, 4)) || !pattern::hasSpecials(p, lp))) {
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
// (A Matcher kept in a userdata upvalue measured slower: its allocation costs more per loop
// than setting one up per step.)
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

// luaL_addlstring copies byte by byte; a memcpy while the buffer has room.
void addBytes(luaL_Buffer* b, const char* s, std::size_t len) {
  const auto room = static_cast<std::size_t>(b->buffer + LUAL_BUFFERSIZE - b->p);
  if (len <= room) {
    std::memcpy(b->p, s, len);
    luaL_addsize(b, len);
  } else {
    luaL_addlstring(b, s, len);
  }
}

void addMatch(luaL_Buffer* b, const Matcher& m) {
  addBytes(b, m.subject() + m.matchBegin(), m.matchEnd() - m.matchBegin());
}

// A string replacement: %0 is the match, %1-%9 its captures, %x any other x (a trailing % adds
// the NUL byte that ends the C string in LuaJIT).
void addTemplate(lua_State* L, luaL_Buffer* b, const Matcher& m, const char* r, std::size_t lr,
                 int level) {
  const char* end = r + lr;
  while (r < end) {
    const char* percent = r;
    while (percent < end && *percent != '%') ++percent;
    addBytes(b, r, percent - r);
    if (percent == end) return;
    r = percent + 1;
    const char c = r < end ? *r : '\0';
    if (r < end) ++r;
    if (c < '0' || c > '9') {
      luaL_addchar(b, c);
    } else if (c == '0') {
      addMatch(b, m);
    } else {
      pushCapture(L, m, c - '1', level);
      luaL_addvalue(b);
    }
  }
}

// gsub's checked arguments: subject, pattern, replacement (its text when it is a string or a
// number) and the most replacements to make.
struct GsubArgs {
  const char* s = nullptr;
  std::size_t ls = 0;
  const char* p = nullptr;
  std::size_t lp = 0;
  int replType = LUA_TNIL;
  const char* r = nullptr;
  std::size_t lr = 0;
  std::int32_t maxN = 0;
};

// Checks and reads gsub's arguments in LuaJIT's order, so bad ones fail with the same message.
GsubArgs readGsubArgs(lua_State* L) {
  GsubArgs a;
  a.s = luaL_checklstring(L, 1, &a.ls);
  a.p = luaL_checklstring(L, 2, &a.lp);
  a.replType = lua_type(L, 3);
  a.maxN = optInt32(L, 4, static_cast<std::int32_t>(a.ls + 1));
  luaL_argcheck(L,
                a.replType == LUA_TNUMBER || a.replType == LUA_TSTRING ||
                    a.replType == LUA_TFUNCTION || a.replType == LUA_TTABLE,
                3, "string/function/table expected");
  if (a.replType == LUA_TNUMBER || a.replType == LUA_TSTRING) a.r = lua_tolstring(L, 3, &a.lr);
  return a;
}

// Appends the replacement of the current match.
void addReplacement(lua_State* L, luaL_Buffer* b, const Matcher& m, const GsubArgs& a, int level) {
  if (a.r != nullptr) {
    addTemplate(L, b, m, a.r, a.lr, level);
    return;
  }
  if (a.replType == LUA_TFUNCTION) {
    lua_pushvalue(L, 3);
    const int n = pushCaptures(L, m, true, level);
    lua_call(L, n, 1);
  } else {
    pushCapture(L, m, 0, level);
    lua_gettable(L, 3);
  }
  if (!lua_toboolean(L, -1)) {  // false or nil keeps the match unchanged
    lua_pop(L, 1);
    addMatch(b, m);
  } else if (!lua_isstring(L, -1)) {
    lua_pushfstring(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
    raiseAt(L, level, lua_tostring(L, -1));
  } else {
    luaL_addvalue(b);
  }
}

// The work of gsub; `level` as in raiseAt().
int gsubWork(lua_State* L, const GsubArgs& a, int level) {
  const bool anchored = a.lp > 0 && a.p[0] == '^';
  Matcher m(a.s, a.ls, a.p + anchored, a.lp - anchored, budgetLeft, L);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  std::size_t src = 0;
  std::int32_t n = 0;
  while (n < a.maxN) {
    if (!m.search(src, anchored)) {
      if (m.failure() != Failure::None) return raiseFailure(L, m.failure(), level);
      break;
    }
    addBytes(&b, a.s + src, m.matchBegin() - src);
    src = m.matchBegin();
    ++n;
    addReplacement(L, &b, m, a, level);
    if (m.matchEnd() > src) {
      src = m.matchEnd();
    } else if (src < a.ls) {  // an empty match: copy one character and go on after it
      luaL_addchar(&b, a.s[src]);
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
  addBytes(&b, a.s + src, a.ls - src);
  luaL_pushresult(&b);
  lua_pushinteger(L, n);
  return 2;
}

int gsubGuarded(lua_State* L) { return gsubWork(L, readGsubArgs(L), 2); }

// Function and table replacements run Lua from inside gsub, so the whole call passes through the
// C-nesting guard once: counted, and protected so the count stays exact when a callback fails.
// Upvalue 1 is gsubGuarded (no closure is allocated per call).
int strGsub(lua_State* L) {
  const GsubArgs a = readGsubArgs(L);
  if (a.replType != LUA_TFUNCTION && a.replType != LUA_TTABLE) return gsubWork(L, a, 1);
  lua_settop(L, 4);
  enterCallback(L, "string.gsub");
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);  // stack: gsubGuarded, s, p, repl, n
  const int status = lua_pcall(L, 4, 2, 0);
  leaveCallback(L);
  if (status != 0) return lua_error(L);
  return 2;
}

}  // namespace

void installPatternFunctions(lua_State* L) {
  static constexpr luaL_Reg kFunctions[] = {
      {"find", strFind}, {"match", strMatch}, {"gmatch", strGmatch}, {nullptr, nullptr}};
  lua_getfield(L, LUA_GLOBALSINDEX, "string");  // stack: string
  for (const luaL_Reg* reg = kFunctions; reg->name != nullptr; ++reg) {
    lua_pushcfunction(L, reg->func);
    lua_setfield(L, -2, reg->name);
  }
  lua_pushcfunction(L, gsubGuarded);
  lua_pushcclosure(L, strGsub, 1);
  lua_setfield(L, -2, "gsub");  // stack: string
  lua_pop(L, 1);
}

}  // namespace botfn::lua
