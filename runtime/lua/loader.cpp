// Loader: text-only compilation with @relative chunk names, per-env `require` and the module
// cache (LUA_SANDBOX.md §4.2 step 4). Uses module_resolver.cpp, Vm envs and the C-nesting
// counter (require calls back into Lua). Created by the flow app registry; used by tests.
#include "lua/loader.hpp"

#include <lua.hpp>

#include <fstream>
#include <iterator>
#include <utility>

#include "lua/binding.hpp"

namespace botfn::lua {

namespace {

// Marks a module whose chunk is still running, to report require cycles.
char kLoadingSentinel;

constexpr unsigned char kBytecodeSignature = 0x1B;

tl::expected<std::string, std::string> readScript(const ResolvedScript& script,
                                                  std::size_t maxBytes) {
  std::ifstream in(script.file, std::ios::binary);
  if (!in) return tl::unexpected("cannot open " + script.chunkName.substr(1));
  std::string text;
  text.reserve(4096);
  char buffer[4096];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (text.size() > maxBytes) {
      return tl::unexpected(script.chunkName.substr(1) + " is larger than " +
                            std::to_string(maxBytes) + " bytes");
    }
  }
  return text;
}

}  // namespace

Loader::Loader(Vm& vm, LoaderConfig config, ModuleResolver resolver)
    : vm_(vm), config_(std::move(config)), resolver_(std::move(resolver)) {}

tl::expected<Loader*, std::string> Loader::create(Vm& vm, LoaderConfig config) {
  auto resolver = ModuleResolver::create(config.scriptsRoot, config.moduleRoots);
  if (!resolver) return tl::unexpected(resolver.error());
  std::unique_ptr<Loader> loader(new Loader(vm, std::move(config), std::move(*resolver)));
  lua_State* L = vm.state();
  lua_newtable(L);
  loader->loaded_ = Ref(vm, L);
  lua_pushlightuserdata(L, loader.get());
  lua_pushcclosure(L, luaRequire, 1);
  loader->require_ = Ref(vm, L);
  return &vm.attach(std::move(loader));
}

bool Loader::pushEnv(lua_State* L) {
  if (vm_.pushNewEnv(L, config_.envLayer) != 0) return false;
  require_.push(L);
  lua_setfield(L, -2, "require");  // the env has no __newindex: a raw write
  if (!frozen_) {
    lua_pushvalue(L, -1);
    envs_.emplace_back(vm_, L);
  }
  return true;
}

tl::expected<void, std::string> Loader::freezeLoaded() {
  lua_State* L = vm_.state();
  const int top = lua_gettop(L);
  std::string error;
  for (const Ref& env : envs_) {
    env.push(L);
    if (vm_.sealEnvTop(L) != 0) {
      error = stringAt(L, -1);
      break;
    }
  }
  loaded_.push(L);  // [loaded]
  lua_pushnil(L);
  while (error.empty() && lua_next(L, -2) != 0) {  // [loaded, name, value]
    const std::string what = "module '" + std::string(stringAt(L, -2)) + "'";
    if (vm_.freezeTop(L, what) != 0) error = stringAt(L, -1);
  }
  lua_settop(L, top);
  envs_.clear();
  frozen_ = true;
  if (!error.empty()) return tl::unexpected(error);
  return {};
}

bool Loader::pushCompiledText(lua_State* L, std::string_view source, const std::string& chunkName) {
  // LuaJIT does not verify bytecode (mutated dumps crash it), so only text is ever loaded.
  if (!source.empty() && static_cast<unsigned char>(source.front()) == kBytecodeSignature) {
    lua_pushfstring(L, "%s: binary chunks are not accepted", chunkName.c_str() + 1);
    return false;
  }
  if (luaL_loadbufferx(L, source.data(), source.size(), chunkName.c_str(), "t") != 0) {
    return false;
  }
  if (!pushEnv(L)) {
    lua_remove(L, -2);
    return false;
  }
  lua_setfenv(L, -2);
  return true;
}

bool Loader::pushCompiled(lua_State* L, const ResolvedScript& script) {
  auto text = readScript(script, config_.maxScriptBytes);
  if (!text) {
    lua_pushlstring(L, text.error().data(), text.error().size());
    return false;
  }
  return pushCompiledText(L, *text, script.chunkName);
}

tl::expected<Ref, std::string> Loader::loadFile(const std::filesystem::path& relativePath) {
  auto script = resolver_.resolveScript(relativePath);
  if (!script) return tl::unexpected(script.error());
  lua_State* L = vm_.state();
  if (!pushCompiled(L, *script)) {
    std::string message = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "load failed";
    lua_pop(L, 1);
    return tl::unexpected(std::move(message));
  }
  return Ref(vm_, L);
}

tl::expected<Ref, std::string> Loader::loadString(std::string_view source,
                                                  std::string_view chunkName) {
  lua_State* L = vm_.state();
  if (!pushCompiledText(L, source, std::string(chunkName))) {
    std::string message = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "load failed";
    lua_pop(L, 1);
    return tl::unexpected(std::move(message));
  }
  return Ref(vm_, L);
}

tl::expected<Ref, std::string> Loader::makeEnv() {
  lua_State* L = vm_.state();
  if (!pushEnv(L)) {
    std::string message = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "makeEnv failed";
    lua_pop(L, 1);
    return tl::unexpected(std::move(message));
  }
  return Ref(vm_, L);
}

// require(name): cached value, else resolve inside the roots, compile as text, run the chunk
// once with its own env and cache what it returns (true for nil), as package.loaded does.
int Loader::luaRequire(lua_State* L) {
  auto* self = static_cast<Loader*>(lua_touserdata(L, lua_upvalueindex(1)));
  const ArgReader args(L, "require");
  args.string(1, "name");
  lua_settop(L, 1);
  self->loaded_.push(L);  // [name, loaded]
  lua_pushvalue(L, 1);
  lua_rawget(L, 2);  // [name, loaded, cached]
  if (lua_touserdata(L, 3) == &kLoadingSentinel) {
    return raiseError(L, "require: loop while loading module '%s'", lua_tostring(L, 1));
  }
  if (!lua_isnil(L, 3)) return 1;
  lua_pop(L, 1);

  bool resolved = false;
  bool compiled = false;
  {
    auto script = self->resolver_.resolveModule(stringAt(L, 1));
    resolved = script.has_value();
    if (resolved) {
      compiled = self->pushCompiled(L, *script);
    } else {
      lua_pushlstring(L, script.error().data(), script.error().size());
    }
  }
  // Resolution errors get the position of the require call; compile errors already name the
  // module's file:line.
  if (!resolved) return raiseError(L, "require: %s", lua_tostring(L, -1));
  if (!compiled) return lua_error(L);
  lua_getfenv(L, 3);
  lua_insert(L, 3);  // [name, loaded, env, chunk]
  lua_pushvalue(L, 1);
  lua_pushlightuserdata(L, &kLoadingSentinel);
  lua_rawset(L, 2);
  lua_pushvalue(L, 1);  // [name, loaded, env, chunk, name]
  enterCallback(L, "require");
  int status = lua_pcall(L, 1, 1, 0);
  leaveCallback(L);
  if (status == 0 && lua_isnil(L, 4)) {
    lua_pop(L, 1);
    lua_pushboolean(L, 1);
  }
  // [name, loaded, env, value]: a module first required during an update is made read-only
  // at once, like those loaded before the app's first update.
  if (status == 0 && self->frozen_) {
    lua_pushvalue(L, 3);
    status = self->vm_.sealEnvTop(L);
    if (status == 0) {
      lua_pushvalue(L, 4);
      status = self->vm_.freezeTop(L, "module '" + std::string(stringAt(L, 1)) + "'");
    }
  }
  if (status != 0) {  // [..., err]
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    lua_rawset(L, 2);
    return lua_error(L);
  }
  lua_pushvalue(L, 1);
  lua_pushvalue(L, 4);
  lua_rawset(L, 2);  // [name, loaded, env, value]
  return 1;
}

}  // namespace botfn::lua
