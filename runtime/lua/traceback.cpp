// luaCaptureTraceback: the xpcall handler of the prelude's run(). Uses luaL_traceback and
// VmContext; called by LuaJIT when a host coroutine's function raises.
#include "lua/traceback.hpp"

#include <lua.hpp>

#include <string_view>

#include "lua/vm_context.hpp"

namespace botfn::lua {

namespace {

// run() tail-calls xpcall, so the bottom frame is always that xpcall ("[builtin#21]: at 0x...",
// an address not worth logging).
std::string_view withoutRunnerFrame(std::string_view traceback) {
  const auto last = traceback.rfind("\n\t");
  if (last == std::string_view::npos) return traceback;
  const std::string_view bottom = traceback.substr(last);
  const bool isRunner = bottom.find("[builtin#") != std::string_view::npos ||
                        bottom.find("'xpcall'") != std::string_view::npos;
  return isRunner ? traceback.substr(0, last) : traceback;
}

}  // namespace

int luaCaptureTraceback(lua_State* L) {
  VmContext& ctx = contextOf(L);
  lua_settop(L, 1);
  luaL_traceback(L, L, nullptr, 1);
  std::size_t len = 0;
  const char* s = lua_tolstring(L, -1, &len);
  // Host memory: a failed assign just leaves the traceback empty. No Lua API runs inside.
  try {
    ctx.traceback.assign(withoutRunnerFrame(std::string_view(s, len)));
  } catch (...) {
    ctx.traceback.clear();
  }
  lua_pop(L, 1);
  return 1;
}

}  // namespace botfn::lua
