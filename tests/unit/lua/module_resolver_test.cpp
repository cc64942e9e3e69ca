// Tests runtime/lua/module_resolver.cpp: module name validation and root handling.
#include "lua/module_resolver.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

namespace botfn::lua {
namespace {

namespace fs = std::filesystem;

TEST(ModuleResolver, ValidNames) {
  for (const char* name : {"a", "flows.registration", "lib_x.y-z.w2", "A.B"}) {
    EXPECT_TRUE(ModuleResolver::isValidModuleName(name)) << name;
  }
  for (const char* name :
       {"", ".", "..", "a..b", ".a", "a.", "../a", "a/b", "/a", "a b", "a\\b", "é"}) {
    EXPECT_FALSE(ModuleResolver::isValidModuleName(name)) << name;
  }
  EXPECT_FALSE(ModuleResolver::isValidModuleName(std::string_view("a\0b", 3)));
  EXPECT_FALSE(ModuleResolver::isValidModuleName(std::string(201, 'a')));
}

TEST(ModuleResolver, RootsMustExistAndAreDescribedRelatively) {
  std::string pattern = (fs::temp_directory_path() / "botfn-resolver-XXXXXX").string();
  const fs::path root = mkdtemp(pattern.data());
  fs::create_directories(root / "apps/demo");
  fs::create_directories(root / "lib");
  std::ofstream(root / "lib/x.lua") << "return 1";

  auto resolver = ModuleResolver::create(root, {"apps/demo", "lib"});
  ASSERT_TRUE(resolver) << resolver.error();
  EXPECT_EQ(resolver->rootsDescription(), "apps/demo/, lib/");
  auto x = resolver->resolveModule("x");
  ASSERT_TRUE(x) << x.error();
  EXPECT_EQ(x->chunkName, "@lib/x.lua");
  EXPECT_FALSE(ModuleResolver::create(root, {"apps/missing"}));
  EXPECT_FALSE(ModuleResolver::create(root / "nope", {}));
  fs::remove_all(root);
}

}  // namespace
}  // namespace botfn::lua
