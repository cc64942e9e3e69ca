// Test support for runtime/lua: LUA_TEST runs a test body on a BigStackThread (Lua never runs on
// the small default stack), and TestVm compiles and runs snippets as coroutines in fresh envs.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "lua/big_stack_thread.hpp"
#include "lua/binding.hpp"
#include "lua/coroutine_runner.hpp"
#include "lua/loader.hpp"
#include "lua/vm.hpp"

#define LUA_TEST(suite, name)                                                \
  static void suite##_##name##_body();                                       \
  TEST(suite, name) { ::botfn::lua::runOnBigStack(&suite##_##name##_body); } \
  static void suite##_##name##_body()

namespace botfn::lua::test {

using namespace std::chrono_literals;

// A Vm plus a Loader rooted at the temp directory; run() keeps the last coroutine alive so its
// results can be read.
class TestVm {
 public:
  explicit TestVm(VmOptions options = {}) {
    auto vm = Vm::create(std::move(options));
    if (!vm) throw std::runtime_error(vm.error());
    vm_ = std::move(*vm);
    LoaderConfig config;
    config.scriptsRoot = std::filesystem::temp_directory_path();
    auto loader = Loader::create(*vm_, std::move(config));
    if (!loader) throw std::runtime_error(loader.error());
    loader_ = *loader;
  }

  Vm& vm() { return *vm_; }
  Loader& loader() { return *loader_; }
  Coroutine& coroutine() { return *coroutine_; }

  // Compiles `code` (chunk name "=test") with a fresh env and runs it to its first stop.
  RunOutcome run(std::string_view code, std::chrono::nanoseconds budget = 2s,
                 void* hostContext = nullptr) {
    coroutine_.reset();
    auto fn = loader_->loadString(code, "=test");
    if (!fn) {
      RunOutcome outcome;
      outcome.message = "compile: " + fn.error();
      return outcome;
    }
    auto co = Coroutine::create(*vm_, *fn, {}, hostContext);
    if (!co) {
      RunOutcome outcome;
      outcome.message = "create: " + co.error();
      return outcome;
    }
    coroutine_ = std::move(*co);
    coroutine_->setCpuBudget(budget);
    return coroutine_->resume();
  }

  // Result `i` of the last run as a string ("nil", "true", numbers as Lua prints them).
  std::string result(int i) {
    lua_State* co = coroutine_->thread();
    switch (lua_type(co, i)) {
      case LUA_TNIL:
      case LUA_TNONE:
        return "nil";
      case LUA_TBOOLEAN:
        return lua_toboolean(co, i) ? "true" : "false";
      case LUA_TNUMBER:
      case LUA_TSTRING: {
        lua_pushvalue(co, i);
        std::string s = lua_tostring(co, -1);
        lua_pop(co, 1);
        return s;
      }
      default:
        return std::string("<") + lua_typename(co, lua_type(co, i)) + ">";
    }
  }

  // Runs `code` and returns result 1 as a string, or "<status>: message".
  std::string eval(std::string_view code, std::chrono::nanoseconds budget = 2s) {
    RunOutcome outcome = run(code, budget);
    if (!outcome.finished()) return std::string(toString(outcome.status)) + ": " + outcome.message;
    return result(1);
  }

 private:
  std::unique_ptr<Vm> vm_;
  Loader* loader_ = nullptr;
  std::unique_ptr<Coroutine> coroutine_;  // destroyed before vm_
};

}  // namespace botfn::lua::test
