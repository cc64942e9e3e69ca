// Coroutine: runs one script function (a handler, a module chunk, main.lua) as a LuaJIT
// coroutine under the CPU budget, the memory cap and the C-nesting guard. Handlers may yield to
// the host from a C function (yieldToHost in binding.hpp) while waiting for I/O; only the time
// spent running Lua is charged. Uses vm.hpp and budget_hook.cpp; called by flow workers and api.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <tl/expected.hpp>

#include "lua/ref.hpp"
#include "lua/vm.hpp"

struct lua_State;

namespace botfn::lua {

enum class RunStatus {
  Finished,     // returned; the results are on thread()'s stack
  Yielded,      // a host C function yielded; its values are on thread()'s stack
  Error,        // a Lua error (message with file:line, traceback of the coroutine)
  Killed,       // CPU budget exceeded or Vm::interrupt()
  OutOfMemory,  // the allocator refused memory; the Vm now needsRecycle()
};

std::string_view toString(RunStatus status) noexcept;

struct RunOutcome {
  RunStatus status = RunStatus::Error;
  int valueCount = 0;     // Finished: results; Yielded: yielded values
  std::string message;    // Error, Killed, OutOfMemory
  std::string traceback;  // "stack traceback:\n\tapps/demo/main.lua:12: in function ..."

  bool finished() const noexcept { return status == RunStatus::Finished; }
  bool yielded() const noexcept { return status == RunStatus::Yielded; }
};

class Coroutine {
 public:
  // A coroutine that will call `fn` with the values `pushArgs` pushes (onto the new thread).
  // It runs at the first resume(). The thread is anchored in the registry while this lives.
  static tl::expected<std::unique_ptr<Coroutine>, std::string> create(Vm& vm, const Ref& fn,
                                                                      const PushFn& pushArgs = {},
                                                                      void* hostContext = nullptr);
  ~Coroutine();
  Coroutine(const Coroutine&) = delete;
  Coroutine& operator=(const Coroutine&) = delete;

  // Runs until the function returns, yields to the host, fails or is killed. After a yield,
  // `pushValues` pushes the results of the pending operation onto thread(); they become the
  // return values of the C function that yielded. Push functions must not raise Lua errors.
  RunOutcome resume(const PushFn& pushValues = {});

  // The coroutine's own lua_State: results and yielded values are read from here (1..n).
  lua_State* thread() const noexcept { return thread_; }
  // Anchors value `index` (1-based, as reported by the last outcome) of thread().
  Ref valueRef(int index) const;
  bool resumable() const noexcept { return state_ == State::Created || state_ == State::Suspended; }

  // Budget for the whole coroutine, summed over its resumes; defaults to VmOptions::cpuBudget.
  void setCpuBudget(std::chrono::nanoseconds budget) noexcept { budget_ = budget; }
  std::chrono::nanoseconds cpuBudget() const noexcept { return budget_; }
  std::chrono::nanoseconds cpuUsed() const noexcept { return used_; }
  // What hostContext(L) returns to C functions while this coroutine runs.
  void setHostContext(void* hostContext) noexcept { hostContext_ = hostContext; }
  void* hostContext() const noexcept { return hostContext_; }

 private:
  enum class State { Created, Suspended, Dead };

  Coroutine(Vm& vm, Ref threadRef, lua_State* thread, int initialArgs, void* hostContext);
  void fail(RunOutcome& outcome, RunStatus status, std::string message);

  Vm& vm_;
  Ref threadRef_;
  lua_State* thread_;
  int initialArgs_;
  void* hostContext_;
  State state_ = State::Created;
  std::chrono::nanoseconds budget_;
  std::chrono::nanoseconds used_{};
};

}  // namespace botfn::lua
