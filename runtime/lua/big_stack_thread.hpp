// BigStackThread: a joinable pthread with a chosen stack size (std::thread cannot set one).
// Lua runs only on these: C functions that call back into Lua still need about 1.8 MiB of C
// stack at the nesting limit (LUA_SANDBOX.md §3.5). Used by flow workers and tests.
#pragma once

#include <pthread.h>

#include <cstddef>
#include <functional>

namespace botfn::lua {

inline constexpr std::size_t kDefaultLuaStackSize = std::size_t{8} << 20;

class BigStackThread {
 public:
  BigStackThread() noexcept = default;
  // Starts `fn` at once. Throws std::system_error if the thread cannot be created (startup
  // only). An exception escaping `fn` terminates the process, as with std::thread.
  explicit BigStackThread(std::function<void()> fn, std::size_t stackSize = kDefaultLuaStackSize);
  BigStackThread(BigStackThread&& other) noexcept;
  BigStackThread& operator=(BigStackThread&& other) noexcept;
  BigStackThread(const BigStackThread&) = delete;
  BigStackThread& operator=(const BigStackThread&) = delete;
  // Joins, like std::jthread: a running thread is never left detached.
  ~BigStackThread();

  bool joinable() const noexcept { return joinable_; }
  void join();

  // Usable stack size of the calling thread (0 if unknown).
  static std::size_t currentStackSize() noexcept;

 private:
  pthread_t thread_{};
  bool joinable_ = false;
};

// Runs `fn` on a fresh BigStackThread and waits for it.
void runOnBigStack(std::function<void()> fn, std::size_t stackSize = kDefaultLuaStackSize);

}  // namespace botfn::lua
