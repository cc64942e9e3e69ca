// t(key, vars): the app's texts in the user's language (i18n/<lang>.lua catalogs), falling back
// to the app's default language, then to the key itself; {name} placeholders filled from vars.
// A catalog entry may be a function(vars) -> string for texts that need logic (plurals).
#include <lua.hpp>

#include <optional>

#include "lua/api/modules.hpp"
#include "lua/api/run_state.hpp"
#include "lua/binding.hpp"

namespace botfn::lua {
namespace {

// Pushes catalog[key] for lang if it exists; returns true when something was pushed.
bool lookup(lua_State* L, const AppInstance& app, const std::string& lang, std::string_view key) {
  auto it = app.catalogs.find(lang);
  if (it == app.catalogs.end()) return false;
  it->second.push(L);
  pushString(L, key);
  lua_rawget(L, -2);
  lua_remove(L, -2);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return false;
  }
  return true;
}

std::string fill(lua_State* L, std::string_view tmpl, int vars) {
  std::string out;
  out.reserve(tmpl.size());
  for (size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl[i] == '{' && vars) {
      const size_t close = tmpl.find('}', i);
      if (close != std::string_view::npos && close - i <= 64) {
        const std::string name(tmpl.substr(i + 1, close - i - 1));
        lua_getfield(L, vars, name.c_str());
        if (lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER) {
          size_t len = 0;
          const char* s = lua_tolstring(L, -1, &len);
          out.append(s, len);
          lua_pop(L, 1);
          i = close;
          continue;
        }
        lua_pop(L, 1);
      }
    }
    out.push_back(tmpl[i]);
  }
  return out;
}

/// @lua t(key, vars?) -> string
/// @context update handler
/// @param key string a key of the app's i18n/<lang>.lua catalogs
/// @param vars table? values for {placeholders}
/// @return string the text in ctx.lang (else the app's default language, else the key)
/// @example ctx:reply(t("welcome", { name = ctx.user.first_name }))  -- "Hi, {name}!" in
/// i18n/en.lua
int translate(lua_State* L) {
  auto* run = hostContextAs<RunState>(L);
  if (!run) return raiseError(L, "t: not allowed outside an update handler");
  ArgReader args(L, "t");
  const std::string_view key = args.string(1, "key");
  const int vars = args.isNone(2) ? 0 : args.table(2, "vars");
  if (!lookup(L, *run->app, run->lang, key) && !lookup(L, *run->app, run->app->default_lang, key)) {
    pushString(L, key);
    return 1;
  }
  if (lua_isfunction(L, -1)) {
    vars ? lua_pushvalue(L, vars) : lua_newtable(L);
    protectedCallback(L, 1, 1, "t");
    if (lua_type(L, -1) != LUA_TSTRING)
      return raiseError(L, "t: catalog function for '%.*s' must return a string",
                        static_cast<int>(key.size()), key.data());
    return 1;
  }
  if (lua_type(L, -1) != LUA_TSTRING) {
    return raiseError(L, "t: catalog entry '%.*s' must be a string or a function",
                      static_cast<int>(key.size()), key.data());
  }
  std::optional<CallbackScope> nesting;  // vars' __index may call t() again
  if (vars) nesting.emplace(L, "t");
  const std::string text = fill(L, stringAt(L, -1), vars);
  pushString(L, text);
  return 1;
}

}  // namespace

lua_CFunction translateFunction() { return wrap<translate>; }

}  // namespace botfn::lua
