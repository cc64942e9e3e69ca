// ModuleResolver: dotted module names and host script paths -> canonical files inside the roots.
// Uses std::filesystem only; called by loader.cpp (require and Loader::loadFile).
#include "lua/module_resolver.hpp"

#include <system_error>

namespace botfn::lua {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMaxModuleNameLength = 200;

bool isNameChar(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// Lexical containment of two canonical paths: `path` is `root` itself or below it.
bool isWithin(const fs::path& path, const fs::path& root) {
  auto p = path.begin();
  for (auto r = root.begin(); r != root.end(); ++r, ++p) {
    if (p == path.end() || *p != *r) return false;
  }
  return true;
}

bool isRegularFile(const fs::path& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

}  // namespace

bool ModuleResolver::isValidModuleName(std::string_view name) noexcept {
  if (name.empty() || name.size() > kMaxModuleNameLength) return false;
  bool segmentEmpty = true;
  for (char c : name) {
    if (c == '.') {
      if (segmentEmpty) return false;
      segmentEmpty = true;
    } else if (isNameChar(c)) {
      segmentEmpty = false;
    } else {
      return false;
    }
  }
  return !segmentEmpty;
}

tl::expected<ModuleResolver, std::string> ModuleResolver::create(
    const fs::path& scriptsRoot, const std::vector<fs::path>& roots) {
  ModuleResolver resolver;
  std::error_code ec;
  resolver.scriptsRoot_ = fs::canonical(scriptsRoot, ec);
  if (ec || !fs::is_directory(resolver.scriptsRoot_)) {
    return tl::unexpected("scripts root '" + scriptsRoot.string() + "' is not a directory");
  }
  for (const fs::path& root : roots) {
    const fs::path full = root.is_absolute() ? root : scriptsRoot / root;
    fs::path canonical = fs::canonical(full, ec);
    if (ec || !fs::is_directory(canonical)) {
      return tl::unexpected("module root '" + root.string() + "' is not a directory");
    }
    if (!resolver.rootsDescription_.empty()) resolver.rootsDescription_ += ", ";
    resolver.rootsDescription_ +=
        isWithin(canonical, resolver.scriptsRoot_)
            ? canonical.lexically_relative(resolver.scriptsRoot_).generic_string() + "/"
            : canonical.generic_string() + "/";
    resolver.roots_.push_back(std::move(canonical));
  }
  return resolver;
}

bool ModuleResolver::insideRoots(const fs::path& canonical) const {
  for (const fs::path& root : roots_) {
    if (isWithin(canonical, root)) return true;
  }
  return false;
}

std::string ModuleResolver::chunkNameOf(const fs::path& canonical) const {
  if (isWithin(canonical, scriptsRoot_)) {
    return "@" + canonical.lexically_relative(scriptsRoot_).generic_string();
  }
  return "@" + canonical.generic_string();
}

tl::expected<ResolvedScript, std::string> ModuleResolver::resolveModule(
    std::string_view name) const {
  if (!isValidModuleName(name)) {
    return tl::unexpected("invalid module name '" + std::string(name) +
                          "' (expected a dotted name like 'flows.registration')");
  }
  std::string relative(name);
  for (char& c : relative) {
    if (c == '.') c = '/';
  }
  for (const fs::path& root : roots_) {
    for (const char* suffix : {".lua", "/init.lua"}) {
      const fs::path candidate = root / (relative + suffix);
      if (!isRegularFile(candidate)) continue;
      std::error_code ec;
      fs::path canonical = fs::canonical(candidate, ec);
      // A symlink may point anywhere; only the resolved location counts.
      if (ec || !insideRoots(canonical)) {
        return tl::unexpected("module '" + std::string(name) + "' resolves outside " +
                              rootsDescription_);
      }
      return ResolvedScript{canonical, chunkNameOf(canonical)};
    }
  }
  return tl::unexpected("module '" + std::string(name) + "' not found in " + rootsDescription_);
}

tl::expected<ResolvedScript, std::string> ModuleResolver::resolveScript(
    const fs::path& relativePath) const {
  const std::string shown = relativePath.generic_string();
  if (relativePath.empty() || relativePath.is_absolute()) {
    return tl::unexpected("script path '" + shown + "' must be relative to the scripts root");
  }
  for (const fs::path& part : relativePath) {
    if (part == "..") return tl::unexpected("script path '" + shown + "' must not contain '..'");
  }
  const fs::path candidate = scriptsRoot_ / relativePath;
  if (!isRegularFile(candidate)) return tl::unexpected("script '" + shown + "' not found");
  std::error_code ec;
  fs::path canonical = fs::canonical(candidate, ec);
  if (ec || !isWithin(canonical, scriptsRoot_)) {
    return tl::unexpected("script '" + shown + "' resolves outside the scripts root");
  }
  return ResolvedScript{canonical, chunkNameOf(canonical)};
}

}  // namespace botfn::lua
