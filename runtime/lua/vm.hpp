// Vm: one sandboxed LuaJIT state with a capped allocator, the JIT off, a frozen SAFE global set
// and per-script environments. Uses sandbox.cpp (libraries + prelude) and vm_context.hpp.
// Created by the flow workers (one per worker thread, never shared); scripts run in it through
// Loader (loader.hpp) and Coroutine (coroutine_runner.hpp). Lua must only run on a
// BigStackThread (big_stack_thread.hpp).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

#include "lua/ref.hpp"
#include "lua/vm_context.hpp"

struct lua_State;
struct luaL_Reg;

namespace botfn::lua {

// Pushes values onto the given thread and returns how many it pushed.
using PushFn = std::function<int(lua_State*)>;
// Receives one `print` line (already bounded) with the host context of the run that printed.
using PrintSink = std::function<void(void* hostContext, std::string_view line)>;

inline constexpr std::size_t kDefaultMemoryLimit = std::size_t{64} << 20;
inline constexpr std::chrono::milliseconds kDefaultCpuBudget{200};
inline constexpr int kDefaultMaxCNesting = 200;
inline constexpr std::size_t kDefaultPrintMaxBytes = 4096;

struct VmOptions {
  std::size_t memoryLimit = kDefaultMemoryLimit;
  std::chrono::nanoseconds cpuBudget = kDefaultCpuBudget;  // default per Coroutine
  int maxCNesting = kDefaultMaxCNesting;
  std::size_t printMaxBytes = kDefaultPrintMaxBytes;
  PrintSink printSink;       // empty: lines go to the "lua" spdlog logger
  void* userData = nullptr;  // per-VM host pointer, see vmUserData() in binding.hpp
};

// Something the Vm owns and destroys before lua_close (e.g. a Loader).
class VmAttachment {
 public:
  virtual ~VmAttachment() = default;
};

class Vm {
 public:
  static tl::expected<std::unique_ptr<Vm>, std::string> create(VmOptions options = {});
  ~Vm();
  Vm(const Vm&) = delete;
  Vm& operator=(const Vm&) = delete;

  // The main thread. Host code uses it for short stack work; scripts never run on it.
  lua_State* state() const noexcept { return L_; }
  const VmOptions& options() const noexcept { return options_; }
  static Vm& of(lua_State* L);

  // A fresh script environment: {_G = env}, reading through to SAFE (and `layer`, if given),
  // metatable hidden. Layers are named sets of extra globals, e.g. per api context.
  tl::expected<Ref, std::string> makeEnv(std::string_view layer = {});
  // The same, pushed onto `L` (any thread of this Vm, e.g. inside a C function during a run).
  // Returns the lua_pcall status; on failure the error value is pushed instead.
  int pushNewEnv(lua_State* L, std::string_view layer = {});
  // Publishes `name` = read-only table of `funcs` (terminated by {nullptr, nullptr}) to every
  // env (empty layer) or only to envs made for `layer`.
  tl::expected<void, std::string> registerModule(std::string_view name, const luaL_Reg* funcs,
                                                 std::string_view layer = {});
  // Publishes whatever `push` leaves on top (exactly one value); tables are frozen deeply.
  tl::expected<void, std::string> registerValue(std::string_view name, const PushFn& push,
                                                std::string_view layer = {});
  // Isolation between updates: makes the table on top of `L` and every table reachable from it
  // through fields read-only in place (errors name `what`, e.g. "module 'menu'"), or seals the
  // env on top (its globals stay readable, assignments raise). Pops the value; returns the
  // lua_pcall status, with the error value pushed on failure. `L` is any thread of this Vm.
  int freezeTop(lua_State* L, std::string_view what);
  int sealEnvTop(lua_State* L);
  // Sets the environment of the function `fn` to `env`.
  tl::expected<void, std::string> setEnv(const Ref& fn, const Ref& env);
  // Raw lookup of a dotted path ("routes.start") from a table; no metamethods run.
  tl::expected<Ref, std::string> field(const Ref& table, std::string_view dottedPath);

  // Stops the run in progress at its next hook; safe to call from any thread. A run that
  // is not in progress (none started, or its coroutine is yielded) is not affected.
  void interrupt() noexcept;
  // True once the allocator refused memory; the owner should replace this Vm.
  bool needsRecycle() const noexcept { return needsRecycle_; }
  void markForRecycle() noexcept { needsRecycle_ = true; }
  std::size_t memoryUsed() const noexcept { return ctx_.memUsed; }
  std::size_t memoryPeak() const noexcept { return ctx_.memPeak; }

  template <class T>
  T& attach(std::unique_ptr<T> owned) {
    T& ref = *owned;
    attachments_.push_back(std::move(owned));
    return ref;
  }

 private:
  friend class Coroutine;
  friend class Ref;

  explicit Vm(VmOptions options);
  tl::expected<void, std::string> publish(std::string_view name, std::string_view layer);

  VmOptions options_;
  VmContext ctx_;
  lua_State* L_ = nullptr;
  bool needsRecycle_ = false;
  int liveRefs_ = 0;
  // Registry refs of the trusted functions the prelude returned.
  int makeEnvRef_ = -2;
  int publishRef_ = -2;
  int hostThreadsRef_ = -2;  // weak set of host coroutines that scripts may not resume
  int runnerRef_ = -2;       // run(fn, ...): xpcall with the traceback capture
  int freezeRef_ = -2;
  int sealEnvRef_ = -2;
  std::vector<std::unique_ptr<VmAttachment>> attachments_;
};

}  // namespace botfn::lua
