// Loader: compiles an app's scripts as text (never bytecode) with chunk names relative to the
// scripts root, and gives each env a restricted `require` that searches only the host's roots
// (the app folder, then scripts-lua/lib/) and runs each module once per Loader; freezeLoaded()
// makes what loading built read-only.
// Uses module_resolver.hpp and Vm; created by the flow app registry, one per app and Vm.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

#include "lua/module_resolver.hpp"
#include "lua/ref.hpp"
#include "lua/vm.hpp"

struct lua_State;

namespace botfn::lua {

inline constexpr std::size_t kDefaultMaxScriptBytes = std::size_t{4} << 20;

struct LoaderConfig {
  std::filesystem::path scriptsRoot;               // "scripts-lua"; chunk names are relative to it
  std::vector<std::filesystem::path> moduleRoots;  // {"apps/demo", "lib"}, searched in order
  std::string envLayer;                            // Vm layer of every env this loader makes
  std::size_t maxScriptBytes = kDefaultMaxScriptBytes;
};

class Loader final : public VmAttachment {
 public:
  // The Loader is owned by `vm` and lives exactly as long as it.
  static tl::expected<Loader*, std::string> create(Vm& vm, LoaderConfig config);

  // Compiles "apps/demo/main.lua" with a fresh env (with `require`) without running it; run
  // it with a Coroutine. Errors read "apps/demo/main.lua:3: '=' expected near 'x'".
  tl::expected<Ref, std::string> loadFile(const std::filesystem::path& relativePath);
  // Compiles source text with a fresh env; `chunkName` as Lua expects ("@file" or "=name").
  tl::expected<Ref, std::string> loadString(std::string_view source, std::string_view chunkName);
  // A fresh env with this loader's `require`.
  tl::expected<Ref, std::string> makeEnv();
  // Ends loading (isolation between updates): seals the env of every file compiled so far and
  // freezes every module value require() returned (Vm::freezeTop). Modules first required later,
  // during an update, are sealed and frozen as soon as their chunk returns.
  tl::expected<void, std::string> freezeLoaded();
  // require(name) as a function value, for the host to run in a Coroutine.
  const Ref& requireFunction() const noexcept { return require_; }
  const ModuleResolver& resolver() const noexcept { return resolver_; }

 private:
  Loader(Vm& vm, LoaderConfig config, ModuleResolver resolver);
  static int luaRequire(lua_State* L);
  // Pushes the compiled chunk with its env (true) or an error message (false) onto `L`.
  bool pushCompiled(lua_State* L, const ResolvedScript& script);
  bool pushCompiledText(lua_State* L, std::string_view source, const std::string& chunkName);
  // Pushes a new env with `require` (true) or an error value (false).
  bool pushEnv(lua_State* L);

  Vm& vm_;
  LoaderConfig config_;
  ModuleResolver resolver_;
  Ref require_;
  Ref loaded_;  // name -> module value, like package.loaded
  bool frozen_ = false;
  std::vector<Ref> envs_;  // envs made before freezeLoaded(), sealed by it
};

}  // namespace botfn::lua
