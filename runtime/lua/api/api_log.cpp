// log: script log lines through the "lua" logger, tagged with the update's trace id.
#include <lua.hpp>

#include "core/log.hpp"
#include "lua/api/modules.hpp"
#include "lua/binding.hpp"

namespace botfn::lua {
namespace {

template <spdlog::level::level_enum Level>
int logAt(lua_State* L) {
  ArgReader args(L, "log");
  std::string text;
  for (int i = 1; i <= args.count(); ++i) {
    if (i > 1) text += ' ';
    size_t len = 0;
    if (lua_type(L, i) == LUA_TSTRING || lua_type(L, i) == LUA_TNUMBER) {
      const char* s = lua_tolstring(L, i, &len);
      text.append(s, std::min(len, size_t{4096}));
    } else {
      text += luaL_typename(L, i);
    }
  }
  log::get("lua")->log(Level, "{}", text);
  return 0;
}

/// @lua log.info(...), log.warn(...), log.error(...)
/// @context everywhere
/// @param ... strings or numbers, joined by spaces (other values print as their type)
/// @return nothing; the line carries the update id as its trace id
/// @example log.info("registered", ctx.user_id)
constexpr luaL_Reg kLog[] = {{"info", wrap<logAt<spdlog::level::info>>},
                             {"warn", wrap<logAt<spdlog::level::warn>>},
                             {"error", wrap<logAt<spdlog::level::err>>},
                             {"debug", wrap<logAt<spdlog::level::debug>>},
                             {nullptr, nullptr}};

}  // namespace

const luaL_Reg* logFunctions() { return kLog; }

}  // namespace botfn::lua
