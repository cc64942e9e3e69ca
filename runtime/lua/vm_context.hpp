// VmContext: the per-VM state that the allocator, the budget hook and host C functions share.
// It is the allocator's `ud`, so any lua_State of the VM reaches it with lua_getallocf().
// Owned by Vm (vm.cpp); used by budget_hook, coroutine_runner, c_nesting, traceback, binding.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <string>

struct lua_State;

namespace botfn::lua {

class Vm;

struct VmContext {
  using Clock = std::chrono::steady_clock;

  // Memory: the cap is enforced only while script code runs, so host-side pushes never
  // fail on it and an unprotected API call can never hit the panic handler through the cap.
  std::size_t memUsed = 0;
  std::size_t memPeak = 0;
  std::size_t memLimit = 0;
  bool capEnforced = false;
  bool memRefused = false;  // set by the allocator; turns the current run into OutOfMemory

  // CPU: deadline of the current resume; the interrupt flag may be set from any thread.
  Clock::time_point deadline{};
  std::atomic<bool> interrupt{false};
  bool killed = false;
  bool interrupted = false;
  std::chrono::nanoseconds paused{};  // BudgetPause time in the current resume, not charged

  // C-stack nesting of functions that call back into Lua from C (gsub, sort, require, ...).
  int cDepth = 0;
  int maxCDepth = 200;

  // The run in progress: the host coroutine being resumed and its host state.
  lua_State* currentThread = nullptr;
  bool hostYield = false;  // set by yieldToHost() so the runner can tell it from a stray yield
  void* hostContext = nullptr;
  std::string traceback;  // captured where the run's error happened (traceback.cpp)

  Vm* vm = nullptr;
  void* userData = nullptr;

  // Registry refs of interned messages the hook raises; interned strings make the push
  // allocation-free, which matters when the kill happens right at the memory cap.
  int killMessageRef = -2;
  int interruptMessageRef = -2;
  int memoryMessageRef = -2;
};

// The context of the VM that owns `L` (any of its threads).
VmContext& contextOf(lua_State* L);

}  // namespace botfn::lua
