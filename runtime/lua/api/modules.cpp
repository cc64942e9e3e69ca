// The only list of what scripts can see besides the sandbox's SAFE globals.
// | name | kind | where it may run |
// | ctx  | argument of handlers | update handlers |
// | db   | module (query, exec) | update handlers |
// | http | module (request)     | update handlers |
// | log  | module (info, warn, error, debug) | everywhere |
// | t    | function             | update handlers |
#include "lua/api/modules.hpp"

#include <lua.hpp>

#include <stdexcept>

#include "lua/api/api_ctx.hpp"
#include "lua/vm.hpp"

namespace botfn::lua {

void installModules(Vm& vm) {
  auto check = [](tl::expected<void, std::string> r) {
    if (!r) throw std::runtime_error("installing Lua modules: " + r.error());
  };
  check(vm.registerModule("db", dbFunctions()));
  check(vm.registerModule("http", httpFunctions()));
  check(vm.registerModule("log", logFunctions()));
  check(vm.registerValue("t", [](lua_State* L) {
    lua_pushcfunction(L, translateFunction());
    return 1;
  }));
  installCtxType(vm.state());
}

}  // namespace botfn::lua
