// ModuleResolver: maps require("flows.registration") to a file inside the given root folders,
// and host script paths to files inside the scripts root, refusing names and paths that could
// leave them (.., absolute paths, symlinks resolving outside). Pure filesystem logic, no Lua.
// Used by loader.cpp.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

namespace botfn::lua {

struct ResolvedScript {
  std::filesystem::path file;  // canonical
  std::string chunkName;       // "@apps/demo/flows/registration.lua" (relative to the scripts root)
};

class ModuleResolver {
 public:
  // `roots` are searched in order; relative ones are taken relative to `scriptsRoot`.
  // All must exist; they are canonicalised once here.
  static tl::expected<ModuleResolver, std::string> create(
      const std::filesystem::path& scriptsRoot, const std::vector<std::filesystem::path>& roots);

  // "a.b" -> <root>/a/b.lua, then <root>/a/b/init.lua, for each root in order.
  tl::expected<ResolvedScript, std::string> resolveModule(std::string_view name) const;
  // A script named by the host, relative to the scripts root ("apps/demo/main.lua").
  tl::expected<ResolvedScript, std::string> resolveScript(
      const std::filesystem::path& relativePath) const;

  // Letters, digits, '_' and '-' in segments separated by single dots.
  static bool isValidModuleName(std::string_view name) noexcept;
  // "apps/demo/, lib/" as used in "module 'x' not found in ...".
  const std::string& rootsDescription() const noexcept { return rootsDescription_; }

 private:
  ModuleResolver() = default;
  bool insideRoots(const std::filesystem::path& canonical) const;
  std::string chunkNameOf(const std::filesystem::path& canonical) const;

  std::filesystem::path scriptsRoot_;
  std::vector<std::filesystem::path> roots_;
  std::string rootsDescription_;
};

}  // namespace botfn::lua
