// Tests runtime/lua/loader.cpp: text-only loading with @relative chunk names, the restricted
// require (roots, refusals, caching, cycles) and error positions.
#include <stdlib.h>

#include <fstream>

#include "lua_test_support.hpp"

namespace botfn::lua::test {
namespace {

namespace fs = std::filesystem;

// A scripts-lua/ tree in a fresh temporary directory, removed afterwards.
class ScriptTree {
 public:
  ScriptTree() {
    std::string pattern = (fs::temp_directory_path() / "botfn-loader-XXXXXX").string();
    root_ = mkdtemp(pattern.data());
    fs::create_directories(root_ / "apps/demo");
    fs::create_directories(root_ / "lib");
  }
  ~ScriptTree() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  void write(const std::string& relative, std::string_view text) const {
    const fs::path path = root_ / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
  }
  const fs::path& root() const { return root_; }

 private:
  fs::path root_;
};

// A Vm with a Loader for the "demo" app of a ScriptTree.
class AppVm {
 public:
  explicit AppVm(const ScriptTree& tree) {
    VmOptions options;
    options.printSink = [this](void*, std::string_view line) { printed.emplace_back(line); };
    vm_ = std::move(*Vm::create(std::move(options)));
    LoaderConfig config;
    config.scriptsRoot = tree.root();
    config.moduleRoots = {"apps/demo", "lib"};
    auto loader = Loader::create(*vm_, std::move(config));
    if (!loader) throw std::runtime_error(loader.error());
    loader_ = *loader;
  }

  Loader& loader() { return *loader_; }
  Vm& vm() { return *vm_; }

  // Loads and runs a script file; keeps the coroutine for reading results.
  RunOutcome runFile(const std::string& relative) {
    co_.reset();
    auto fn = loader_->loadFile(relative);
    if (!fn) {
      RunOutcome outcome;
      outcome.message = fn.error();
      return outcome;
    }
    co_ = std::move(*Coroutine::create(*vm_, *fn));
    return co_->resume();
  }
  std::string result(int i) {
    const char* s = lua_tostring(co_->thread(), i);
    return s ? s : "nil";
  }

  std::vector<std::string> printed;

 private:
  std::unique_ptr<Vm> vm_;
  Loader* loader_ = nullptr;
  std::unique_ptr<Coroutine> co_;
};

LUA_TEST(Loader, RuntimeErrorsNameTheRelativeFileAndLine) {
  ScriptTree tree;
  tree.write("apps/demo/main.lua", "local x = 1\n\nreturn x + nil\n");
  AppVm app(tree);
  RunOutcome outcome = app.runFile("apps/demo/main.lua");
  ASSERT_EQ(outcome.status, RunStatus::Error);
  EXPECT_EQ(outcome.message.rfind("apps/demo/main.lua:3: attempt to perform arithmetic", 0), 0u)
      << outcome.message;
  EXPECT_NE(outcome.traceback.find("apps/demo/main.lua:3"), std::string::npos);
}

LUA_TEST(Loader, SyntaxErrorsNameFileAndLine) {
  ScriptTree tree;
  tree.write("apps/demo/main.lua", "local ok = 1\nlocal = 2\n");
  tree.write("apps/demo/broken.lua", "return {\n\n");
  tree.write("apps/demo/uses_broken.lua", "return require('broken')\n");
  AppVm app(tree);
  auto fn = app.loader().loadFile("apps/demo/main.lua");
  ASSERT_FALSE(fn);
  EXPECT_EQ(fn.error().rfind("apps/demo/main.lua:2:", 0), 0u) << fn.error();
  RunOutcome outcome = app.runFile("apps/demo/uses_broken.lua");
  ASSERT_EQ(outcome.status, RunStatus::Error);
  EXPECT_EQ(outcome.message.rfind("apps/demo/broken.lua:3:", 0), 0u) << outcome.message;
}

LUA_TEST(Loader, BytecodeFilesAreRefused) {
  ScriptTree tree;
  tree.write("apps/demo/main.lua", "\x1bLJ\x02\x00garbage");
  tree.write("apps/demo/req.lua", "return require('main')");
  AppVm app(tree);
  auto fn = app.loader().loadFile("apps/demo/main.lua");
  ASSERT_FALSE(fn);
  EXPECT_NE(fn.error().find("binary chunks are not accepted"), std::string::npos) << fn.error();
  RunOutcome outcome = app.runFile("apps/demo/req.lua");
  EXPECT_EQ(outcome.status, RunStatus::Error);
  EXPECT_NE(outcome.message.find("binary chunks are not accepted"), std::string::npos);
}

LUA_TEST(Loader, RequireResolvesDottedNamesAppFirstThenLib) {
  ScriptTree tree;
  tree.write("apps/demo/flows/registration.lua", "return {name = 'registration'}");
  tree.write("apps/demo/util.lua", "return {who = 'app'}");
  tree.write("lib/util.lua", "return {who = 'lib'}");
  tree.write("lib/keyboard/init.lua", "return {who = 'keyboard'}");
  tree.write("lib/i18n.lua", "return {who = 'i18n'}");
  tree.write("apps/demo/main.lua", R"(
    return require("flows.registration").name .. " " .. require("util").who .. " " ..
           require("keyboard").who .. " " .. require("i18n").who)");
  AppVm app(tree);
  RunOutcome outcome = app.runFile("apps/demo/main.lua");
  ASSERT_TRUE(outcome.finished()) << outcome.message;
  EXPECT_EQ(app.result(1), "registration app keyboard i18n");
}

LUA_TEST(Loader, ModulesRunOncePerVmAndAreCached) {
  ScriptTree tree;
  tree.write("lib/counter.lua", "print('loading counter', ...) return {n = 0}");
  tree.write("lib/nothing.lua", "x = 1");
  tree.write("apps/demo/main.lua", R"(
    local a = require("counter")
    a.n = a.n + 1
    local b = require("counter")
    return tostring(rawequal(a, b)) .. " " .. b.n .. " " .. tostring(require("nothing")))");
  tree.write("apps/demo/second.lua", "return require('counter').n");
  AppVm app(tree);
  ASSERT_TRUE(app.runFile("apps/demo/main.lua").finished());
  EXPECT_EQ(app.result(1), "true 1 true");
  ASSERT_TRUE(app.runFile("apps/demo/second.lua").finished());
  EXPECT_EQ(app.result(1), "1");
  ASSERT_EQ(app.printed.size(), 1u);
  EXPECT_EQ(app.printed[0], "loading counter\tcounter");
}

LUA_TEST(Loader, ModulesGetTheirOwnEnv) {
  ScriptTree tree;
  tree.write("lib/m.lua", "leaked = 'module' return {get = function() return seen end}");
  tree.write("apps/demo/main.lua",
             "seen = 'main' local m = require('m') "
             "return tostring(leaked) .. ' ' .. tostring(m.get())");
  AppVm app(tree);
  ASSERT_TRUE(app.runFile("apps/demo/main.lua").finished());
  EXPECT_EQ(app.result(1), "nil nil");
}

LUA_TEST(Loader, MissingModuleListsTheRoots) {
  ScriptTree tree;
  tree.write("apps/demo/main.lua", "\nlocal m = require('flows.nope')\nreturn m");
  AppVm app(tree);
  RunOutcome outcome = app.runFile("apps/demo/main.lua");
  ASSERT_EQ(outcome.status, RunStatus::Error);
  EXPECT_EQ(outcome.message,
            "apps/demo/main.lua:2: require: module 'flows.nope' not found in apps/demo/, lib/");
}

LUA_TEST(Loader, RequireRefusesEscapes) {
  ScriptTree tree;
  tree.write("secret.lua", "return 'secret'");
  tree.write("apps/other/private.lua", "return 'other app'");
  tree.write("apps/demo/flows/registration.lua", "return 'registration'");
  fs::create_symlink(tree.root() / "secret.lua", tree.root() / "apps/demo/link.lua");
  AppVm app(tree);
  for (const char* name :
       {"../secret", "..secret", "/etc/passwd", "apps/other/private", "..apps.other.private",
        "a..b", ".x", "x.", "secret", "", "x y", "flows/registration"}) {
    tree.write("apps/demo/main.lua", std::string("return require('") + name + "')");
    RunOutcome outcome = app.runFile("apps/demo/main.lua");
    EXPECT_EQ(outcome.status, RunStatus::Error) << name << " -> " << app.result(1);
  }
  tree.write("apps/demo/main.lua", "local m = require('flows/registration') return m");
  RunOutcome outcome = app.runFile("apps/demo/main.lua");
  EXPECT_NE(outcome.message.find("require: invalid module name 'flows/registration'"),
            std::string::npos)
      << outcome.message;
  tree.write("apps/demo/main.lua", "return require('flows.registration')");
  ASSERT_TRUE(app.runFile("apps/demo/main.lua").finished());
  EXPECT_EQ(app.result(1), "registration");
  tree.write("apps/demo/main.lua", "return require('link')");
  outcome = app.runFile("apps/demo/main.lua");
  EXPECT_EQ(outcome.status, RunStatus::Error);
  EXPECT_NE(outcome.message.find("resolves outside"), std::string::npos) << outcome.message;
  tree.write("apps/demo/main.lua", "return require(42)");
  outcome = app.runFile("apps/demo/main.lua");
  EXPECT_NE(outcome.message.find("require: bad argument #1 'name' (string expected, got number)"),
            std::string::npos)
      << outcome.message;
}

LUA_TEST(Loader, HostPathsStayInsideTheScriptsRoot) {
  ScriptTree tree;
  tree.write("apps/demo/main.lua", "return 1");
  AppVm app(tree);
  EXPECT_TRUE(app.loader().loadFile("apps/demo/main.lua"));
  EXPECT_FALSE(app.loader().loadFile("../etc/passwd"));
  EXPECT_FALSE(app.loader().loadFile("/etc/passwd"));
  EXPECT_FALSE(app.loader().loadFile("apps/demo/missing.lua"));
}

LUA_TEST(Loader, RequireCyclesAreReported) {
  ScriptTree tree;
  tree.write("lib/a.lua", "return require('b')");
  tree.write("lib/b.lua", "local a = require('a') return a");
  tree.write("apps/demo/main.lua", "return require('a')");
  AppVm app(tree);
  RunOutcome outcome = app.runFile("apps/demo/main.lua");
  EXPECT_EQ(outcome.status, RunStatus::Error);
  EXPECT_NE(outcome.message.find("lib/b.lua:1: require: loop while loading module 'a'"),
            std::string::npos)
      << outcome.message;
}

LUA_TEST(Loader, FailedModuleIsNotCachedAndErrorsNameTheModuleFile) {
  ScriptTree tree;
  tree.write("lib/flaky.lua", "\nerror('init failed')");
  tree.write("apps/demo/main.lua", R"(
    local ok1, e1 = pcall(require, "flaky")
    local ok2, e2 = pcall(require, "flaky")
    return e1 .. "|" .. e2)");
  AppVm app(tree);
  ASSERT_TRUE(app.runFile("apps/demo/main.lua").finished());
  EXPECT_EQ(app.result(1), "lib/flaky.lua:2: init failed|lib/flaky.lua:2: init failed");
}

LUA_TEST(Loader, HostCanRequireThroughACoroutine) {
  ScriptTree tree;
  tree.write("lib/greeting.lua", "return {text = 'hi'}");
  AppVm app(tree);
  auto co = Coroutine::create(app.vm(), app.loader().requireFunction(), [](lua_State* L) {
    lua_pushstring(L, "greeting");
    return 1;
  });
  ASSERT_TRUE(co);
  ASSERT_TRUE((*co)->resume().finished());
  lua_getfield((*co)->thread(), 1, "text");
  EXPECT_STREQ(lua_tostring((*co)->thread(), -1), "hi");
}

}  // namespace
}  // namespace botfn::lua::test
